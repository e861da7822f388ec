// Test support for access tests: minting JWTs (HS256, RS256, ES256, and deliberately wrong ones), JWKS documents,
// self-signed certificates (openssl), and raw calls that keep every header and trailer of the response.
import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ISSUER = 'https://id.pulse.test/';
export const AUDIENCE = 'pulse';
export const SECRET = 'an-hs256-secret-for-tests-only-0123456789abcdef';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export type SigningKey = { alg: 'HS256'; secret: Buffer | string } | { alg: 'RS256' | 'ES256'; key: KeyObject } | { alg: 'none' };

/** A compact JWS over header and claims, signed as the key says (header.alg defaults to the key's alg). */
export function mint(key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg: key.alg, typ: 'JWT', ...header })}.${b64(claims)}`;
  let signature: Buffer;
  if (key.alg === 'none') signature = Buffer.alloc(0);
  else if (key.alg === 'HS256') signature = createHmac('sha256', key.secret).update(input).digest();
  else if (key.alg === 'RS256') signature = sign('sha256', Buffer.from(input), key.key);
  else signature = sign('sha256', Buffer.from(input), { key: key.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** Claims that pass, valid for the next ten minutes; override any. */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, aud: AUDIENCE, sub: 'jwt-alice', iat: now, exp: now + 600, ...overrides };
}

export interface TestKeys {
  rsa: { privateKey: KeyObject; publicKey: KeyObject; kid: string };
  ec: { privateKey: KeyObject; publicKey: KeyObject; kid: string };
  /** A JWKS document with both public keys. */
  jwks: { keys: Record<string, unknown>[] };
}

export function testKeys(): TestKeys {
  const rsa = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }), kid: 'rsa-1' };
  const ec = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }), kid: 'ec-1' };
  return {
    rsa,
    ec,
    jwks: {
      keys: [
        { ...rsa.publicKey.export({ format: 'jwk' }), kid: rsa.kid, use: 'sig', alg: 'RS256' },
        { ...ec.publicKey.export({ format: 'jwk' }), kid: ec.kid, use: 'sig', alg: 'ES256' },
      ],
    },
  };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

/** Whether openssl is on the PATH (TLS tests make their certificate with it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate for localhost / 127.0.0.1 and its key, as files in dir. */
export function selfSignedCert(dir: string, name = 'server'): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', keyFile, '-out', certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: Buffer;
}

/** One HTTP/2 request (h2c or TLS), keeping headers and trailers. For gRPC, pass a framed body. */
export function h2Request(
  url: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  options: http2.SecureClientSessionOptions = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, options);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': path, ...headers });
    const out: RawResponse = { status: 0, headers: {}, trailers: {}, body: Buffer.alloc(0) };
    const flat = (h: http2.IncomingHttpHeaders) =>
      Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
    req.on('response', (h) => {
      out.status = Number(h[':status']);
      out.headers = flat(h);
    });
    req.on('trailers', (t) => (out.trailers = flat(t)));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      out.body = Buffer.concat(chunks);
      session.close();
      resolve(out);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A gRPC length-prefixed message frame (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  return frame;
}

/** PULSE_API_TOKENS for identities given as name -> grants ('' for none), with a fresh token each. */
export function identities<N extends string>(grants: Record<N, string>): { spec: string; tokens: Record<N, string> } {
  const tokens = {} as Record<N, string>;
  const entries: string[] = [];
  for (const name of Object.keys(grants) as N[]) {
    tokens[name] = `${name}-${randomBytes(12).toString('base64url')}`;
    entries.push(grants[name] ? `${name}:${tokens[name]}:${grants[name]}` : `${name}:${tokens[name]}`);
  }
  return { spec: entries.join(','), tokens };
}
