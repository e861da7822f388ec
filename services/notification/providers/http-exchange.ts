// One HTTP request/response over node:http(s) for the Slack and Twilio SDKs (plugged in through their transport
// hooks) and the push senders, bounded by a deadline and the caller's AbortSignal. What the SDKs' own transports
// cannot say is how far a failed request got, and that decides the failure kind: a request that was never fully
// written cannot have been acted on (safe to retry), one that was may have been (its outcome is unknown).
import http from 'node:http';
import https from 'node:https';

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Text, or bytes (an encrypted Web Push payload). */
  body?: string | Buffer;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

export interface ExchangeLimits {
  signal: AbortSignal;
  timeoutMs: number;
}

export class ExchangeFailure extends Error {
  constructor(
    /** Safe to show: never a URL (it may carry ids), header or body. */
    readonly reason: string,
    /** The whole request was handed to the OS: the provider may have received and acted on it. */
    readonly requestSent: boolean,
    /**
     * A reused keep-alive connection was reset before any response byte: the server closed it while idle, the race
     * Node's http docs describe (request.reusedSocket), so the request was not processed.
     */
    readonly staleConnection: boolean,
  ) {
    super(reason);
    this.name = 'ExchangeFailure';
  }
}

export class HttpExchange {
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });

  send(request: HttpRequest, { signal, timeoutMs }: ExchangeLimits): Promise<HttpResponse> {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const body = request.body ?? '';
    if (signal.aborted) return Promise.reject(new ExchangeFailure('aborted (request not sent)', false, false));
    return new Promise((resolve, reject) => {
      let requestSent = false;
      let responseStarted = false;
      let settled = false;
      const client = (secure ? https : http).request(url, {
        method: request.method,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: secure ? this.httpsAgent : this.httpAgent,
      });

      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const fail = (reason: string, code?: string) => {
        const stale = client.reusedSocket && !responseStarted && (code === 'ECONNRESET' || code === 'EPIPE');
        const sent = requestSent && !stale;
        const detail = sent ? ' (request may have been sent)' : ' (request not sent)';
        settle(() => reject(new ExchangeFailure(`${reason}${detail}`, sent, stale)));
        client.destroy();
      };
      const onAbort = () => fail('aborted');
      const timer = setTimeout(() => fail(`timeout after ${timeoutMs} ms`), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });

      client.on('finish', () => {
        requestSent = true;
      });
      client.on('error', (err: NodeJS.ErrnoException) => fail(`connection failed (${err.code ?? err.name})`, err.code));
      client.on('response', (res) => {
        responseStarted = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err: NodeJS.ErrnoException) => fail(`response interrupted (${err.code ?? err.name})`, err.code));
        res.on('end', () =>
          settle(() =>
            resolve({
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? '',
              headers: Object.fromEntries(
                Object.entries(res.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]),
              ),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          ),
        );
      });
      client.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
