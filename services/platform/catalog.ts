// The six services: their ports and the Connect service each one serves (whose contract says which scope each RPC
// needs), and the contract files whose messages travel on the bus. Peers are found through `<SERVICE>_URL` (e.g.
// PREFERENCE_URL), defaulting to the service's port on localhost.
import type { DescFile } from '@bufbuild/protobuf';
import { file_pulse_events_v1_events } from '../../gen/pulse/events/v1/events_pb.js';
import { IngestionService } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import { file_pulse_notification_v1_delivery_job } from '../../gen/pulse/notification/v1/delivery_job_pb.js';
import { NotificationService } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { PreferenceService } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { ReviewService } from '../../gen/pulse/review/v1/review_service_pb.js';
import { SentimentService } from '../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';

export const SERVICES = {
  ingestion: { port: 8081, descriptor: IngestionService },
  sentiment: { port: 8082, descriptor: SentimentService },
  review: { port: 8083, descriptor: ReviewService },
  preference: { port: 8084, descriptor: PreferenceService },
  notification: { port: 8085, descriptor: NotificationService },
  status: { port: 8086, descriptor: StatusService },
} as const;

/** Where events are defined: every message in these files with a (pulse.options.v1.event) travels on the bus. */
export const EVENT_FILES: readonly DescFile[] = [file_pulse_events_v1_events, file_pulse_notification_v1_delivery_job];

export type ServiceName = keyof typeof SERVICES;
export type ServiceDescriptor<N extends ServiceName> = (typeof SERVICES)[N]['descriptor'];

export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/** Downstream first: a service's peers are listening, and its events' queues declared, before it starts. */
export const START_ORDER: readonly ServiceName[] = ['preference', 'status', 'notification', 'review', 'sentiment', 'ingestion'];

/** The environment variable that holds a peer's base URL. */
export function urlVariable(name: ServiceName): string {
  return `${name.toUpperCase()}_URL`;
}
