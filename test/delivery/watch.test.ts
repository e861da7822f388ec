// WatchStatus as users call it: Connect server streaming over plain HTTP/1.1 with hand-made envelopes (what curl
// sends), the real curl, gRPC over h2c with @grpc/grpc-js, and the typed Connect client watching a user. Slack is
// held "busy" (its requests wait at the tap) until the stream has delivered its first message, so every stream
// starts while a delivery is in flight and has changes to report, however slow the machine.
//
// The curl command (the README shows it); the request body is one Connect envelope: a flag byte (0), the JSON
// length as 4 bytes big-endian, then the JSON:
//
//   body='{"notificationId":"ntf_..."}'
//   perl -e 'print pack("CN", 0, length $ARGV[0]), $ARGV[0]' "$body" |
//     curl -sS -N --http1.1 http://localhost:8086/pulse.status.v1.StatusService/WatchStatus \
//       -H 'Content-Type: application/connect+json' -H "Authorization: Bearer $PULSE_TOKEN" \
//       --data-binary @- --output -
//
// The answer is a series of envelopes of the same shape, each holding {"status": {...}}: the current status first,
// then one per change; the last envelope has flag 0x02 (end of stream) and holds {} or {"error": {...}}.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { NotificationStatus } from '../../gen/pulse/status/v1/status_service_pb.js';
import { bash, type ConnectFrame, END_STREAM, FrameReader, hasProgram, hold, type Rig, rawConnectStream, startRig, unique } from './support.js';

let rig: Rig;
let userId: string;
const TYPE = 'watch.sample';

beforeAll(async () => {
  rig = await startRig();
  userId = unique('watcher');
  await rig.api.preference.updatePreferences({
    preferences: { userId, contacts: { email: 'watcher@example.com', slackUserId: 'U0WATCH0001' }, typeChannels: [{ notificationType: TYPE, channels: [Channel.EMAIL, Channel.SLACK] }] },
    updateMask: { paths: ['contacts', 'type_channels'] },
  });
});

afterAll(async () => {
  await rig?.stop();
});

/** Sends one notification whose Slack post waits at the tap until release() (email goes out at once). */
async function sendHeld(): Promise<{ id: string; sentAt: number; release: () => void }> {
  const release = hold(rig.slackTap);
  try {
    const { notification } = await rig.api.notification.sendNotification({
      idempotencyKey: unique('watch'),
      recipient: { target: { case: 'userId', value: userId } },
      notificationType: TYPE,
      priority: Priority.HIGH,
      content: { title: unique('Watch me'), body: 'A status to follow.' },
    });
    return { id: notification!.notificationId, sentAt: Date.now(), release };
  } catch (err) {
    release();
    throw err;
  }
}

type JsonStatus = { notificationId: string; state: string; deliveries: { channel: string; state: string; history: unknown[] }[] };

const SETTLED_JSON = new Set(['DELIVERY_STATE_SENT', 'DELIVERY_STATE_DELIVERED', 'DELIVERY_STATE_FAILED', 'DELIVERY_STATE_DEAD_LETTERED']);
const settledJson = (s: JsonStatus) => s.deliveries.length === 2 && s.deliveries.every((d) => SETTLED_JSON.has(d.state));

/** Checks a notification stream read from raw envelopes: current status first, changes, then a clean end. */
function checkStream(frames: ConnectFrame[], id: string): JsonStatus[] {
  const messages = frames.filter((f) => f.flags === 0).map((f) => (f.json as { status: JsonStatus }).status);
  const end = frames[frames.length - 1];
  expect(end.flags).toBe(END_STREAM);
  expect(end.json.error).toBeUndefined();
  expect(frames.filter((f) => f.flags !== 0)).toHaveLength(1);
  expect(messages.length).toBeGreaterThanOrEqual(2);
  expect(messages.every((m) => m.notificationId === id)).toBe(true);
  // The first message is the status as it was when the stream opened: the slow Slack post was still out.
  expect(settledJson(messages[0])).toBe(false);
  expect(settledJson(messages[messages.length - 1])).toBe(true);
  const last = messages[messages.length - 1];
  expect(last.state).toBe('DELIVERY_STATE_DELIVERED');
  expect(Object.fromEntries(last.deliveries.map((d) => [d.channel, d.state]))).toEqual({
    CHANNEL_EMAIL: 'DELIVERY_STATE_SENT',
    CHANNEL_SLACK: 'DELIVERY_STATE_DELIVERED',
  });
  // Only forward: each delivery's history only grows from message to message.
  for (let i = 1; i < messages.length; i++) {
    for (const d of messages[i].deliveries) {
      const before = messages[i - 1].deliveries.find((p) => p.channel === d.channel);
      expect(d.history.length).toBeGreaterThanOrEqual(before?.history.length ?? 0);
    }
  }
  return messages;
}

describe('WatchStatus over Connect streaming on HTTP/1.1', () => {
  it('streams the current status, then each change until settled, then the end-of-stream frame (raw envelopes)', async () => {
    const { id, sentAt, release } = await sendHeld();
    try {
      const result = await rawConnectStream(rig.mesh.urls.status, '/pulse.status.v1.StatusService/WatchStatus', rig.mesh.token, { notificationId: id }, () =>
        release(),
      );
      expect(result.status).toBe(200);
      expect(result.headers['content-type']).toBe('application/connect+json');
      expect(result.leftover).toBe(0);
      const messages = checkStream(result.frames, id);
      const ended = result.frames[result.frames.length - 1].at - sentAt;
      console.log(
        `[delivery] WatchStatus (raw HTTP/1.1 Connect): ${messages.length} messages, end of stream ${ended} ms after sending; states: ` +
          messages.map((m) => m.deliveries.map((d) => `${d.channel.replace('CHANNEL_', '')}=${d.state.replace('DELIVERY_STATE_', '')}`).join('/')).join(' -> '),
      );
    } finally {
      release();
    }
  });

  it.runIf(process.platform !== 'win32')('gives the same stream to the real curl command shown in the README', async () => {
    if (!(await hasProgram('curl')) || !(await hasProgram('perl'))) {
      console.log('[delivery] curl or perl not installed: the curl variant of WatchStatus was not run');
      return;
    }
    const { id, release } = await sendHeld();
    const script = `
      body='{"notificationId":"'"$NID"'"}'
      perl -e 'print pack("CN", 0, length $ARGV[0]), $ARGV[0]' "$body" |
        curl -sS -N --http1.1 "$STATUS_URL/pulse.status.v1.StatusService/WatchStatus" \\
          -H 'Content-Type: application/connect+json' -H "Authorization: Bearer $PULSE_TOKEN" \\
          --data-binary @- --output -`;
    const reader = new FrameReader();
    try {
      await bash(script, { NID: id, STATUS_URL: rig.mesh.urls.status, PULSE_TOKEN: rig.mesh.token }, (chunk) => {
        if (reader.push(chunk).length > 0) release();
      });
    } finally {
      release();
    }
    expect(reader.leftover).toBe(0);
    const messages = checkStream(reader.frames, id);
    console.log(`[delivery] WatchStatus via curl: ${messages.length} messages and the end-of-stream frame`);
  });

  it('answers an unknown notification with not_found in the end-of-stream frame', async () => {
    const started = Date.now();
    const result = await rawConnectStream(rig.mesh.urls.status, '/pulse.status.v1.StatusService/WatchStatus', rig.mesh.token, { notificationId: 'ntf_never_sent' });
    // Status waits up to 10 s for a notification it has not heard of yet, then says not_found.
    expect(result.status).toBe(200);
    expect(result.frames).toHaveLength(1);
    expect(result.frames[0].flags).toBe(END_STREAM);
    expect((result.frames[0].json.error as { code: string }).code).toBe('not_found');
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
  }, 20_000);
});

describe('WatchStatus over gRPC (h2c, @grpc/grpc-js)', () => {
  it('streams the same statuses and ends with OK once settled', async () => {
    const definition = protoLoader.loadSync('pulse/status/v1/status_service.proto', {
      includeDirs: ['proto'],
      enums: String,
      longs: String,
      defaults: true,
      oneofs: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      pulse: { status: { v1: { StatusService: grpc.ServiceClientConstructor } } };
    };
    const client = new loaded.pulse.status.v1.StatusService(new URL(rig.mesh.urls.status).host, grpc.credentials.createInsecure());
    const { id, release } = await sendHeld();
    try {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${rig.mesh.token}`);
      const call = (client as unknown as { watchStatus: (req: object, md: grpc.Metadata) => grpc.ClientReadableStream<{ status: JsonStatus }> }).watchStatus(
        { notificationId: id },
        metadata,
      );
      const messages: JsonStatus[] = [];
      const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
        call.on('data', (message) => {
          messages.push(message.status);
          release();
        });
        call.on('status', resolve);
        call.on('error', reject);
      });
      expect(status.code).toBe(grpc.status.OK);
      expect(messages.length).toBeGreaterThanOrEqual(2);
      expect(settledJson(messages[0])).toBe(false);
      const last = messages[messages.length - 1];
      expect(last.notificationId).toBe(id);
      expect(last.state).toBe('DELIVERY_STATE_DELIVERED');
      expect(settledJson(last)).toBe(true);
      console.log(`[delivery] WatchStatus via gRPC: ${messages.length} messages, status ${grpc.status[status.code]}`);
    } finally {
      release();
      client.close();
    }
  });
});

describe('WatchStatus of a user with the typed Connect client', () => {
  it('reports a notification in flight until settled on the user stream, which stays open until the client leaves', async () => {
    const controller = new AbortController();
    const seen: NotificationStatus[] = [];
    let wanted = '';
    let release = () => {};
    const watching = (async () => {
      try {
        for await (const { status } of rig.api.status.watchStatus({ subject: { case: 'userId', value: userId } }, { signal: controller.signal, timeoutMs: 30_000 })) {
          seen.push(status!);
          if (wanted && status!.notificationId === wanted) release();
          if (wanted && status!.notificationId === wanted && status!.deliveries.length === 2 && status!.deliveries.every((d) => d.state === DeliveryState.SENT || d.state === DeliveryState.DELIVERED)) {
            controller.abort();
          }
        }
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      }
    })();
    // Whether the stream opens before or after the send, the notification shows: in its opening backlog of
    // in-flight notifications, or as changes.
    const sent = await sendHeld();
    const id = sent.id;
    release = sent.release;
    wanted = id;
    if (seen.some((s) => s.notificationId === id)) release();
    try {
      await Promise.race([
        watching,
        new Promise((_, reject) => setTimeout(() => reject(new Error('the user stream never reported the notification settled')), 15_000)),
      ]);
    } finally {
      release();
      controller.abort();
    }
    const mine = seen.filter((s) => s.notificationId === id);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine[mine.length - 1].state).toBe(DeliveryState.DELIVERED);
    expect(mine.some((s) => s.deliveries.some((d) => d.channel === Channel.SLACK && d.state !== DeliveryState.DELIVERED))).toBe(true);
    console.log(`[delivery] WatchStatus of a user: ${mine.length} messages for the notification until settled`);
  });
});
