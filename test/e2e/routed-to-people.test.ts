// Alert recipients are people: a topic route that names a group reaches each member through their own
// preferences, in the embedded mesh (one process, real HTTP). A member inside their quiet hours gets the alert
// deferred, another gets it now, and a change of preferences applies to the very next alert (notification drops
// its cached topic plans when a person's preferences change).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { RouteTargetKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { type MeshClients, meshClients, metricValue } from '../support/clients.js';
import { until } from '../support/poll.js';

let mesh: Mesh;
let api: MeshClients;

beforeAll(async () => {
  mesh = await startMesh({ ports: 'free', env: { ...process.env, PULSE_API_TOKENS: undefined, LOG_LEVEL: 'warn' } });
  api = meshClients(mesh.urls, mesh.token);
});

afterAll(() => mesh?.stop());

const clock = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
const preferenceEventsSeen = () => metricValue(mesh.urls.notification, 'pulse_events_consumed_total', { queue: 'pulse.notification.preference-changed' });

async function ask(requestId: string) {
  await api.ingestion.requestAssistance({ requestId, topic: 'deal-desk', description: 'A customer asks for a volume discount', botId: 'bot-1' });
  return until(`the deliveries of ${requestId}`, async () => {
    const { notification } = await api.notification.getNotification({ lookup: { case: 'idempotencyKey', value: `assistance/${requestId}` } });
    // Email (the console sink) settles at SENT; in-app is SENT once handed to the inbox (status tracks it further).
    if (!notification?.deliveries.every((d) => d.state === DeliveryState.DEFERRED || d.state >= DeliveryState.SENT)) return false;
    return notification.deliveries.map((d) => [d.userId, Channel[d.channel], DeliveryState[d.state]]).sort();
  });
}

it("delivers a topic's alert to each member of its group by their own channels and quiet hours", async () => {
  await api.preference.upsertGroup({ group: { name: 'deal-desk', userIds: ['dd-ann', 'dd-bob'] } });
  await api.preference.upsertTopicRoute({ route: { topic: 'deal-desk', targetKind: RouteTargetKind.GROUP, target: 'deal-desk' } });
  await api.preference.updatePreferences({
    preferences: { userId: 'dd-ann', contacts: { email: 'ann@example.com' }, defaultChannels: [Channel.EMAIL] },
    updateMask: { paths: ['contacts.email', 'default_channels'] },
  });

  expect(await ask('rtp-1')).toEqual([
    ['dd-ann', 'EMAIL', 'SENT'], // the console sink: no SMTP settings
    ['dd-bob', 'IN_APP', 'SENT'],
  ]);

  // Ann sets quiet hours around now; the next alert waits for their end, Bob's does not.
  const seen = await preferenceEventsSeen();
  const now = Date.now();
  await api.preference.updatePreferences({
    preferences: { userId: 'dd-ann', quietHours: { start: clock(new Date(now - 3_600_000)), end: clock(new Date(now + 3_600_000)) } },
    updateMask: { paths: ['quiet_hours'] },
  });
  await until('notification to hear of the change', async () => (await preferenceEventsSeen()) > seen);
  expect(await ask('rtp-2')).toEqual([
    ['dd-ann', 'EMAIL', 'DEFERRED'],
    ['dd-bob', 'IN_APP', 'SENT'],
  ]);
  const inbox = await until("both alerts in Bob's inbox", async () => {
    const { items } = await api.status.listInbox({ userId: 'dd-bob' });
    return items.length === 2 && items;
  });
  expect(inbox.map((item) => item.data.request_id).sort()).toEqual(['rtp-1', 'rtp-2']);
  const { notification } = await api.notification.getNotification({ lookup: { case: 'idempotencyKey', value: 'assistance/rtp-2' } });
  const deferred = notification!.deliveries.find((d) => d.userId === 'dd-ann')!;
  expect(Number(deferred.deliverAt!.seconds) * 1000).toBeGreaterThan(now + 3_500_000);
});
