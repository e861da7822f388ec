import { Code } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { PrioritySchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { InvalidRequest, Validator } from './validate.js';

describe('Validator', () => {
  it('collects every violation into one invalid_argument naming the fields', async () => {
    const v = new Validator();
    v.id('message_id', '').text('text', 'x'.repeat(11), { max: 10 }).name('topic', 'Sales!').enumValue('priority', 9, PrioritySchema);
    v.nested('items[2]').range('score', 1.5, -1, 1);
    const err = await rejectionOf(() => v.check(), InvalidRequest);
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.violations.map((x) => x.field)).toEqual(['message_id', 'text', 'topic', 'priority', 'items[2].score']);
    expect(err.rawMessage).toContain('text: must be at most 10 characters (got 11)');
    expect(err.rawMessage).toContain('priority: must be one of PRIORITY_LOW, PRIORITY_MEDIUM, PRIORITY_HIGH, PRIORITY_CRITICAL');
  });

  it('accepts valid values and optional empties', () => {
    const v = new Validator();
    v.id('a', 'm-1').id('b', '', { optional: true }).name('topic', 'sales.emea').text('t', 'hi', { max: 5 });
    v.enumValue('priority', 0, PrioritySchema, { optional: true });
    expect(() => v.check()).not.toThrow();
  });

  it('rejects ids with spaces or control characters and blank text', () => {
    const v = new Validator();
    v.id('a', 'has space').id('b', 'tab\there').text('c', '   ', { max: 10 });
    expect(v.violations.map((x) => x.field)).toEqual(['a', 'b', 'c']);
  });
});
