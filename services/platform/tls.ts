// Optional TLS on every port, without a sidecar. PULSE_TLS_CERT_FILE and PULSE_TLS_KEY_FILE (PEM; both or
// neither) turn it on: the port then speaks TLS only, offering h2 and http/1.1 by ALPN, so Connect, gRPC and
// gRPC-Web work over either as they do in plaintext. PULSE_TLS_CA_FILE (PEM) is what this service trusts, besides
// the public roots, when it calls peers over https (a private CA or a self-signed certificate).
// Files are read and checked once at start; a problem names its variable and never quotes key material.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { EnvReader } from './config.js';

export interface ServerTls {
  cert: Buffer;
  key: Buffer;
}

export interface TlsConfig {
  /** Serve TLS with this certificate and key; undefined: plaintext (h2c and HTTP/1.1 sniffed on one port). */
  server: ServerTls | undefined;
  /** Certificates trusted for https peers (public roots plus PULSE_TLS_CA_FILE); undefined: Node's defaults. */
  ca: string[] | undefined;
}

function readPem(env: EnvReader, variable: string): Buffer | undefined {
  const path = env.string(variable);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    env.invalid(variable, `names a file that cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

function certificate(env: EnvReader, variable: string, pem: Buffer, now: Date): X509Certificate | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    env.invalid(variable, 'must name a PEM file holding an X.509 certificate');
    return undefined;
  }
  if (new Date(cert.validTo) < now) env.invalid(variable, `holds a certificate that expired on ${new Date(cert.validTo).toISOString()}`);
  return cert;
}

export function readTlsConfig(env: EnvReader, now = new Date()): TlsConfig {
  const certSet = env.string('PULSE_TLS_CERT_FILE') !== undefined;
  const keySet = env.string('PULSE_TLS_KEY_FILE') !== undefined;
  let server: ServerTls | undefined;
  if (certSet !== keySet) {
    env.invalid(certSet ? 'PULSE_TLS_KEY_FILE' : 'PULSE_TLS_CERT_FILE', `is required when ${certSet ? 'PULSE_TLS_CERT_FILE' : 'PULSE_TLS_KEY_FILE'} is set (TLS needs both)`);
  } else if (certSet) {
    const cert = readPem(env, 'PULSE_TLS_CERT_FILE');
    const key = readPem(env, 'PULSE_TLS_KEY_FILE');
    if (cert && key && certificate(env, 'PULSE_TLS_CERT_FILE', cert, now)) {
      try {
        tls.createSecureContext({ cert, key });
        server = { cert, key };
      } catch (err) {
        const mismatch = /mismatch/i.test((err as Error).message);
        env.invalid('PULSE_TLS_KEY_FILE', mismatch ? 'is not the key of the certificate in PULSE_TLS_CERT_FILE' : 'must name a PEM file holding a private key');
      }
    }
  }
  let ca: string[] | undefined;
  const caPem = readPem(env, 'PULSE_TLS_CA_FILE');
  if (caPem && certificate(env, 'PULSE_TLS_CA_FILE', caPem, now)) ca = [...tls.rootCertificates, caPem.toString('utf8')];
  return { server, ca };
}

/** GET over https trusting `ca`, for readiness probes of https peers (fetch cannot be given a CA). */
export function httpsGet(url: string, ca: string[] | undefined, timeoutMs: number): Promise<{ ok: boolean; status: number }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      res.once('end', () => resolve({ ok: status >= 200 && status < 300, status }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', reject);
  });
}
