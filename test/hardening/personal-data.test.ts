// Personal data stays out of logs, spans, metrics and dead-letter reasons. The mesh runs as separate processes on
// RabbitMQ at LOG_LEVEL=debug, exporting its spans over OTLP to a receiver in this test, with the real providers
// pointed at loopback stand-ins. The test sends chat messages, an assistance request and notifications that carry
// recognisable email addresses, phone numbers and message text (markers unique to the run), including to a user
// whose providers refuse them for good (SMTP 550, Twilio 21211), so failure paths and dead letters run too, and a
// poison event carrying them. Then it searches every log line, every exported span, every metric of every service,
// every dead-letter reason (ListDeadLetters, delivery reasons, the broker's dead-letter queues) and every answer
// to a bad request logged or traced: none of the markers may appear. The providers must have received them (a
// search that finds nothing proves something only when the data really went through).
import { randomBytes } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { EVENT_TYPES } from '../../services/platform/bus/events.js';
import { SERVICE_NAMES } from '../../services/platform/catalog.js';
import { describeBroker } from '../support/broker.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { until } from '../support/poll.js';
import { type OtlpReceiver, startOtlpReceiver } from '../tracing/otlp-receiver.js';
import { RawBroker } from './support/broker.js';
import { type IsolatedMesh, startIsolatedMesh } from '../mesh/support.js';
import { type Providers, startProviders } from './support/providers.js';

const run = randomBytes(4).toString('hex');
const digits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('');
const phoneA = digits(7);
const phoneB = digits(7);
/** The personal data, by what it is. Each string is unique to this run and searched for as is. */
const PERSON = {
  email: `pdmail${run}@example.org`,
  emailLocal: `pdmail${run}`,
  phone: `+1415${phoneA}`,
  phoneDigits: `1415${phoneA}`,
  text: `pdtext${run}`,
};
/** A second person, whose providers refuse the messages for good. */
const REFUSED = {
  email: `pdfail${run}@example.org`,
  emailLocal: `pdfail${run}`,
  phone: `+1416${phoneB}`,
  phoneDigits: `1416${phoneB}`,
  text: `pdfailtext${run}`,
};
/** Everything searched for: the addresses whole and in part (local part, phone digits without "+"), the text. */
const MARKERS = [...new Set([...Object.values(PERSON), ...Object.values(REFUSED)])];

const chat = (who: typeof PERSON) =>
  `This is the worst service ever, I want a refund or I cancel! Write to ${who.email} or call ${who.phone}. Ref ${who.text}`;

describeBroker('personal data in logs, spans, metrics and dead-letter reasons', () => {
  let env: IsolatedMesh;
  let api: MeshClients;
  let providers: Providers;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    providers = await startProviders();
    otlp = await startOtlpReceiver();
    env = await startIsolatedMesh(
      {
        ...providers.env,
        LOG_LEVEL: 'debug',
        ...otlp.env,
        NOTIFICATION_SCHEDULER_INTERVAL_MS: '100',
        NOTIFICATION_RETRY_BASE_MS: '100',
      },
      { keepLines: 400_000 }, // every line is searched
    );
    api = meshClients(env.mesh.urls, env.mesh.token);
  }, 180_000);

  afterAll(async () => {
    await env?.stop();
    await otlp?.close();
    await providers?.close();
  }, 60_000);

  it('never shows an address, a phone number or message text in clear', async () => {
    console.log(`personal data: markers ${MARKERS.join(', ')}`);
    const { smtp, twilio, slack } = providers;

    // 1. Chat messages carrying all three, through sentiment and review to the reviewers' notifications.
    const conversationId = `pd-conv-${run}`;
    await api.ingestion.submitInteraction({ messageId: `pd-${run}-1`, conversationId, customerId: 'pd-customer', author: Author.CUSTOMER, text: chat(PERSON) });
    await api.ingestion.submitInteractions({
      interactions: [
        { messageId: `pd-${run}-2`, conversationId, customerId: 'pd-customer', author: Author.AGENT, text: `Sorry! I wrote to ${PERSON.email}` },
        { messageId: `pd-${run}-3`, conversationId, customerId: 'pd-customer', author: Author.CUSTOMER, text: chat(REFUSED) },
      ],
    });
    await api.sentiment.analyze({ text: chat(PERSON) });
    // 2. A bot's assistance request (to Slack through the sales route) describing the customer.
    await api.ingestion.requestAssistance({ requestId: `pd-${run}`, topic: 'sales', description: chat(PERSON), botId: 'pd-bot', conversationId });

    // 3. Direct notifications to a user reached by email, SMS and in-app; then to one whose providers refuse.
    const deliverAll = [Channel.EMAIL, Channel.SMS, Channel.IN_APP];
    await api.preference.updatePreferences({
      preferences: { userId: `pd-user-${run}`, contacts: { email: PERSON.email, phone: PERSON.phone }, defaultChannels: deliverAll },
      updateMask: { paths: ['contacts', 'default_channels'] },
    });
    const sent = await api.notification.sendNotification({
      idempotencyKey: `pd-${run}-ok`,
      recipient: { target: { case: 'userId', value: `pd-user-${run}` } },
      notificationType: 'account.notice',
      priority: Priority.HIGH,
      content: { title: `Hello ${PERSON.text}`, body: chat(PERSON), data: { contact: PERSON.email, phone: PERSON.phone } },
    });
    const okId = sent.notification!.notificationId;
    await until(
      'the email and the SMS to reach the providers',
      async () => smtp.received.some((m) => m.envelope.to.includes(PERSON.email)) && twilio.requests.some((r) => JSON.stringify(r.body).includes(PERSON.phoneDigits)),
      30_000,
    );

    smtp.behave('reject-recipient'); // 550: permanent
    twilio.misbehave({ kind: 'error', code: 21211 }); // invalid 'To': permanent
    await api.preference.updatePreferences({
      preferences: { userId: `pd-refused-${run}`, contacts: { email: REFUSED.email, phone: REFUSED.phone }, defaultChannels: [Channel.EMAIL, Channel.SMS] },
      updateMask: { paths: ['contacts', 'default_channels'] },
    });
    const refused = await api.notification.sendNotification({
      idempotencyKey: `pd-${run}-refused`,
      recipient: { target: { case: 'userId', value: `pd-refused-${run}` } },
      notificationType: 'account.notice',
      priority: Priority.CRITICAL,
      content: { title: `Hello ${REFUSED.text}`, body: chat(REFUSED) },
    });
    const refusedId = refused.notification!.notificationId;
    const failedDeliveries = await until('both refused deliveries to fail for good', async () => {
      const { notification } = await api.notification.getNotification({ lookup: { case: 'notificationId', value: refusedId } });
      const deliveries = notification?.deliveries ?? [];
      return deliveries.length === 2 && deliveries.every((d) => d.state === DeliveryState.FAILED) && deliveries;
    }, 30_000);
    smtp.behave('accept');

    // 4. Bad requests that carry personal data: the caller may see its own input, nothing else may.
    const refusals: string[] = [];
    for (const attempt of [
      () => api.preference.updatePreferences({ preferences: { userId: `pd-bad-${run}`, contacts: { email: `${PERSON.text} ${PERSON.email}`, phone: `${PERSON.phone}x` } }, updateMask: { paths: ['contacts'] } }),
      () => api.ingestion.submitInteraction({ messageId: `pd-${run}-long`, conversationId, customerId: 'c', author: Author.CUSTOMER, text: `${chat(PERSON)} `.repeat(200) }),
      () => api.notification.sendNotification({ idempotencyKey: `pd ${PERSON.email}`, recipient: { target: { case: 'userId', value: PERSON.email } }, notificationType: PERSON.email, content: { title: '' } }),
      () => api.ingestion.requestAssistance({ requestId: `pd-${run}-x`, topic: PERSON.email, description: chat(PERSON) }),
    ]) {
      refusals.push(await attempt().then(() => 'ok', (err: unknown) => ConnectError.from(err).code === Code.InvalidArgument ? 'invalid_argument' : Code[ConnectError.from(err).code]));
    }
    expect(refusals.every((r) => r !== 'ok'), `bad requests refused: ${refusals.join(', ')}`).toBe(true);

    // 5. A poison event whose body carries personal data: its dead-letter reason must not.
    const broker = await RawBroker.open(env.vhost);
    try {
      await broker.publish('customer.interaction.new', Buffer.from(`\xff\xff\xff\xff\x0f${chat(PERSON)}`, 'latin1'), {
        messageId: `pd-poison-${run}`,
        type: EVENT_TYPES.get('customer.interaction.new')!.schema.typeName,
      });
      await broker.publish('notification.status.changed', Buffer.from(chat(PERSON)), { messageId: `pd-poison2-${run}`, type: 'pulse.events.v1.NotificationStatusChanged' });
    } finally {
      await broker.close();
    }

    // Everything has run through: the reviewers' case, the in-app delivery, the Slack post.
    await until('a review case', async () => (await api.review.listReviews({ pageSize: 200 })).reviews.some((r) => r.conversationId === conversationId), 30_000);
    await until('the direct notification delivered on every channel', async () => {
      const { notification } = await api.notification.getNotification({ lookup: { case: 'notificationId', value: okId } });
      return notification?.deliveries.every((d) => d.state === DeliveryState.SENT || d.state === DeliveryState.DELIVERED);
    }, 30_000);
    await until('the Slack post', async () => slack.requests.some((r) => JSON.stringify(r.body).includes(PERSON.text)), 30_000);
    await until('the poison events dead-lettered', async () => (await env.queueDepths())['pulse.status.dlq'] >= 1 && (await env.queueDepths())['pulse.sentiment.dlq'] >= 1, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // last spans and log lines

    // The corpora.
    const logs = env.logs.join('\n');
    const spans = otlp.bodies.join('\n');
    const metrics = (await Promise.all(SERVICE_NAMES.map(async (name) => (await fetch(`${env.mesh.url(name)}/metrics`)).text()))).join('\n');
    const deadLetters = (await api.notification.listDeadLetters({ pageSize: 200, includeReplayed: true })).deadLetters;
    const deliveryReasons = (
      await Promise.all(
        [okId, refusedId].map(async (id) => (await api.notification.getNotification({ lookup: { case: 'notificationId', value: id } })).notification?.deliveries ?? []),
      )
    )
      .flat()
      .map((d) => d.reason);
    const brokerReasons: string[] = [];
    const drain = await RawBroker.open(env.vhost);
    try {
      for (const [queue] of Object.entries(await env.queueDepths()).filter(([q]) => q.endsWith('.dlq'))) {
        brokerReasons.push(...(await drain.drain(queue)).map((l) => l.reason));
      }
    } finally {
      await drain.close();
    }
    const corpora: Record<string, string> = {
      'log lines': logs,
      'exported spans (OTLP)': spans,
      'metrics (/metrics of every service)': metrics,
      'dead letters (ListDeadLetters)': JSON.stringify(deadLetters.map((d) => ({ reason: d.reason, provider: d.provider }))),
      'delivery reasons (GetNotification)': deliveryReasons.join('\n'),
      'broker dead-letter reasons': brokerReasons.join('\n'),
    };

    // The search, and what it searched: the data must have gone through, and each corpus must hold something.
    const rows: string[] = [];
    const leaks: string[] = [];
    for (const [name, text] of Object.entries(corpora)) {
      const found = MARKERS.filter((m) => text.includes(m));
      rows.push(`  ${name.padEnd(38)} ${String(text.length).padStart(9)} chars  ${found.length === 0 ? 'clean' : `LEAKS ${found.join(', ')}`}`);
      for (const marker of found) {
        const at = text.indexOf(marker);
        leaks.push(`${name}: "${marker}" in …${text.slice(Math.max(0, at - 200), at + 80).replace(/\s+/g, ' ')}…`);
      }
    }
    console.log(`personal data: searched ${env.logs.length} log lines, ${otlp.spans.length} spans, ${deadLetters.length} dead letters, ${brokerReasons.length} broker dead letters\n${rows.join('\n')}`);
    for (const leak of leaks) console.log(`LEAK ${leak}`);
    if (process.env.PULSE_PD_SHOW_LOGS) console.log(env.logs.join('\n'));

    // Pulse has no debug-level calls today; LOG_LEVEL=debug makes sure any that are added later are searched too.
    expect(env.logs.filter((l) => l.includes('"level":')).length, 'log lines were written').toBeGreaterThan(10);
    expect(otlp.spans.length, 'spans were exported').toBeGreaterThan(50);
    expect(otlp.spans.some((s) => s.name.endsWith('/SendNotification')), 'SendNotification spans').toBe(true);
    expect(failedDeliveries.map((d) => d.channel).sort()).toEqual([Channel.EMAIL, Channel.SMS]);
    expect(deadLetters.filter((d) => d.notificationId === refusedId)).toHaveLength(2);
    expect(brokerReasons.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(twilio.requests.map((r) => r.body)), 'the SMS carried the phone number').toContain(PERSON.phoneDigits);
    expect(smtp.received.some((m) => m.envelope.to.includes(PERSON.email)), 'the email reached the SMTP server').toBe(true);
    expect(leaks).toEqual([]);
  }, 300_000);
});
