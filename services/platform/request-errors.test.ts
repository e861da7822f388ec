import type { UniversalHandler, UniversalServerResponse } from '@connectrpc/connect/protocol';
import { describe, expect, it } from 'vitest';
import { closeConnectionIfBodyUnread, isCallerFault, reportUndecodableRequestsAsInvalid } from './request-errors.js';

async function* chunks(...items: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* items;
}

function envelope(flags: number, text: string): Uint8Array {
  const data = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(5 + data.length);
  out[0] = flags;
  out.writeUInt32BE(data.length, 1);
  data.copy(out, 5);
  return out;
}

async function read(body: AsyncIterable<Uint8Array> | undefined): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const chunk of body ?? chunks()) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

/** One handler answering `res`, wrapped; returns what a request with the content type gets. */
async function answer(contentType: string, res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const handler = Object.assign(async () => res, { protocolNames: [], requestPath: '/x' }) as unknown as UniversalHandler;
  const handlers = [handler];
  reportUndecodableRequestsAsInvalid(handlers);
  expect(handlers[0].requestPath).toBe('/x');
  return handlers[0]({ header: new Headers({ 'content-type': contentType }) } as never);
}

describe('undecodable requests are invalid_argument', () => {
  it('knows which internal errors are the caller’s', () => {
    expect(isCallerFault('parse binary: premature EOF')).toBe(true);
    expect(isCallerFault('received compressed envelope, but do not know how to decompress')).toBe(true);
    expect(isCallerFault('internal error')).toBe(false);
    expect(isCallerFault('serialize binary: oops')).toBe(false);
  });

  it('rewrites a Connect unary error body and status, and leaves other errors alone', async () => {
    const res = await answer('application/proto', {
      status: 500,
      header: new Headers({ 'content-type': 'application/json', 'content-length': '60' }),
      body: chunks(Buffer.from(JSON.stringify({ code: 'internal', message: 'parse binary: premature EOF' }))),
    });
    expect(res.status).toBe(400);
    const body = await read(res.body);
    expect(JSON.parse(body)).toEqual({ code: 'invalid_argument', message: 'parse binary: premature EOF' });
    expect(new Headers(res.header).get('content-length')).toBe(String(Buffer.byteLength(body)));

    const other = await answer('application/proto', { status: 500, body: chunks(Buffer.from('{"code":"internal","message":"internal error"}')) });
    expect(other.status).toBe(500);
    expect(JSON.parse(await read(other.body))).toMatchObject({ code: 'internal' });
  });

  it('rewrites the end-of-stream message of a Connect stream', async () => {
    const res = await answer('application/connect+proto', {
      status: 200,
      body: chunks(envelope(0b10, JSON.stringify({ error: { code: 'internal', message: 'parse binary: invalid varint' } }))),
    });
    const text = await read(res.body);
    expect(JSON.parse(text.slice(5))).toEqual({ error: { code: 'invalid_argument', message: 'parse binary: invalid varint' } });
  });

  it('rewrites the gRPC status trailer, also when it is set while the body streams', async () => {
    const trailer = new Headers({ 'grpc-status': '0' });
    const res = await answer('application/grpc', {
      status: 200,
      trailer,
      body: (async function* () {
        trailer.set('grpc-status', '13');
        trailer.set('grpc-message', encodeURIComponent('parse binary: premature EOF'));
        yield* [];
      })(),
    });
    await read(res.body);
    expect(trailer.get('grpc-status')).toBe('3');
  });

  it('rewrites the trailer frame of gRPC-Web', async () => {
    const res = await answer('application/grpc-web+proto', {
      status: 200,
      body: chunks(envelope(0x80, `grpc-status: 13\r\ngrpc-message: ${encodeURIComponent('parse binary: premature EOF')}\r\n`)),
    });
    expect(await read(res.body)).toContain('grpc-status: 3\r\n');
  });
});

describe('an answer sent before the request body was read', () => {
  it('closes an HTTP/1.1 connection, and leaves complete requests and HTTP/2 alone', () => {
    const response = () => {
      const headers: Record<string, string> = {};
      return { headers, headersSent: false, setHeader: (k: string, v: string) => (headers[k] = v), writeHead: () => undefined };
    };
    const unread = response();
    closeConnectionIfBodyUnread({ httpVersionMajor: 1, complete: false }, unread);
    unread.writeHead();
    expect(unread.headers.connection).toBe('close');
    const read = response();
    closeConnectionIfBodyUnread({ httpVersionMajor: 1, complete: true }, read);
    read.writeHead();
    expect(read.headers.connection).toBeUndefined();
    const h2 = response();
    closeConnectionIfBodyUnread({ httpVersionMajor: 2, complete: false }, h2);
    h2.writeHead();
    expect(h2.headers.connection).toBeUndefined();
  });
});
