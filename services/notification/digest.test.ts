import { describe, expect, it } from 'vitest';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { digestContent, digestDueAt, digestKey, isDigestible } from './digest.js';

describe('digest rules', () => {
  it('applies to LOW on outside channels when a window is set', () => {
    expect(isDigestible(Priority.LOW, Channel.EMAIL, 60_000)).toBe(true);
    expect(isDigestible(Priority.LOW, Channel.IN_APP, 60_000)).toBe(false);
    expect(isDigestible(Priority.MEDIUM, Channel.EMAIL, 60_000)).toBe(false);
    expect(isDigestible(Priority.LOW, Channel.EMAIL, 0)).toBe(false);
  });

  it('aligns due times to window ends, so every replica groups alike', () => {
    expect(digestDueAt(new Date(120_001), 60_000)).toEqual(new Date(180_000));
    expect(digestDueAt(new Date(179_999), 60_000)).toEqual(new Date(180_000));
    expect(digestDueAt(new Date(180_000), 60_000)).toEqual(new Date(180_000));
  });

  it('groups by channel and address without holding the address', () => {
    expect(digestKey(Channel.EMAIL, 'a@example.com')).toBe(digestKey(Channel.EMAIL, 'a@example.com'));
    expect(digestKey(Channel.EMAIL, 'a@example.com')).not.toBe(digestKey(Channel.SMS, 'a@example.com'));
    expect(digestKey(Channel.EMAIL, 'a@example.com')).not.toBe(digestKey(Channel.EMAIL, 'b@example.com'));
    expect(digestKey(Channel.EMAIL, 'a@example.com')).not.toContain('example');
  });

  it('combines contents into one message', () => {
    const content = digestContent([
      { notificationId: 'n1', content: { title: 'One', body: 'first', data: {} } },
      { notificationId: 'n2', content: { title: 'Two', body: '', data: { x: 'y' } } },
    ]);
    expect(content).toEqual({
      title: '2 notifications',
      body: '• One\nfirst\n\n• Two',
      data: { digest_size: '2', notification_ids: 'n1,n2' },
    });
  });

  it('keeps a long digest within the body limit', () => {
    const long = 'x'.repeat(9_000);
    const content = digestContent([
      { notificationId: 'n1', content: { title: 'a', body: long, data: {} } },
      { notificationId: 'n2', content: { title: 'b', body: long, data: {} } },
    ]);
    expect(content.body.length).toBe(10_000);
  });
});
