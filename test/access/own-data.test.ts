// Users read only their own inbox, notifications' status and preferences, over the whole mesh: a notification is
// sent to alice; alice, a second identity acting for alice (user=alice), bob, a reviewer, a client and holders of
// the ":any" scopes try to read and change what is hers. Prints who got what.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { until } from '../support/poll.js';
import { identities } from './support.js';

const callers = identities({
  ops: 'admin',
  alice: 'user',
  'alice-web': 'user+user=alice',
  bob: 'user',
  ann: 'reviewer',
  crm: 'client',
  support: 'user+inbox:any+status:any',
  'pref-admin': 'preferences:read+preferences:write+preferences:any',
  lead: 'user+inbox=reviewers',
});
type Who = keyof typeof callers.tokens;

let mesh: Mesh;
const as = {} as Record<Who, MeshClients>;
let notificationId = '';

beforeAll(async () => {
  mesh = await startMesh({ ports: 'free', env: { ...process.env, PULSE_API_TOKENS: callers.spec, LOG_LEVEL: 'silent' } });
  for (const who of Object.keys(callers.tokens) as Who[]) as[who] = meshClients(mesh.urls, callers.tokens[who]);
  const { notification } = await as.crm.notification.sendNotification({
    idempotencyKey: 'access/own-data-1',
    recipient: { target: { case: 'userId', value: 'alice' } },
    notificationType: 'access.test',
    content: { title: 'For alice only' },
  });
  notificationId = notification!.notificationId;
  await until("alice's in-app delivery", async () => {
    const { status } = await as.ops.status.getStatus({ notificationId });
    return status?.deliveries.some((d) => d.channel === Channel.IN_APP && d.state === DeliveryState.DELIVERED);
  });
});

afterAll(() => mesh?.stop());

async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    const e = ConnectError.from(err);
    return e.code === Code.PermissionDenied ? `denied: ${e.rawMessage}` : `${Code[e.code]}: ${e.rawMessage}`;
  }
}

function check(what: string, who: Who, result: string, allowed: boolean, scope?: string) {
  console.log(`${what.padEnd(34)} as ${who.padEnd(10)} -> ${result}`);
  if (allowed) expect(result, `${who}: ${what}`).toBe('ok');
  else {
    expect(result, `${who}: ${what}`).toMatch(new RegExp(`^denied: caller "${who}" may use only the .*needs scope "${scope}"$`));
  }
}

describe('inbox', () => {
  it.each<[Who, boolean]>([
    ['alice', true],
    ['alice-web', true],
    ['support', true],
    ['ops', true],
    ['bob', false],
    ['ann', false],
    ['lead', false],
  ])("ListInbox(alice) as %s", async (who, allowed) => {
    const result = await outcome(async () => {
      const { items } = await as[who].status.listInbox({ userId: 'alice' });
      expect(items.map((i) => i.notificationId)).toContain(notificationId);
    });
    check('ListInbox(alice)', who, result, allowed, 'inbox:any');
  });

  it.each<[Who, boolean]>([
    ['ann', true],
    ['lead', true],
    ['alice', false],
  ])('ListInbox(reviewers), a shared inbox, as %s', async (who, allowed) => {
    check('ListInbox(reviewers)', who, await outcome(() => as[who].status.listInbox({ userId: 'reviewers' })), allowed, 'inbox:any');
  });

  it("MarkRead in alice's inbox: bob may not, alice may", async () => {
    check('MarkRead(alice)', 'bob', await outcome(() => as.bob.status.markRead({ userId: 'alice', notificationIds: [notificationId] })), false, 'inbox:any');
    const { markedCount } = await as.alice.status.markRead({ userId: 'alice', notificationIds: [notificationId] });
    console.log(`${'MarkRead(alice)'.padEnd(34)} as alice      -> ok, marked ${markedCount}`);
    expect(markedCount).toBe(1);
  });
});

describe("a notification's status", () => {
  it.each<[Who, boolean]>([
    ['alice', true],
    ['alice-web', true],
    ['crm', true],
    ['support', true],
    ['bob', false],
    ['ann', false],
  ])("GetStatus(alice's notification) as %s", async (who, allowed) => {
    check("GetStatus(alice's)", who, await outcome(() => as[who].status.getStatus({ notificationId })), allowed, 'status:any');
  });

  it.each<[Who, 'userId' | 'notificationId', boolean]>([
    ['alice', 'userId', true],
    ['alice', 'notificationId', true],
    ['support', 'userId', true],
    ['bob', 'userId', false],
    ['bob', 'notificationId', false],
  ])('WatchStatus(%s by %s)', async (who, by, allowed) => {
    const subject = by === 'userId' ? { case: 'userId' as const, value: 'alice' } : { case: 'notificationId' as const, value: notificationId };
    const result = await outcome(async () => {
      try {
        for await (const _ of as[who].status.watchStatus({ subject }, { timeoutMs: 400 })) break;
      } catch (err) {
        // Let in and left waiting: the deadline ends the watch.
        if (ConnectError.from(err).code !== Code.DeadlineExceeded) throw err;
      }
    });
    check(`WatchStatus(${by} of alice)`, who, result, allowed, 'status:any');
  });

  it('WatchStatus of a notification status has not heard of is nobody\'s own', async () => {
    const result = await outcome(async () => {
      for await (const _ of as.alice.status.watchStatus({ subject: { case: 'notificationId', value: 'ntf_never_sent' } }, { timeoutMs: 400 })) break;
    });
    check('WatchStatus(unknown notification)', 'alice', result, false, 'status:any');
  });
});

describe('preferences', () => {
  const update = (who: Who, userId: string) =>
    outcome(() => as[who].preference.updatePreferences({ preferences: { userId, timeZone: 'Europe/Paris' }, updateMask: { paths: ['time_zone'] } }));

  it.each<[Who, boolean]>([
    ['alice', true],
    ['alice-web', true],
    ['pref-admin', true],
    ['ops', true],
    ['bob', false],
    ['support', false],
    ['crm', false],
  ])('GetPreferences(alice) and UpdatePreferences(alice) as %s', async (who, allowed) => {
    const read = await outcome(() => as[who].preference.getPreferences({ userId: 'alice' }));
    const write = await update(who, 'alice');
    if (who === 'crm') {
      // A client has no preference scopes at all: refused by the RPC scope check before any per-user rule.
      expect(read).toMatch(/^denied: caller "crm" may not call .*GetPreferences: it needs scope "preferences:read"$/);
      expect(write).toMatch(/^denied: caller "crm" may not call .*UpdatePreferences: it needs scope "preferences:write"$/);
      return;
    }
    check('GetPreferences(alice)', who, read, allowed, 'preferences:any');
    check('UpdatePreferences(alice)', who, write, allowed, 'preferences:any');
  });

  it("subscribes only oneself to alert topics, unless preferences:any", async () => {
    const subscribe = (who: Who) => outcome(() => as[who].preference.updateTopicSubscriptions({ userId: 'alice', subscribe: ['sales'] }));
    check('UpdateTopicSubscriptions(alice)', 'alice', await subscribe('alice'), true);
    check('UpdateTopicSubscriptions(alice)', 'bob', await subscribe('bob'), false, 'preferences:any');
    check('ListTopicSubscriptions(alice)', 'bob', await outcome(() => as.bob.preference.listTopicSubscriptions({ userId: 'alice' })), false, 'preferences:any');
    check('ListTopicSubscriptions(alice)', 'pref-admin', await outcome(() => as['pref-admin'].preference.listTopicSubscriptions({ userId: 'alice' })), true);
  });

  it('a shared inbox grants no preferences', async () => {
    check('GetPreferences(reviewers)', 'ann', await outcome(() => as.ann.preference.getPreferences({ userId: 'reviewers' })), false, 'preferences:any');
    check('GetPreferences(ann)', 'ann', await outcome(() => as.ann.preference.getPreferences({ userId: 'ann' })), true);
  });
});
