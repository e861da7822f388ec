// What well-formed status requests are. Plain functions; problems go to the Validator under the proto field name.
import type { Duration } from '@bufbuild/protobuf/wkt';
import type { WatchStatusRequest } from '../../gen/pulse/status/v1/status_service_pb.js';
import type { Validator } from '../platform/validate.js';

export const MAX_MARK_READ = 500;
const MIN_WINDOW_MS = 60_000;
const MAX_WINDOW_MS = 7 * 24 * 3_600_000;
const DEFAULT_WINDOW_MS = 3_600_000;

/** The stats window in milliseconds: 1 minute to 7 days, default 1 hour. */
export function statsWindow(v: Validator, window: Duration | undefined): number {
  if (!window) return DEFAULT_WINDOW_MS;
  const ms = Number(window.seconds) * 1000 + Math.trunc(window.nanos / 1e6);
  if (!(ms >= MIN_WINDOW_MS && ms <= MAX_WINDOW_MS)) v.add('window', 'must be between 1 minute and 7 days (e.g. "3600s")');
  return ms;
}

export type WatchSubject = { kind: 'notification'; id: string } | { kind: 'user'; id: string };

export function watchSubject(v: Validator, subject: WatchStatusRequest['subject']): WatchSubject {
  switch (subject.case) {
    case 'notificationId':
      v.id('notification_id', subject.value);
      return { kind: 'notification', id: subject.value };
    case 'userId':
      v.id('user_id', subject.value);
      return { kind: 'user', id: subject.value };
    default:
      v.add('subject', 'is required: set notification_id or user_id');
      return { kind: 'user', id: '' };
  }
}
