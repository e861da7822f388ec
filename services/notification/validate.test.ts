import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  DeadLetterFilterSchema,
  type SendNotificationRequest,
  SendNotificationRequestSchema,
} from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { InvalidRequest, Validator } from '../platform/validate.js';
import { checkSendNotification, deadLetterQuery, normalizeSend } from './validate.js';

const now = new Date('2030-01-01T00:00:00Z');

function valid(): SendNotificationRequest {
  return create(SendNotificationRequestSchema, {
    idempotencyKey: 'billing/inv-1',
    recipient: { target: { case: 'userId', value: 'u-1' } },
    notificationType: 'invoice.overdue',
    content: { title: 'Invoice overdue', body: 'Please pay', data: { invoice: 'inv-1' } },
  });
}

function problems(req: SendNotificationRequest): string[] {
  const v = new Validator();
  checkSendNotification(v, req, now);
  return v.violations.map((p) => p.field);
}

describe('checkSendNotification', () => {
  it('accepts a well-formed request', () => {
    expect(problems(valid())).toEqual([]);
  });

  it.each<[string, (r: SendNotificationRequest) => void]>([
    ['idempotency_key', (r) => (r.idempotencyKey = '')],
    ['idempotency_key', (r) => (r.idempotencyKey = 'k'.repeat(257))],
    ['idempotency_key', (r) => (r.idempotencyKey = 'has space')],
    ['recipient', (r) => (r.recipient = undefined)],
    ['recipient', (r) => (r.recipient = { $typeName: 'pulse.common.v1.Recipient', target: { case: undefined } })],
    ['recipient.user_id', (r) => (r.recipient!.target = { case: 'userId', value: '' })],
    ['recipient.topic', (r) => (r.recipient!.target = { case: 'topic', value: 'Not A Topic' })],
    ['notification_type', (r) => (r.notificationType = '')],
    ['notification_type', (r) => (r.notificationType = 'Bad Type')],
    ['priority', (r) => (r.priority = 42 as Priority)],
    ['content', (r) => (r.content = undefined)],
    ['content.title', (r) => (r.content!.title = '')],
    ['content.title', (r) => (r.content!.title = 't'.repeat(201))],
    ['content.body', (r) => (r.content!.body = 'b'.repeat(10_001))],
    ['content.data', (r) => (r.content!.data = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])))],
    ['content.data', (r) => (r.content!.data = { ['k'.repeat(65)]: 'v' })],
    ['content.data["big"]', (r) => (r.content!.data = { big: 'v'.repeat(1_025) })],
    ['expires_at', (r) => (r.expiresAt = timestampFromDate(new Date(now.getTime() - 1)))],
    ['expires_at', (r) => (r.expiresAt = timestampFromDate(now))],
  ])('names %s', (field, spoil) => {
    const req = valid();
    spoil(req);
    expect(problems(req)).toContain(field);
  });

  it('reports every problem at once, without quoting content', () => {
    const req = valid();
    req.idempotencyKey = '';
    req.content!.title = '';
    req.content!.data = { secret: 'x'.repeat(2_000) };
    const v = new Validator('notifications[3]');
    checkSendNotification(v, req, now);
    expect(() => v.check()).toThrow(InvalidRequest);
    expect(v.violations.map((p) => p.field)).toEqual([
      'notifications[3].idempotency_key',
      'notifications[3].content.title',
      'notifications[3].content.data["secret"]',
    ]);
    expect(JSON.stringify(v.violations)).not.toContain('xxxx');
  });

  it('defaults priority to MEDIUM and reads the recipient', () => {
    expect(normalizeSend(valid())).toMatchObject({ priority: Priority.MEDIUM, recipient: { userId: 'u-1' }, expiresAt: null });
    const topic = valid();
    topic.recipient!.target = { case: 'topic', value: 'sales' };
    topic.priority = Priority.LOW;
    expect(normalizeSend(topic)).toMatchObject({ priority: Priority.LOW, recipient: { topic: 'sales' } });
  });
});

describe('deadLetterQuery', () => {
  it('reads a filter and rejects a reversed time range', () => {
    const v = new Validator();
    const filter = create(DeadLetterFilterSchema, {
      channel: Channel.SMS,
      reason: 'Timeout',
      since: timestampFromDate(new Date(2_000)),
      until: timestampFromDate(new Date(1_000)),
      deadLetterIds: ['dlq_1', 'bad id'],
    });
    const query = deadLetterQuery(v, filter, true);
    expect(query).toMatchObject({ channel: Channel.SMS, reason: 'Timeout', includeReplayed: true });
    expect(v.violations.map((p) => p.field)).toEqual(['filter.until', 'filter.dead_letter_ids[1]']);
  });
});
