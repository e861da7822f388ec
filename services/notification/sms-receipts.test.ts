// SMS delivery receipts end to end: the real notification module sends through the real SMS provider to the Twilio
// stand-in (spec-checked: StatusCallback included), then receives Twilio's status callbacks on its HTTP port, signed
// as Twilio signs them. Forged, foreign and replayed callbacks change nothing.
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { until } from '../../test/support/poll.js';
import { startTwilioStandIn, type TwilioStandIn } from '../../test/support/twilio-standin.js';
import { EnvReader } from '../platform/config.js';
import { SmsProvider } from './providers/sms.js';
import { readSmsConfig, SMS_STATUS_PATH } from './providers/sms-config.js';
import { FakeProvider, type Harness, startHarness } from './test-support.js';

const ACCOUNT = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'f'.repeat(32);
const PUBLIC_URL = 'https://pulse.example.com';
const CALLBACK_URL = `${PUBLIC_URL}${SMS_STATUS_PATH}`;

describe('SMS delivery receipts', () => {
  let h: Harness;
  let standIn: TwilioStandIn;
  let sms: SmsProvider;

  beforeAll(async () => {
    standIn = await startTwilioStandIn();
    const env = { TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_FROM: '+14155550100', TWILIO_API_URL: standIn.apiUrl, PULSE_PUBLIC_URL: PUBLIC_URL };
    const reader = new EnvReader(env);
    sms = new SmsProvider(readSmsConfig(reader)!);
    reader.check();
    // The harness records what it sends through FakeProviders: this one hands every message to the real provider.
    const twilioSms = new FakeProvider('twilio', Channel.SMS);
    twilioSms.behaviour = (message) => sms.send(message, new AbortController().signal);
    h = await startHarness({ env, providers: [new FakeProvider('fake-email', Channel.EMAIL), twilioSms] });
    h.preference.users.set('ana', [{ channel: Channel.SMS, address: '+14155550123' }]);
  });
  afterAll(async () => {
    await h.stop();
    await sms.close();
    await standIn.close();
    expect(standIn.violations()).toEqual([]);
  });

  async function sentSms(key: string) {
    await h.client.sendNotification({ idempotencyKey: key, recipient: { target: { case: 'userId', value: 'ana' } }, notificationType: 'alert', content: { title: 'Hi', body: 'there' } });
    return until('SMS sent', async () => {
      const [delivery] = (await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: key } })).notification?.deliveries ?? [];
      return delivery?.state === DeliveryState.SENT ? delivery : undefined;
    });
  }

  function callback(params: Record<string, string>, signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, CALLBACK_URL, params)) {
    return fetch(`${h.running.url}${SMS_STATUS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
    });
  }

  const status = (sid: string, MessageStatus: string, extra: Record<string, string> = {}) => ({
    MessageSid: sid,
    SmsSid: sid,
    AccountSid: ACCOUNT,
    MessageStatus,
    SmsStatus: MessageStatus,
    To: '+14155550123',
    From: '+14155550100',
    ApiVersion: '2010-04-01',
    ...extra,
  });

  async function stateOf(key: string) {
    return (await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: key } })).notification!.deliveries[0];
  }

  it('asks Twilio for status callbacks at the public URL', async () => {
    await sentSms('receipts/url');
    expect(standIn.requests.at(-1)?.body).toMatchObject({ StatusCallback: CALLBACK_URL });
  });

  it('moves a delivered SMS to DELIVERED once, and ignores forged, foreign and replayed callbacks', async () => {
    const delivery = await sentSms('receipts/delivered');
    const sid = delivery.providerMessageId;
    expect(sid).toMatch(/^SM/);

    const forged = await callback(status(sid, 'delivered'), twilio.getExpectedTwilioSignature('0'.repeat(32), CALLBACK_URL, status(sid, 'delivered')));
    expect(forged.status).toBe(403);
    const tampered = await callback({ ...status(sid, 'delivered') }, twilio.getExpectedTwilioSignature(AUTH_TOKEN, CALLBACK_URL, status(sid, 'sent')));
    expect(tampered.status).toBe(403);
    const foreignAccount = { ...status(sid, 'delivered'), AccountSid: `AC${'9'.repeat(32)}` };
    expect((await callback(foreignAccount)).status).toBe(403);
    const unsigned = await callback(status(sid, 'delivered'), '');
    expect(unsigned.status).toBe(403);
    expect((await stateOf('receipts/delivered')).state).toBe(DeliveryState.SENT);

    expect((await callback(status(sid, 'sent'))).status).toBe(204); // progress already shown as SENT
    expect((await callback(status(sid, 'delivered'))).status).toBe(204);
    await until('delivered', async () => ((await stateOf('receipts/delivered')).state === DeliveryState.DELIVERED ? true : undefined));
    const reported = h.statuses.states(delivery.deliveryId);
    expect(reported.at(-1)).toBe('DELIVERED#1');

    // Replays: the same callback again, and a later "undelivered" for the same message.
    expect((await callback(status(sid, 'delivered'))).status).toBe(204);
    expect((await callback(status(sid, 'undelivered', { ErrorCode: '30003' }))).status).toBe(204);
    expect((await stateOf('receipts/delivered')).state).toBe(DeliveryState.DELIVERED);
    expect(h.statuses.states(delivery.deliveryId)).toEqual(reported);
  });

  it('moves an undelivered SMS to FAILED with the error code and a dead letter', async () => {
    const delivery = await sentSms('receipts/undelivered');
    expect((await callback(status(delivery.providerMessageId, 'undelivered', { ErrorCode: '30003' }))).status).toBe(204);
    const failed = await until('failed', async () => {
      const d = await stateOf('receipts/undelivered');
      return d.state === DeliveryState.FAILED ? d : undefined;
    });
    expect(failed.reason).toBe('carrier reported the SMS undelivered (Twilio error 30003)');
    const letters = await h.client.listDeadLetters({ filter: { reason: '30003' } });
    expect(letters.deadLetters.map((l) => l.deliveryId)).toEqual([delivery.deliveryId]);
    // A late "delivered" for it does not bring it back.
    await callback(status(delivery.providerMessageId, 'delivered'));
    expect((await stateOf('receipts/undelivered')).state).toBe(DeliveryState.FAILED);
  });

  it('answers a callback for a message it does not know without changing anything', async () => {
    const before = h.statuses.events.length;
    const response = await callback(status(`SM${'e'.repeat(32)}`, 'delivered'));
    expect(response.status).toBe(204);
    expect(h.statuses.events.length).toBe(before);
  });
});
