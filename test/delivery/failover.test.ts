// Provider failover with two real SMTP servers on loopback: the primary relay hangs (it never answers RCPT TO, so
// no message is ever handed to it), the secondary works. Every email is sent once, by the secondary; the first
// ones after a timed-out attempt on the primary, later ones straight away once the primary's breaker is open. One
// provider per attempt, never both, and each delivery records the provider that carried it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type SmtpStandIn, startSmtpServer } from '../support/smtp-server.js';
import { mailsOf, notificationWhen, type Rig, sample, startRig, unique } from './support.js';

let rig: Rig;
let secondary: SmtpStandIn;

beforeAll(async () => {
  secondary = await startSmtpServer();
  rig = await startRig({
    SMTP_TIMEOUT_MS: '2000', // both relays: the primary's attempts end in this timeout
    SMTP_SECONDARY_URL: `smtp://${secondary.host}:${secondary.port}`,
    PULSE_BREAKER_VOLUME: '3',
    PULSE_BREAKER_ERROR_PERCENT: '50',
    PULSE_BREAKER_RESET_MS: '60000', // stays open for the test
    NOTIFICATION_RETRY_BASE_MS: '50',
    NOTIFICATION_RETRY_MAX_DELAY_MS: '200',
    NOTIFICATION_RATE_USER_PER_SECOND: '1000',
    NOTIFICATION_RATE_USER_BURST: '1000',
  });
  rig.smtp.behave('hang-before-data'); // the rig's own server is the primary
});

afterAll(async () => {
  await rig?.stop();
  await secondary?.close();
});

it('fails over to the second relay: every email sent once, by the provider each delivery records', { timeout: 60_000 }, async () => {
  const type = 'failover.check';
  const userId = unique('user');
  await rig.api.preference.updatePreferences({
    preferences: { userId, contacts: { email: 'ops@example.com' }, typeChannels: [{ notificationType: type, channels: [Channel.EMAIL] }] },
    updateMask: { paths: ['contacts', 'type_channels'] },
  });
  const send = async (i: number) => {
    const { notification } = await rig.api.notification.sendNotification({
      idempotencyKey: unique('failover'),
      recipient: { target: { case: 'userId', value: userId } },
      notificationType: type,
      content: { title: `Relay check ${i}`, body: 'The primary relay is down.' },
    });
    return notification!.notificationId;
  };
  const sent = (id: string) =>
    notificationWhen(rig.api, id, 'the email to be sent', (n) => n.deliveries[0].state === DeliveryState.SENT && n.deliveries[0], 40_000);
  // The first four meet the hanging primary (its breaker opens after three failures); the next eight come after.
  const first = await Promise.all([0, 1, 2, 3].map(send));
  const firstDone = await Promise.all(first.map(sent));
  const later = await Promise.all([4, 5, 6, 7, 8, 9, 10, 11].map(send));
  const laterDone = await Promise.all(later.map(sent));
  const ids = [...first, ...later];
  const done = [...firstDone, ...laterDone];
  const attempts = done.map((d) => d.attempts);
  const failovers = {
    retryable: await sample(rig.mesh.urls.notification, 'pulse_delivery_failovers_total', { provider: 'smtp-secondary', reason: 'retryable_failure' }),
    breakerOpen: await sample(rig.mesh.urls.notification, 'pulse_delivery_failovers_total', { provider: 'smtp-secondary', reason: 'breaker_open' }),
  };
  console.log(`failover: 12 emails, attempts per delivery ${attempts.join(',')}; primary got ${rig.smtp.received.length} messages, secondary ${secondary.received.length}; failovers ${JSON.stringify(failovers)}`);

  expect(done.every((d) => d.provider === 'smtp-secondary')).toBe(true);
  for (const id of ids) expect(mailsOf(secondary, id), id).toHaveLength(1);
  expect(rig.smtp.received).toEqual([]); // the hanging primary never got a message: nothing was sent twice
  // The first deliveries tried the primary once (a timeout before any data), then went to the secondary; once the
  // breaker was open, the later ones went to the secondary on their first attempt.
  expect(attempts.slice(0, 4)).toEqual([2, 2, 2, 2]);
  expect(attempts.slice(4)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  expect(failovers).toEqual({ retryable: 4, breakerOpen: 8 });
});
