// Escalation ladders through a kill -9 of notification. The mesh runs as six processes on RabbitMQ with journalled
// stores and a real SMTP server on loopback. Notifications with a two-step email ladder are sent; once every first
// step went out, notification is killed with SIGKILL and started again after the second steps' time has passed.
// Some notifications are read while it is down. Afterwards every unread notification got each step exactly once
// (the SMTP server's messages are counted), and the read ones only the first: nothing lost, nothing sent twice.
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { Notification } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { mailsOf } from '../delivery/support.js';
import { describeBroker } from '../support/broker.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { until } from '../support/poll.js';
import { type SmtpStandIn, startSmtpServer } from '../support/smtp-server.js';
import { type IsolatedMesh, startIsolatedMesh } from './support.js';

const NOTIFICATIONS = 12;
/** Every third one is read while notification is down. */
const isRead = (i: number) => i % 3 === 0;
const STEPS_MS = [2_000, 8_000];
const TYPE = 'account.alert';

describeBroker('escalation ladders through a kill -9 of notification', () => {
  let env: IsolatedMesh;
  let api: MeshClients;
  let smtp: SmtpStandIn;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    env = await startIsolatedMesh({
      SMTP_HOST: smtp.host,
      SMTP_PORT: String(smtp.port),
      SMTP_SECURE: 'false',
      EMAIL_FROM: 'Pulse <pulse@example.com>',
      NOTIFICATION_SCHEDULER_INTERVAL_MS: '100',
    });
    api = meshClients(env.mesh.urls, env.mesh.token);
  }, 180_000);

  afterAll(async () => {
    await env?.stop();
    await smtp?.close();
  }, 60_000);

  it('loses no step and sends none twice', async () => {
    const run = `${process.pid}-${Date.now().toString(36)}`;
    const users = Array.from({ length: NOTIFICATIONS }, (_, i) => `ladder-${run}-${i}`);
    for (const userId of users) {
      await api.preference.updatePreferences({
        preferences: { userId, contacts: { email: `${userId}@example.com` }, typeChannels: [{ notificationType: TYPE, channels: [Channel.IN_APP] }] },
        updateMask: { paths: ['contacts', 'type_channels'] },
      });
    }
    const sent: Notification[] = [];
    for (const [i, userId] of users.entries()) {
      const { notification } = await api.notification.sendNotification({
        idempotencyKey: `ladder-${run}-${i}`,
        recipient: { target: { case: 'userId', value: userId } },
        notificationType: TYPE,
        content: { title: `Alert ${i}` },
        escalation: STEPS_MS.map((ms) => ({ channel: Channel.EMAIL, after: durationFromMs(ms) })),
      });
      sent.push(notification!);
    }
    const lastAcceptedAt = Date.now();
    const get = async (n: Notification) =>
      (await api.notification.getNotification({ lookup: { case: 'notificationId', value: n.notificationId } })).notification!;
    await until(
      'every first step sent',
      async () => (await Promise.all(sent.map(get))).every((n) => n.deliveries.find((d) => d.escalationStep === 1)?.state === DeliveryState.SENT),
      30_000,
    );
    expect(Date.now() - lastAcceptedAt, 'killed before the second steps are due').toBeLessThan(STEPS_MS[1] - 1_000);

    await env.mesh.kill('notification'); // SIGKILL: no goodbye; the second steps wait in its journalled store
    for (const [i, n] of sent.entries()) {
      if (isRead(i)) await api.status.markRead({ userId: users[i], notificationIds: [n.notificationId] });
    }
    // The second steps' time passes while it is down.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastAcceptedAt + STEPS_MS[1] + 500 - Date.now())));
    await env.mesh.startService('notification');

    const settled = await until(
      'every step sent or cancelled',
      async () => {
        const all = await Promise.all(sent.map(get));
        const steps = all.flatMap((n) => n.deliveries.filter((d) => d.escalationStep > 0));
        return steps.every((d) => d.state === DeliveryState.SENT || d.state === DeliveryState.CANCELLED) && all;
      },
      60_000,
    );
    // Give a duplicate, were there one, the time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const figures = { unread: 0, read: 0, mails: 0 };
    for (const [i, n] of settled.entries()) {
      const steps = n.deliveries.filter((d) => d.escalationStep > 0);
      expect(steps.map((d) => d.escalationStep)).toEqual([1, 2]);
      figures.mails += mailsOf(smtp, n.notificationId).length;
      if (isRead(i)) {
        figures.read++;
        expect(steps.map((d) => [DeliveryState[d.state], d.reason])).toEqual([
          ['SENT', ''],
          ['CANCELLED', 'read before this step'],
        ]);
        expect(mailsOf(smtp, n.notificationId)).toHaveLength(1);
      } else {
        figures.unread++;
        expect(steps.map((d) => DeliveryState[d.state])).toEqual(['SENT', 'SENT']);
        // One provider call per step, one message each.
        expect(steps.map((d) => d.attempts)).toEqual([1, 1]);
        expect(mailsOf(smtp, n.notificationId)).toHaveLength(2);
      }
    }
    const expected = figures.unread * 2 + figures.read;
    const { unread, read, mails: total } = figures;
    console.log(`escalation through kill -9: ${unread} unread and ${read} read notifications got ${total} emails (expected ${expected})`);
    expect(figures.mails).toBe(expected);
  }, 180_000);
});
