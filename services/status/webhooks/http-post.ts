// One webhook attempt: a POST to the address that passed the forgery check (the connection never looks the name up
// again), bounded by a timeout. The answer's body is read and dropped.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedAddress } from './address-check.js';

/** null when the endpoint answered 2xx; else what went wrong, for lastError (no URL: it may hold a token). */
export function postOnce(url: URL, to: CheckedAddress, headers: Record<string, string>, body: string, timeoutMs: number): Promise<string | null> {
  const lookup: LookupFunction = (_host, options, callback) => {
    if (options.all) (callback as (err: null, addresses: { address: string; family: number }[]) => void)(null, [to]);
    else callback(null, to.address, to.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        lookup,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'Pulse-Webhooks/1' },
      },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        response.on('end', () => resolve(status >= 200 && status < 300 ? null : `HTTP ${status}`));
        response.on('error', (err) => resolve(`response: ${err.message}`));
      },
    );
    // One deadline for the whole exchange (connect, send, answer), not an idle timeout per socket.
    const deadline = setTimeout(() => request.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ? `${err.code}: ${err.message}` : err.message));
    request.on('close', () => clearTimeout(deadline));
    request.end(body);
  });
}
