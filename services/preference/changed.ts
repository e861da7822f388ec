// The one way preference announces a change: notification drops the delivery plans cached for its subject.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { PreferencesChangedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { newId } from '../platform/ids.js';
import type { UnitOfWork } from '../platform/unit-of-work.js';

export type ChangeSubject = { case: 'userId' | 'topic' | 'group'; value: string };

/** Emits preference.changed for subject in the unit of work, so it leaves only if the change commits. */
export function changed(tx: UnitOfWork, at: Date, subject: ChangeSubject): Promise<void> {
  return tx.emit('preference.changed', create(PreferencesChangedSchema, { eventId: newId('evt'), occurredAt: timestampFromDate(at), subject }));
}
