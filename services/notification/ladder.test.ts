// The rules of escalation ladders: what a request's ladder may be, default ladders from settings, which ladder a
// notification follows, and how a step is planned from preference's answer.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { EscalationStepSchema } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { DeliveryDecision, DeliveryPlanSchema, RouteKind, SuppressionReason } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type InvalidRequest, Validator } from '../platform/validate.js';
import { fingerprint, type FingerprintInput } from './fingerprint.js';
import { checkEscalation, DEFAULT_LADDERS, ladderFor, ladderOf, parseLadders } from './ladder.js';
import type { NotificationDoc } from './notifications.js';
import { planDeliveries } from './planning.js';

const step = (channel: Channel, afterMs: number) => create(EscalationStepSchema, { channel, after: durationFromMs(afterMs) });

function problems(steps: ReturnType<typeof step>[]): string[] {
  const v = new Validator();
  checkEscalation(v, 'escalation', steps);
  try {
    v.check();
    return [];
  } catch (err) {
    return (err as InvalidRequest).violations.map(({ field, problem }) => `${field}: ${problem}`);
  }
}

describe('checkEscalation', () => {
  it('accepts up to five steps in increasing order between 1 s and 7 days', () => {
    expect(problems([step(Channel.EMAIL, 1_000), step(Channel.SMS, 7 * 24 * 3_600_000)])).toEqual([]);
    expect(ladderOf([step(Channel.EMAIL, 600_000), step(Channel.SMS, 2_400_000)])).toEqual([
      { channel: Channel.EMAIL, afterMs: 600_000 },
      { channel: Channel.SMS, afterMs: 2_400_000 },
    ]);
  });

  it('names the field of each problem', () => {
    expect(problems([step(Channel.EMAIL, 999)])).toEqual(['escalation[0].after: must be between 1s and 7 days (got 0.999s)']);
    expect(problems([step(Channel.EMAIL, 2_000), step(Channel.SMS, 2_000)])).toEqual([
      'escalation[1].after: must be later than the step before (2s)',
    ]);
    expect(problems([step(Channel.UNSPECIFIED, 2_000)])[0]).toMatch(/^escalation\[0\]\.channel: must be one of CHANNEL_EMAIL/);
    expect(problems([create(EscalationStepSchema, { channel: Channel.EMAIL })])).toEqual(['escalation[0].after: is required']);
    expect(problems([1, 2, 3, 4, 5, 6].map((i) => step(Channel.EMAIL, i * 1_000)))[0]).toMatch(/^escalation: /);
  });
});

describe('default ladders', () => {
  it('parses the built-in default: review cases go to email after 10 minutes, SMS 30 minutes later', () => {
    const ladders = parseLadders(DEFAULT_LADDERS);
    expect(ladders).toEqual(
      new Map([
        [
          'review.required',
          [
            { channel: Channel.EMAIL, afterMs: 600_000 },
            { channel: Channel.SMS, afterMs: 2_400_000 },
          ],
        ],
      ]),
    );
  });

  it('says what is wrong with a setting', () => {
    expect(parseLadders('nope')).toMatch(/must be JSON/);
    expect(parseLadders('{"a": []}')).toMatch(/"a" must list 1-5 steps/);
    expect(parseLadders('{"a": [{"channel": "FAX", "after": "1s"}]}')).toMatch(/"a"\[0\]\.channel must be one of/);
    expect(parseLadders('{"a": [{"channel": "SMS", "after": "10m"}]}')).toMatch(/"a"\[0\]\.after must be a duration/);
    expect(parseLadders('{"a": [{"channel": "SMS", "after": "5s"}, {"channel": "EMAIL", "after": "2s"}]}')).toMatch(/later than the step before/);
  });

  it('applies a type default to HIGH and CRITICAL notifications without a ladder of their own', () => {
    const defaults = new Map([['review.required', [{ channel: Channel.EMAIL, afterMs: 600_000 }]]]);
    const own = [{ channel: Channel.SLACK, afterMs: 5_000 }];
    expect(ladderFor([], defaults, 'review.required', Priority.HIGH)).toEqual(defaults.get('review.required'));
    expect(ladderFor([], defaults, 'review.required', Priority.CRITICAL)).toEqual(defaults.get('review.required'));
    expect(ladderFor([], defaults, 'review.required', Priority.MEDIUM)).toEqual([]);
    expect(ladderFor([], defaults, 'invoice.overdue', Priority.CRITICAL)).toEqual([]);
    expect(ladderFor(own, defaults, 'review.required', Priority.LOW)).toEqual(own);
  });
});

describe('fingerprint', () => {
  const base: FingerprintInput = {
    recipient: { userId: 'u1' },
    notificationType: 'a.b',
    priority: Priority.MEDIUM,
    content: { title: 't', body: '', data: {} },
    expiresAt: null,
    routeKind: RouteKind.PRIMARY,
  };

  it('tells requests with different ladders apart, and leaves requests without one as they were', () => {
    expect(fingerprint({ ...base, escalation: [] })).toBe(fingerprint(base));
    const email = fingerprint({ ...base, escalation: [{ channel: Channel.EMAIL, afterMs: 1_000 }] });
    expect(email).not.toBe(fingerprint(base));
    expect(email).not.toBe(fingerprint({ ...base, escalation: [{ channel: Channel.EMAIL, afterMs: 2_000 }] }));
  });
});

describe('planning a step', () => {
  const acceptedAt = new Date('2026-03-02T10:00:00Z');
  const dueAt = new Date('2026-03-02T10:10:00Z');
  const notification: NotificationDoc = {
    _id: 'ntf_1',
    idempotencyKey: 'k',
    fingerprint: 'f',
    recipient: { userId: 'u1' },
    notificationType: 'a.b',
    priority: Priority.LOW,
    routeKind: RouteKind.PRIMARY,
    content: { title: 't', body: '', data: {} },
    source: 'tester',
    causeId: '',
    createdAt: acceptedAt,
    expiresAt: null,
  };
  const plan = (decision: DeliveryDecision, deliverAt?: Date) =>
    create(DeliveryPlanSchema, {
      channel: Channel.EMAIL,
      address: decision === DeliveryDecision.SUPPRESS ? '' : 'a@example.com',
      userId: 'u1',
      decision,
      deliverAt: deliverAt ? timestampFromDate(deliverAt) : undefined,
      suppressionReason: decision === DeliveryDecision.SUPPRESS ? SuppressionReason.NO_CONTACT : SuppressionReason.UNSPECIFIED,
    });
  const options = { now: acceptedAt, providerName: () => 'smtp', digestWindowMs: 60_000, step: { index: 2, dueAt } };

  it('waits until its time, never in a digest even when LOW', () => {
    const [d] = planDeliveries(notification, [plan(DeliveryDecision.DELIVER_NOW, dueAt)], options);
    expect(d).toMatchObject({ state: DeliveryState.DEFERRED, attempt: 1, dueAt, reason: 'escalation step 2', escalationStep: 2 });
    expect(d).toMatchObject({ digestKey: null, jobId: null });
  });

  it('waits for the end of quiet hours that cover its time', () => {
    const end = new Date('2026-03-02T17:00:00Z');
    const [d] = planDeliveries(notification, [plan(DeliveryDecision.DEFER, end)], options);
    expect(d).toMatchObject({ state: DeliveryState.DEFERRED, dueAt: end, reason: 'quiet hours', escalationStep: 2 });
  });

  it('is suppressed without an address, naming its step', () => {
    const [d] = planDeliveries(notification, [plan(DeliveryDecision.SUPPRESS)], options);
    expect(d).toMatchObject({ state: DeliveryState.SUPPRESSED, reason: 'no contact for this channel', escalationStep: 2 });
  });
});
