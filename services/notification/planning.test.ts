import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryDecision, DeliveryPlanSchema, RouteKind, SuppressionReason } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import type { NotificationDoc } from './notifications.js';
import { planDeliveries } from './planning.js';

const now = new Date('2030-01-01T10:00:30Z');

function notification(priority = Priority.MEDIUM): NotificationDoc {
  return {
    _id: 'ntf_1',
    idempotencyKey: 'k',
    fingerprint: 'f',
    recipient: { userId: 'u1' },
    notificationType: 't',
    priority,
    routeKind: RouteKind.PRIMARY,
    content: { title: 't', body: '', data: {} },
    source: 'tester',
    causeId: '',
    createdAt: now,
    expiresAt: null,
  };
}

const options = { now, providerName: (c: Channel) => (c === Channel.IN_APP ? 'inbox' : 'fake'), digestWindowMs: 60_000 };

describe('planDeliveries', () => {
  it('queues deliver-now plans, records suppressed ones, defers quiet hours', () => {
    const later = new Date('2030-01-01T17:00:00Z');
    const [now1, suppressed, deferred] = planDeliveries(
      notification(),
      [
        create(DeliveryPlanSchema, { channel: Channel.EMAIL, address: 'a@example.com', decision: DeliveryDecision.DELIVER_NOW }),
        create(DeliveryPlanSchema, { channel: Channel.SMS, decision: DeliveryDecision.SUPPRESS, suppressionReason: SuppressionReason.NO_CONTACT }),
        create(DeliveryPlanSchema, { channel: Channel.SLACK, address: 'U1', decision: DeliveryDecision.DEFER, deliverAt: timestampFromDate(later) }),
      ],
      options,
    );
    expect(now1).toMatchObject({ state: DeliveryState.ACCEPTED, attempt: 0, provider: 'fake', userId: 'u1', dueAt: null });
    expect(now1.jobId).toMatch(/^job_/);
    expect(suppressed).toMatchObject({ state: DeliveryState.SUPPRESSED, reason: 'no contact for this channel', jobId: null });
    expect(deferred).toMatchObject({ state: DeliveryState.DEFERRED, attempt: 1, reason: 'quiet hours', dueAt: later, jobId: null, digestKey: null });
  });

  it('holds LOW deliveries for the digest window, in-app excepted', () => {
    const [email, inApp] = planDeliveries(
      notification(Priority.LOW),
      [
        create(DeliveryPlanSchema, { channel: Channel.EMAIL, address: 'a@example.com', decision: DeliveryDecision.DELIVER_NOW }),
        create(DeliveryPlanSchema, { channel: Channel.IN_APP, address: 'u1', decision: DeliveryDecision.DELIVER_NOW }),
      ],
      options,
    );
    expect(email).toMatchObject({ state: DeliveryState.DEFERRED, reason: 'digest window', dueAt: new Date('2030-01-01T10:01:00Z') });
    expect(email.digestKey).toBeTruthy();
    expect(inApp).toMatchObject({ state: DeliveryState.ACCEPTED, digestKey: null });
  });
});
