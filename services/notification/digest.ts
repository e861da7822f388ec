// LOW-priority digests: LOW deliveries to the same address on the same channel within one window go out as one
// message. Windows are aligned to the clock (every deliverable-now LOW delivery waits until the end of its current
// window), so every replica computes the same due time and grouping needs no coordination: the scheduler releases
// all waiting deliveries with the same digest key, due time and attempt under one job. In-app is never digested:
// the inbox already is one. Plain functions, no I/O.
import { createHash } from 'node:crypto';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { ContentDoc } from './notifications.js';

export function isDigestible(priority: Priority, channel: Channel, windowMs: number): boolean {
  return windowMs > 0 && priority === Priority.LOW && channel !== Channel.IN_APP;
}

/** Groups by channel and address; the address is hashed so the key can be shown and indexed without it. */
export function digestKey(channel: Channel, address: string): string {
  return `${channel}:${createHash('sha256').update(address).digest('hex').slice(0, 32)}`;
}

/** The end of the window `at` falls in; a time exactly on a boundary is its own window end. */
export function digestDueAt(at: Date, windowMs: number): Date {
  return new Date(Math.ceil(at.getTime() / windowMs) * windowMs);
}

const MAX_TITLE = 200;
const MAX_BODY = 10_000;

/** One message for several notifications: a count as the title, each notification's title and body in turn. */
export function digestContent(items: readonly { notificationId: string; content: ContentDoc }[]): ContentDoc {
  const body = items.map(({ content }) => (content.body ? `• ${content.title}\n${content.body}` : `• ${content.title}`)).join('\n\n');
  return {
    title: `${items.length} notifications`.slice(0, MAX_TITLE),
    body: body.length > MAX_BODY ? `${body.slice(0, MAX_BODY - 1)}…` : body,
    data: { digest_size: String(items.length), notification_ids: items.map((i) => i.notificationId).join(',') },
  };
}
