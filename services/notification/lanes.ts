// Priority lanes: one queue per priority, each with its own consumer and prefetch, so a CRITICAL job never waits
// behind a backlog of LOW ones. A job names its delivery; the store holds everything else.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type DeliveryJob, DeliveryJobSchema } from '../../gen/pulse/notification/v1/delivery_job_pb.js';

export type LaneName = 'critical' | 'high' | 'medium' | 'low';
export type LaneRoutingKey = `notification.delivery.${LaneName}`;

export const LANES: readonly { name: LaneName; priority: Priority }[] = [
  { name: 'critical', priority: Priority.CRITICAL },
  { name: 'high', priority: Priority.HIGH },
  { name: 'medium', priority: Priority.MEDIUM },
  { name: 'low', priority: Priority.LOW },
];

export function laneOf(priority: Priority): LaneName {
  return LANES.find((lane) => lane.priority === priority)?.name ?? 'medium';
}

export function laneRoutingKey(lane: LaneName): LaneRoutingKey {
  return `notification.delivery.${lane}`;
}

/** The consumer purpose of a lane; its queue is `pulse.notification.delivery.<lane>`. */
export function lanePurpose(lane: LaneName): string {
  return `delivery.${lane}`;
}

export function laneQueue(lane: LaneName): string {
  return `pulse.notification.${lanePurpose(lane)}`;
}

export interface JobTarget {
  _id: string;
  notificationId: string;
  channel: DeliveryJob['channel'];
  priority: Priority;
}

export function deliveryJob(target: JobTarget, jobId: string, attempt: number, at: Date): DeliveryJob {
  return create(DeliveryJobSchema, {
    jobId,
    deliveryId: target._id,
    notificationId: target.notificationId,
    channel: target.channel,
    priority: target.priority,
    attempt,
    queuedAt: timestampFromDate(at),
  });
}
