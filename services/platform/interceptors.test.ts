import { Code, ConnectError } from '@connectrpc/connect';
import { expect, it } from 'vitest';
import { bounded } from './interceptors.js';

it("drops the transport headers of a peer's error passed on, keeping the code, message and the headers meant for the caller", () => {
  // As a peer called over HTTP/1.1 answers: its response headers come with the error.
  const fromPeer = new ConnectError('topic "x" has no route', Code.NotFound, {
    connection: 'keep-alive',
    'keep-alive': 'timeout=65',
    'content-type': 'application/json',
    'retry-after': '1',
  });
  const sent = bounded(fromPeer);
  expect([sent.code, sent.rawMessage]).toEqual([Code.NotFound, 'topic "x" has no route']);
  expect([...sent.metadata.keys()]).toEqual(['retry-after']);
  const own = new ConnectError('slow down', Code.ResourceExhausted, { 'retry-after': '2' });
  expect(bounded(own)).toBe(own);
});
