// A request that cannot be decoded is the caller's mistake, and says so with `invalid_argument`. connect-es decodes
// request bodies before any interceptor runs, and reports a protobuf body it cannot parse ("parse binary: premature
// EOF", invalid UTF-8 in a string, a bad wire type, nesting past the recursion limit) and a compressed envelope
// without an encoding as `internal` (HTTP 500), the code meant for the server's own faults: callers would retry
// them, alerts would count them as bugs. This wraps each route's handler and rewrites exactly those errors, in
// whichever way the protocol carries them: the JSON body of a Connect unary error, the end-of-stream message of a
// Connect stream, the grpc-status trailer of gRPC, the trailer frame of gRPC-Web. Everything else passes untouched.
import { Code } from '@connectrpc/connect';
import type { UniversalHandler, UniversalServerResponse } from '@connectrpc/connect/protocol';

/** Messages connect-es gives `internal` although the request caused them. */
const CALLER_FAULTS = [/^parse binary: /, /^received compressed envelope, but do not know how to decompress/];

export function isCallerFault(message: string): boolean {
  return CALLER_FAULTS.some((pattern) => pattern.test(message));
}

const END_STREAM_FLAG = 0b10;
const GRPC_WEB_TRAILER_FLAG = 0x80;
const COMPRESSED_FLAG = 0b1;

type Protocol = 'connect-unary' | 'connect-stream' | 'grpc' | 'grpc-web';

function protocolOf(contentType: string | null): Protocol | undefined {
  const type = (contentType ?? '').toLowerCase();
  if (type.startsWith('application/grpc-web')) return 'grpc-web';
  if (type.startsWith('application/grpc')) return 'grpc';
  if (type.startsWith('application/connect+')) return 'connect-stream';
  if (type.startsWith('application/json') || type.startsWith('application/proto')) return 'connect-unary';
  return undefined;
}

async function allBytes(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** The JSON error of a Connect unary response or end-of-stream message, rewritten when it is a caller fault. */
function rewriteJsonError(text: string, at: (parsed: Record<string, unknown>) => Record<string, unknown> | undefined): string | undefined {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const error = at(parsed);
    if (!error || error.code !== 'internal' || typeof error.message !== 'string' || !isCallerFault(error.message)) return undefined;
    error.code = 'invalid_argument';
    return JSON.stringify(parsed);
  } catch {
    return undefined;
  }
}

function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(5 + data.length);
  out[0] = flags;
  out.writeUInt32BE(data.length, 1);
  out.set(data, 5);
  return out;
}

/** An envelope's flags and data when chunk is exactly one envelope. */
function asEnvelope(chunk: Uint8Array): { flags: number; data: Uint8Array } | undefined {
  if (chunk.length < 5) return undefined;
  const length = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).readUInt32BE(1);
  return length === chunk.length - 5 ? { flags: chunk[0], data: chunk.subarray(5) } : undefined;
}

async function* mapChunks(body: AsyncIterable<Uint8Array>, fix: (chunk: Uint8Array) => Uint8Array): AsyncIterable<Uint8Array> {
  for await (const chunk of body) yield fix(chunk);
}

function fixGrpcTrailer(trailer: Headers): void {
  const message = trailer.get('grpc-message');
  if (trailer.get('grpc-status') !== String(Code.Internal) || message === null) return;
  let text = message;
  try {
    text = decodeURIComponent(message);
  } catch {
    // left encoded
  }
  if (isCallerFault(text)) trailer.set('grpc-status', String(Code.InvalidArgument));
}

async function* thenFixTrailer(body: AsyncIterable<Uint8Array> | undefined, trailer: Headers): AsyncIterable<Uint8Array> {
  try {
    if (body) yield* body;
  } finally {
    fixGrpcTrailer(trailer);
  }
}

async function fix(protocol: Protocol, res: UniversalServerResponse): Promise<UniversalServerResponse> {
  switch (protocol) {
    case 'connect-unary': {
      if (res.status !== 500 || !res.body || res.header?.has('content-encoding')) return res;
      const bytes = await allBytes(res.body);
      const rewritten = rewriteJsonError(Buffer.from(bytes).toString('utf8'), (parsed) => parsed);
      if (rewritten === undefined) return { ...res, body: once(bytes) };
      const body = Buffer.from(rewritten, 'utf8');
      const header = new Headers(res.header);
      header.set('content-length', String(body.length));
      return { ...res, status: 400, header, body: once(body) };
    }
    case 'connect-stream':
      if (!res.body) return res;
      return {
        ...res,
        body: mapChunks(res.body, (chunk) => {
          const env = asEnvelope(chunk);
          if (!env || !(env.flags & END_STREAM_FLAG) || env.flags & COMPRESSED_FLAG) return chunk;
          const rewritten = rewriteJsonError(Buffer.from(env.data).toString('utf8'), (parsed) => parsed.error as Record<string, unknown> | undefined);
          return rewritten === undefined ? chunk : envelope(env.flags, Buffer.from(rewritten, 'utf8'));
        }),
      };
    case 'grpc':
      if (!res.trailer) return res;
      fixGrpcTrailer(res.trailer); // set already when the first message failed to parse
      return { ...res, body: thenFixTrailer(res.body, res.trailer) };
    case 'grpc-web':
      if (!res.body) return res;
      return {
        ...res,
        body: mapChunks(res.body, (chunk) => {
          const env = asEnvelope(chunk);
          if (!env || !(env.flags & GRPC_WEB_TRAILER_FLAG) || env.flags & COMPRESSED_FLAG) return chunk;
          const trailer = new Headers();
          for (const line of Buffer.from(env.data).toString('utf8').split('\r\n')) {
            const colon = line.indexOf(':');
            if (colon > 0) trailer.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
          }
          const before = trailer.get('grpc-status');
          fixGrpcTrailer(trailer);
          if (trailer.get('grpc-status') === before) return chunk;
          let text = '';
          trailer.forEach((value, key) => (text += `${key}: ${value}\r\n`));
          return envelope(env.flags, Buffer.from(text, 'utf8'));
        }),
      };
  }
}

/** Wraps every registered handler in place (call with router.handlers once the routes are registered). */
export function reportUndecodableRequestsAsInvalid(handlers: UniversalHandler[]): void {
  for (let i = 0; i < handlers.length; i++) {
    const handler = handlers[i];
    const wrapped = async (req: Parameters<UniversalHandler>[0]) => {
      const protocol = protocolOf(req.header.get('content-type'));
      const res = await handler(req);
      return protocol ? fix(protocol, res) : res;
    };
    handlers[i] = Object.assign(wrapped, {
      protocolNames: handler.protocolNames,
      allowedMethods: handler.allowedMethods,
      supportedContentType: handler.supportedContentType,
      requestPath: handler.requestPath,
      service: handler.service,
      method: handler.method,
    }) as UniversalHandler;
  }
}

/** What closeConnectionIfBodyUnread needs of a Node request and response (HTTP/1.1 or HTTP/2 compatibility API). */
interface RequestState {
  httpVersionMajor: number;
  complete?: boolean;
}
interface ResponseHead {
  headersSent: boolean;
  setHeader(name: string, value: string): unknown;
  writeHead: (...args: never[]) => unknown;
}

/**
 * HTTP/1.1 keep-alive: an answer sent before the request body was read to its end (an over-size or malformed
 * stream that connect-es stopped reading) closes the connection. Otherwise the unread rest of that body would sit
 * in front of the next request on the connection, which then waits forever: a client, or a proxy pooling
 * connections for many clients, would see later, innocent requests hang.
 */
export function closeConnectionIfBodyUnread(req: RequestState, res: ResponseHead): void {
  if (req.httpVersionMajor !== 1) return; // HTTP/2 streams are independent: an unread stream is reset on its own
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => unknown;
  res.writeHead = ((...args: unknown[]) => {
    if (!req.complete && !res.headersSent) res.setHeader('connection', 'close');
    return writeHead(...args);
  }) as ResponseHead['writeHead'];
}
