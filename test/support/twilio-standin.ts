// A stand-in for Twilio's Messages API (POST /2010-04-01/Accounts/{AccountSid}/Messages.json) on loopback. Every
// request is checked against Twilio's OpenAPI description; success bodies are the spec's own 201 example with this
// request's values and a fresh SID, errors are Twilio's error JSON ({ code, message, more_info, status }).
import { OpenApiCheck } from './openapi-check.js';
import { type HttpStandIn, type Reply, startHttpStandIn } from './http-standin.js';

export type TwilioMisbehaviour =
  | { kind: 'status'; status: number }
  | { kind: 'rate-limit'; retryAfterS: number }
  /** A Twilio error such as 21211 (invalid 'To') with its HTTP status (400 unless given). */
  | { kind: 'error'; code: number; status?: number }
  | { kind: 'slow'; delayMs: number };

export interface TwilioStandIn extends HttpStandIn {
  /** For TWILIO_API_URL. */
  apiUrl: string;
  /** The next requests get these answers, in order; after them, success again. */
  misbehave(...next: TwilioMisbehaviour[]): void;
}

function twilioError(status: number, code: number, message: string, headers?: Record<string, string>): Reply {
  return { status, headers, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}

export async function startTwilioStandIn(): Promise<TwilioStandIn> {
  const check = OpenApiCheck.load('twilio_api_v2010.json');
  const queue: TwilioMisbehaviour[] = [];
  let created = 0;

  const success = (body: Record<string, unknown>, accountSid: string): Record<string, unknown> => {
    created += 1;
    const sid = `SM${created.toString(16).padStart(32, '0')}`;
    const now = new Date().toUTCString().replace('GMT', '+0000');
    const example = check.responseExample('post', '/2010-04-01/Accounts/{AccountSid}/Messages.json', '201');
    return {
      ...example,
      sid,
      account_sid: accountSid,
      to: body.To,
      from: body.From ?? null,
      messaging_service_sid: body.MessagingServiceSid ?? null,
      body: body.Body,
      status: 'queued',
      date_created: now,
      date_updated: now,
      date_sent: null,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
      subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
    };
  };

  const answer = ({ body, pathParams }: { body: Record<string, unknown>; pathParams: Record<string, string> }): Reply => {
    const next = queue.shift();
    switch (next?.kind) {
      case undefined:
        return { status: 201, body: success(body, pathParams.AccountSid) };
      case 'status':
        return twilioError(next.status, 20500, 'Internal Server Error');
      case 'rate-limit':
        return twilioError(429, 20429, 'Too Many Requests', { 'retry-after': String(next.retryAfterS) });
      case 'error':
        return twilioError(next.status ?? 400, next.code, `Twilio error ${next.code}`);
      case 'slow':
        return { status: 201, body: success(body, pathParams.AccountSid), delayMs: next.delayMs };
    }
  };

  const standIn = await startHttpStandIn(check, answer);
  return { ...standIn, apiUrl: standIn.origin, misbehave: (...next) => queue.push(...next) };
}
