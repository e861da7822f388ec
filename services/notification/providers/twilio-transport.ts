// The twilio library's documented transport hook (`httpClient`, a RequestClient) over our HttpExchange: it sends
// to TWILIO_API_URL when one is set (the stand-in) instead of api.twilio.com, bounds the request by one send's
// signal and deadline, reports how far a failed request got, and keeps the Retry-After of a 429, which the
// library's RestException drops.
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioResponse from 'twilio/lib/http/response.js';
import type { ExchangeLimits, HttpExchange } from './http-exchange.js';
import { parseRetryAfter } from './http-failure.js';

/** Form encoding as the library's own client does it: arrays as repeated keys. */
function formEncode(values: object | undefined): URLSearchParams {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(values ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) form.append(key, String(item));
  }
  return form;
}

export class TwilioTransport extends twilio.RequestClient {
  /** From the last 429 answered to this send. */
  retryAfterMs?: number;

  constructor(
    private readonly exchange: HttpExchange,
    private readonly limits: ExchangeLimits,
    private readonly apiUrl: string | undefined,
  ) {
    super({ keepAlive: false });
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<TwilioResponse.default<TData>> {
    const target = new URL(opts.uri);
    const url = new URL(this.apiUrl ? `${this.apiUrl}${target.pathname}` : target.href);
    for (const [key, value] of formEncode(opts.params)) url.searchParams.append(key, value);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(opts.headers ?? {})) if (value !== undefined) headers[name] = String(value);
    if (opts.username && opts.password) {
      headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    }
    const body = opts.data === undefined ? undefined : formEncode(opts.data as object).toString();
    const response = await this.exchange.send({ method: opts.method.toUpperCase(), url: url.href, headers, body }, this.limits);
    if (response.status === 429) this.retryAfterMs = parseRetryAfter(response.headers['retry-after']);
    // The shape the library's own client resolves with (a plain object, whatever its typings say); the library
    // parses the JSON body and turns non-2xx statuses into RestException.
    const resolved = { statusCode: response.status, body: response.body, headers: response.headers };
    return resolved as unknown as TwilioResponse.default<TData>;
  }
}
