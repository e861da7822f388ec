// The stand-ins' spec checks must bite: requests that break Slack's or Twilio's OpenAPI description are answered
// 422 and recorded as violations, while a well-formed request passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpStandIn } from '../support/http-standin.js';
import { type SlackStandIn, startSlackStandIn } from '../support/slack-standin.js';
import { startTwilioStandIn, type TwilioStandIn } from '../support/twilio-standin.js';

const ACCOUNT = `AC${'0123456789abcdef'.repeat(2)}`;
const BASIC = `Basic ${Buffer.from(`${ACCOUNT}:token`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

interface Case {
  what: string;
  path?: string;
  headers?: Record<string, string>;
  form: Record<string, string>;
  violation: string;
}

async function post(
  standIn: HttpStandIn,
  path: string,
  headers: Record<string, string>,
  form: Record<string, string>,
): Promise<{ status: number; violations: string[] }> {
  const before = standIn.requests.length;
  const response = await fetch(`${standIn.origin}${path}`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  await response.arrayBuffer();
  expect(standIn.requests).toHaveLength(before + 1);
  return { status: response.status, violations: standIn.requests[before].violations };
}

describe('Slack stand-in checks requests against slack_web_openapi_v2.json', () => {
  const path = '/api/chat.postMessage';
  const headers = { authorization: 'Bearer xoxb-1-2-abc', 'content-type': FORM };
  let slack: SlackStandIn;
  beforeAll(async () => {
    slack = await startSlackStandIn();
  });
  afterAll(async () => {
    await slack.close();
  });

  it('accepts a well-formed chat.postMessage', async () => {
    const form = { channel: 'C0123456789', text: 'hi', unfurl_links: 'false' };
    expect(await post(slack, path, headers, form)).toEqual({ status: 200, violations: [] });
  });

  it.each<Case>([
    { what: 'a missing channel', form: { text: 'hi' }, violation: 'body parameter "channel" is required' },
    {
      what: 'no token',
      headers: { 'content-type': FORM },
      form: { channel: 'C0123456789' },
      violation: 'header parameter "token" is required',
    },
    {
      what: 'a Basic token',
      headers: { ...headers, authorization: BASIC },
      form: { channel: 'C0123456789' },
      violation: 'Authorization must use bearer (got basic)',
    },
    {
      what: 'a non-boolean flag',
      form: { channel: 'C0123456789', unfurl_links: 'yes' },
      violation: 'body parameter "unfurl_links" must be boolean',
    },
    {
      what: 'an undeclared parameter',
      form: { channel: 'C0123456789', chanel: 'x' },
      violation: 'body parameter "chanel" is not declared by the operation',
    },
    {
      what: 'an unknown method',
      path: '/api/chat.postMesage',
      form: { channel: 'C0123456789' },
      violation: 'POST /api/chat.postMesage is not an operation of the spec',
    },
    {
      what: 'a content type the method does not consume',
      headers: { ...headers, 'content-type': 'text/plain' },
      form: { channel: 'C0123456789' },
      violation: 'Content-Type "text/plain" is not one of application/x-www-form-urlencoded, application/json',
    },
  ])('rejects $what', async (c) => {
    const { status, violations } = await post(slack, c.path ?? path, c.headers ?? headers, c.form);
    expect(status).toBe(422);
    expect(violations).toContain(c.violation);
  });
});

describe('Twilio stand-in checks requests against twilio_api_v2010.json', () => {
  const path = `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`;
  const headers = { authorization: BASIC, 'content-type': FORM };
  const valid = { To: '+14155550123', From: '+14155550100', Body: 'hi' };
  let twilio: TwilioStandIn;
  beforeAll(async () => {
    twilio = await startTwilioStandIn();
  });
  afterAll(async () => {
    await twilio.close();
  });

  it('accepts a well-formed message', async () => {
    expect(await post(twilio, path, headers, valid)).toEqual({ status: 201, violations: [] });
  });

  it.each<Case>([
    { what: 'a missing To', form: { From: valid.From, Body: 'hi' }, violation: 'body parameter "To" is required' },
    {
      what: 'neither From nor MessagingServiceSid',
      form: { To: valid.To, Body: 'hi' },
      violation: 'one of From, MessagingServiceSid is required',
    },
    {
      what: 'no Body, MediaUrl or ContentSid',
      form: { To: valid.To, From: valid.From },
      violation: 'one of Body, MediaUrl, ContentSid is required',
    },
    {
      what: 'a To that is not a phone number',
      form: { ...valid, To: 'dana@example.com' },
      violation: 'body parameter "To" must match format "phone-number"',
    },
    {
      what: 'a value outside an enum',
      form: { ...valid, ContentRetention: 'forever' },
      violation: 'body parameter "ContentRetention" must be equal to one of the allowed values',
    },
    {
      what: 'a malformed Account SID',
      path: '/2010-04-01/Accounts/AC123/Messages.json',
      form: valid,
      violation: 'path parameter "AccountSid" must NOT have fewer than 34 characters',
    },
    {
      what: 'a Bearer token',
      headers: { ...headers, authorization: 'Bearer abc' },
      form: valid,
      violation: 'Authorization must use basic (got bearer)',
    },
    {
      what: 'a JSON body',
      headers: { ...headers, 'content-type': 'application/json' },
      form: valid,
      violation: 'Content-Type "application/json" is not one of application/x-www-form-urlencoded',
    },
  ])('rejects $what', async (c) => {
    const { status, violations } = await post(twilio, c.path ?? path, c.headers ?? headers, c.form);
    expect(status).toBe(422);
    expect(violations).toContain(c.violation);
  });
});
