import { describe, expect, it } from 'vitest';
import { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { fingerprint, type FingerprintInput } from './fingerprint.js';

const base: FingerprintInput = {
  recipient: { userId: 'u1' },
  notificationType: 'invoice.overdue',
  priority: Priority.MEDIUM,
  content: { title: 'Invoice overdue', body: 'Pay it', data: { a: '1', b: '2' } },
  expiresAt: null,
  routeKind: RouteKind.PRIMARY,
};

describe('fingerprint', () => {
  it('is the same for the same request, whatever the order of data entries', () => {
    expect(fingerprint(base)).toBe(fingerprint({ ...base, content: { ...base.content, data: { b: '2', a: '1' } } }));
    expect(fingerprint(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['body', { content: { ...base.content, body: 'Pay it now' } }],
    ['title', { content: { ...base.content, title: 'Overdue' } }],
    ['data value', { content: { ...base.content, data: { a: '1', b: '3' } } }],
    ['data key', { content: { ...base.content, data: { a: '1', c: '2' } } }],
    ['recipient', { recipient: { userId: 'u2' } }],
    ['recipient kind', { recipient: { topic: 'u1' } }],
    ['type', { notificationType: 'invoice.paid' }],
    ['priority', { priority: Priority.HIGH }],
    ['expiry', { expiresAt: new Date(1_900_000_000_000) }],
    ['route kind', { routeKind: RouteKind.ESCALATION }],
  ])('differs when the %s differs', (_, change) => {
    expect(fingerprint({ ...base, ...change } as FingerprintInput)).not.toBe(fingerprint(base));
  });
});
