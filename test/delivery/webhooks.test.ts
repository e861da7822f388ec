// Status webhooks through the embedded mesh: every delivery state change reaches a registered endpoint as a signed
// message, at least once, in order per notification, through failures and retries; an endpoint that keeps failing
// fills the dead letters, and a replay delivers them once it is back.
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryState as S } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { newWebhookSecret } from '../../services/status/webhooks/signature.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { until } from '../support/poll.js';
import { rejectionOf } from '../support/rejection.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let mesh: Mesh;
let api: MeshClients;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  mesh = await startMesh({
    ports: 'free',
    env: {
      ...process.env,
      PULSE_API_TOKENS: undefined,
      LOG_LEVEL: 'error',
      // The receivers listen on loopback over plain HTTP.
      PULSE_WEBHOOK_ALLOW_HTTP: 'true',
      PULSE_WEBHOOK_ALLOW_PRIVATE: 'true',
      PULSE_WEBHOOK_POLL_MS: '50',
      PULSE_WEBHOOK_BACKOFF_MS: '40',
      PULSE_WEBHOOK_MAX_ATTEMPTS: '4',
      PULSE_WEBHOOK_TIMEOUT_MS: '300',
    },
  });
  api = meshClients(mesh.urls, mesh.token);
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  await mesh?.stop();
});

async function receiver(mode: Parameters<typeof startWebhookReceiver>[1], notificationTypes: string[]) {
  const secret = newWebhookSecret();
  const started = await startWebhookReceiver(secret, mode);
  receivers.push(started);
  const { endpoint } = await api.status.createWebhookEndpoint({ endpoint: { url: started.url, notificationTypes }, secret });
  return { receiver: started, endpointId: endpoint!.endpointId };
}

/** Sends n in-app notifications of a type and marks each read: every delivery goes ACCEPTED, SENT, DELIVERED, READ. */
async function sendAndRead(type: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { notification } = await api.notification.sendNotification({
      idempotencyKey: `${type}/${i}`,
      recipient: { target: { case: 'userId', value: `${type}-user` } },
      notificationType: type,
      content: { title: `Item ${i}`, body: 'Body text' },
    });
    ids.push(notification!.notificationId);
  }
  await until('every item in the inbox', async () => (await api.status.listInbox({ userId: `${type}-user` })).items.length === n);
  await api.status.markRead({ userId: `${type}-user`, notificationIds: ids });
  return ids;
}

const statesOf = (r: WebhookReceiver, notificationId: string) =>
  r.accepted.filter((m) => m.body.data.notification_id === notificationId).map((m) => m.body.data.state);

describe('status webhooks', () => {
  it('delivers every state change signed, once, in order per notification, through failed first attempts', async () => {
    const { receiver: flaky } = await receiver({ kind: 'fail-first', attempts: 1 }, ['webhook.flaky']);
    const { receiver: other } = await receiver({ kind: 'accept' }, ['webhook.other']); // filtered: hears nothing here
    const ids = await sendAndRead('webhook.flaky', 12);

    await until('every change of every notification', () => ids.every((id) => statesOf(flaky, id).includes('READ')), { timeout: 30_000 });
    for (const id of ids) expect(statesOf(flaky, id), id).toEqual(['ACCEPTED', 'SENT', 'DELIVERED', 'READ']);
    const perId = new Map<string, number>();
    for (const m of flaky.accepted) perId.set(m.id, (perId.get(m.id) ?? 0) + 1);
    console.log(
      `webhooks: ${flaky.accepted.length} messages accepted for ${ids.length} notifications, ${[...flaky.attempts.values()].reduce((a, b) => a + b, 0)} requests, duplicates ${[...perId.values()].filter((c) => c > 1).length}, forged ${flaky.forged}`,
    );
    expect([...perId.values()].every((count) => count === 1)).toBe(true);
    expect([...flaky.attempts.values()].every((count) => count === 2)).toBe(true); // one 500, then accepted
    expect(flaky.forged).toBe(0);
    expect(flaky.accepted[0].body).toMatchObject({ type: 'delivery.state_changed', data: { notification_type: 'webhook.flaky', channel: 'IN_APP' } });
    expect(JSON.stringify(flaky.accepted)).not.toContain('Body text'); // no message text leaves in a webhook
    expect(other.accepted).toEqual([]);
  });

  /** The endpoint's dead letters once there are four (one message per state of one notification). */
  async function fourDeadLetters(endpointId: string, what: string) {
    const { deadLetters } = await until(
      what,
      async () => {
        const listed = await api.status.listWebhookDeadLetters({ endpointId });
        return listed.deadLetters.length === 4 && listed;
      },
      { timeout: 30_000 },
    );
    return deadLetters;
  }

  it('dead-letters what an endpoint keeps refusing, and delivers it on replay', async () => {
    const { receiver: down, endpointId } = await receiver({ kind: 'fail' }, ['webhook.down']);
    const [id] = await sendAndRead('webhook.down', 1);
    const deadLetters = await fourDeadLetters(endpointId, 'four dead letters');
    expect(deadLetters.map((d) => [d.state, d.attempts, d.lastError])).toEqual([
      [S.ACCEPTED, 4, 'HTTP 500'],
      [S.SENT, 4, 'HTTP 500'],
      [S.DELIVERED, 4, 'HTTP 500'],
      [S.READ, 4, 'HTTP 500'],
    ]);

    down.mode = { kind: 'accept' };
    expect((await api.status.replayWebhookDeadLetters({ endpointId })).replayed).toBe(4);
    await until('the replayed messages', () => statesOf(down, id).length === 4, { timeout: 30_000 });
    expect(statesOf(down, id)).toEqual(['ACCEPTED', 'SENT', 'DELIVERED', 'READ']);
    expect((await api.status.listWebhookDeadLetters({ endpointId })).deadLetters).toEqual([]);
  });

  it('gives up on an endpoint that does not answer within the timeout', async () => {
    const { endpointId } = await receiver({ kind: 'hang' }, ['webhook.hang']);
    await sendAndRead('webhook.hang', 1);
    const deadLetters = await fourDeadLetters(endpointId, 'the timed-out messages to be dead-lettered');
    expect(deadLetters[0].lastError).toBe('timeout after 300 ms');
  });

  it('refuses a malformed registration, naming the field', async () => {
    const err = await rejectionOf(api.status.createWebhookEndpoint({ endpoint: { url: 'ftp://example.com/x', states: [99 as S] }, secret: 'nope' }));
    expect(err.code).toBe(Code.InvalidArgument);
    for (const field of ['endpoint.url: must be an http or https URL', 'endpoint.states[0]: must be one of', 'secret: must be "whsec_"']) {
      expect(err.rawMessage).toContain(field);
    }
  });
});
