// Raw clients for the fuzz test: they send exactly the bytes they are given (no client-side validation), over
// Connect JSON and Connect binary on HTTP/1.1, and gRPC on HTTP/2 cleartext with hand-made 5-byte frames, and
// report what came back: the HTTP status, the Connect/gRPC code, the error message, the time taken. judge() says
// whether an answer is acceptable for hostile input: a proper error or a success, never internal/unknown, never
// a stack trace, never a hang, never a dropped connection without an answer.
import http from 'node:http';
import http2 from 'node:http2';

export type Protocol = 'connect-json' | 'connect-proto' | 'grpc';
export const PROTOCOLS: readonly Protocol[] = ['connect-json', 'connect-proto', 'grpc'];

export interface Target {
  baseUrl: string;
  /** "/pulse.ingestion.v1.IngestionService/SubmitInteraction" */
  path: string;
  streaming: boolean;
}

export interface Answer {
  /** HTTP status (0 when none arrived). */
  status: number;
  /** "ok", a Connect code name ("invalid_argument"), or "none" when no code could be read. */
  code: string;
  message: string;
  ms: number;
  /** What went wrong on the wire, if anything (timeout, reset before an answer, unreadable answer). */
  failure?: string;
  /** The raw error text, for the stack-trace check. */
  raw: string;
}

const GRPC_CODES = [
  'ok',
  'canceled',
  'unknown',
  'invalid_argument',
  'deadline_exceeded',
  'not_found',
  'already_exists',
  'permission_denied',
  'resource_exhausted',
  'failed_precondition',
  'aborted',
  'out_of_range',
  'unimplemented',
  'internal',
  'unavailable',
  'data_loss',
  'unauthenticated',
];

export function grpcCodeName(status: string | undefined): string {
  const n = Number(status);
  return Number.isInteger(n) && n >= 0 && n < GRPC_CODES.length ? GRPC_CODES[n] : 'none';
}

/** A Connect or gRPC envelope: flags, 4-byte big-endian length, data. */
export function envelope(data: Uint8Array, flags = 0, declaredLength = data.length): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, declaredLength >>> 0);
  out.set(data, 5);
  return out;
}

function splitEnvelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const out: { flags: number; data: Buffer }[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const length = body.readUInt32BE(at + 1);
    out.push({ flags: body[at], data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

export interface SendOptions {
  token?: string;
  /** Client-side limit: no answer by then is a hang. */
  timeoutMs: number;
  /** Deadline sent to the server (streams end with deadline_exceeded at this point). */
  deadlineMs: number;
  /** For gRPC: the body is already framed (for framing attacks). */
  preframed?: boolean;
  /** For gRPC: the codec ("proto" or "json"). */
  grpcCodec?: 'proto' | 'json';
}

/** Connect protocol over HTTP/1.1: unary bodies as they are, streaming requests enveloped. */
export function sendConnect(target: Target, binary: boolean, body: Uint8Array, options: SendOptions): Promise<Answer> {
  const started = performance.now();
  const url = new URL(target.path, target.baseUrl);
  const contentType = target.streaming ? (binary ? 'application/connect+proto' : 'application/connect+json') : binary ? 'application/proto' : 'application/json';
  const payload = target.streaming && !options.preframed ? envelope(body) : body;
  const headers: Record<string, string> = {
    'content-type': contentType,
    'connect-protocol-version': '1',
    'connect-timeout-ms': String(options.deadlineMs),
    'content-length': String(payload.length),
  };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return new Promise<Answer>((resolve) => {
    let settled = false;
    const done = (answer: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...answer, ms: Math.round(performance.now() - started) });
    };
    const req = http.request(url, { method: 'POST', headers, agent: keepAlive });
    const timer = setTimeout(() => {
      done({ status: 0, code: 'none', message: '', raw: '', failure: `no answer within ${options.timeoutMs} ms` });
      req.destroy();
    }, options.timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => {});
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        if (target.streaming && status === 200) {
          const frames = splitEnvelopes(raw);
          const end = frames.find((f) => (f.flags & 0b10) !== 0);
          if (!end) return done({ status, code: 'none', message: '', raw: raw.toString('utf8').slice(0, 2_000), failure: 'stream ended without an end-of-stream message' });
          try {
            const parsed = JSON.parse(end.data.toString('utf8')) as { error?: { code?: string; message?: string } };
            return done({ status, code: parsed.error?.code ?? 'ok', message: parsed.error?.message ?? '', raw: end.data.toString('utf8') });
          } catch {
            return done({ status, code: 'none', message: '', raw: end.data.toString('utf8'), failure: 'unreadable end-of-stream message' });
          }
        }
        if (status === 200) return done({ status, code: 'ok', message: '', raw: '' });
        const text = raw.toString('utf8');
        try {
          const parsed = JSON.parse(text) as { code?: string; message?: string };
          if (typeof parsed.code !== 'string') throw new Error('no code');
          return done({ status, code: parsed.code, message: parsed.message ?? '', raw: text });
        } catch {
          return done({ status, code: 'none', message: '', raw: text.slice(0, 2_000), failure: `HTTP ${status} without a Connect error body` });
        }
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // After a complete answer a reset is harmless (the server stopped reading an over-size body); before it, the
      // caller got nothing.
      done({ status: 0, code: 'none', message: '', raw: '', failure: `connection error before an answer: ${err.code ?? err.message}` });
    });
    req.end(payload);
  });
}

/** One HTTP/2 session per origin, replaced when it closes. */
const sessions = new Map<string, http2.ClientHttp2Session>();

function session(origin: string): http2.ClientHttp2Session {
  let s = sessions.get(origin);
  if (!s || s.closed || s.destroyed) {
    s = http2.connect(origin);
    s.on('error', () => {});
    const created = s;
    s.once('close', () => {
      if (sessions.get(origin) === created) sessions.delete(origin);
    });
    s.unref();
    sessions.set(origin, s);
  }
  return s;
}

export function closeSessions(): void {
  for (const s of sessions.values()) s.destroy();
  sessions.clear();
  keepAlive.destroy();
}

/** gRPC over h2c: the body is framed with the 5-byte prefix unless preframed. */
export function sendGrpc(target: Target, body: Uint8Array, options: SendOptions): Promise<Answer> {
  const started = performance.now();
  const payload = options.preframed ? body : envelope(body);
  const headers: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':path': target.path,
    'content-type': options.grpcCodec === 'json' ? 'application/grpc+json' : 'application/grpc',
    te: 'trailers',
    'grpc-timeout': `${options.deadlineMs}m`,
  };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return new Promise<Answer>((resolve) => {
    let settled = false;
    const done = (answer: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...answer, ms: Math.round(performance.now() - started) });
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session(new URL(target.baseUrl).origin).request(headers);
    } catch (err) {
      resolve({ status: 0, code: 'none', message: '', raw: '', ms: 0, failure: `could not open a stream: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      done({ status: 0, code: 'none', message: '', raw: '', failure: `no answer within ${options.timeoutMs} ms` });
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, options.timeoutMs);
    let status = 0;
    let head: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      head = h;
      status = Number(h[':status']);
    });
    let trailers: http2.IncomingHttpHeaders | undefined;
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', () => {});
    stream.on('end', () => {
      const source = trailers ?? head; // trailers-only responses carry the status in the headers
      const grpcStatus = source['grpc-status'] as string | undefined;
      let message = String(source['grpc-message'] ?? '');
      try {
        message = decodeURIComponent(message);
      } catch {
        // left as sent
      }
      if (grpcStatus === undefined) {
        return done({ status, code: 'none', message, raw: message, failure: `HTTP ${status} without grpc-status` });
      }
      done({ status, code: grpcCodeName(grpcStatus), message, raw: message });
    });
    stream.on('error', (err: NodeJS.ErrnoException) => {
      done({ status, code: 'none', message: '', raw: '', failure: `stream error before an answer: ${err.code ?? err.message}` });
    });
    stream.end(payload);
  });
}

const FORBIDDEN_CODES = new Set(['internal', 'unknown', 'data_loss', 'none']);
/** Signs of a stack trace or an internal path in text meant for a caller. */
const STACK = /\n\s+at\s|\bat\s+\S+\s+\([^)]*:\d+:\d+\)|node_modules|node:internal|\.[cm]?[jt]s:\d+:\d+/;

/** Why an answer to hostile input is not acceptable, or undefined when it is. */
export function judge(answer: Answer, deadlineMs: number): string | undefined {
  if (answer.failure) return answer.failure;
  if (FORBIDDEN_CODES.has(answer.code)) return `code ${answer.code}: ${answer.message.slice(0, 200)}`;
  if (answer.status >= 500 && answer.status !== 503 && answer.status !== 504 && answer.status !== 501) return `HTTP ${answer.status}`;
  if (answer.code !== 'ok' && STACK.test(answer.raw)) return `stack trace in the answer: ${answer.raw.slice(0, 300)}`;
  // The server's own deadline plus generous slack for a loaded machine.
  if (answer.ms > deadlineMs + 3_000) return `answered after ${answer.ms} ms (deadline ${deadlineMs} ms)`;
  return undefined;
}
