// A stand-in for Slack's Web API (chat.postMessage) on loopback. Every request is checked against Slack's OpenAPI
// description; success bodies are the spec's own example with this request's channel, text and a fresh ts.
import { OpenApiCheck } from './openapi-check.js';
import { type HttpStandIn, type Reply, startHttpStandIn } from './http-standin.js';

export type SlackMisbehaviour =
  | { kind: 'status'; status: number }
  | { kind: 'rate-limit'; retryAfterS: number }
  /** `{ ok: false, error }` with HTTP 200, as Slack reports platform errors. */
  | { kind: 'platform'; error: string }
  | { kind: 'slow'; delayMs: number };

export interface SlackStandIn extends HttpStandIn {
  /** For SLACK_API_URL. */
  apiUrl: string;
  /** The next requests get these answers, in order; after them, success again. */
  misbehave(...next: SlackMisbehaviour[]): void;
}

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const check = OpenApiCheck.load('slack_web_openapi_v2.json', { headerSatisfiedByBearer: 'token' });
  const queue: SlackMisbehaviour[] = [];
  let posted = 0;

  const success = (body: Record<string, unknown>): Record<string, unknown> => {
    posted += 1;
    const ts = `${1_700_000_000 + posted}.${String(posted).padStart(6, '0')}`;
    const example = check.responseExample('post', '/chat.postMessage', '200');
    const channel = typeof body.channel === 'string' && /^[CGD][A-Z0-9]{8,}$/.test(body.channel) ? body.channel : example.channel;
    const { attachments: _attachments, ...message } = example.message as Record<string, unknown>;
    return { ...example, channel, ts, message: { ...message, text: body.text, ts } };
  };

  const answer = ({ body }: { body: Record<string, unknown> }): Reply => {
    const next = queue.shift();
    switch (next?.kind) {
      case undefined:
        return { status: 200, body: success(body) };
      case 'status':
        return { status: next.status, body: { ok: false, error: 'fatal_error' } };
      case 'rate-limit':
        return { status: 429, headers: { 'retry-after': String(next.retryAfterS) }, body: { ok: false, error: 'ratelimited' } };
      case 'platform':
        return { status: 200, body: { ok: false, error: next.error } };
      case 'slow':
        return { status: 200, body: success(body), delayMs: next.delayMs };
    }
  };

  const standIn = await startHttpStandIn(check, answer);
  return {
    ...standIn,
    apiUrl: `${standIn.origin}/api/`,
    misbehave: (...next) => queue.push(...next),
  };
}
