// The events notification publishes, typed for `tx.emit` and consumers' `events: [...]` everywhere: status changes,
// template changes, and delivery jobs, one routing key per priority lane. The routing keys are the contracts'
// (pulse.options.v1.event); encodeEvent refuses an event the contracts route elsewhere.
import type { NotificationStatusChangedSchema, TemplateChangedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import type { DeliveryJobSchema } from '../../gen/pulse/notification/v1/delivery_job_pb.js';
import type { LaneRoutingKey } from './lanes.js';

type DeliveryJobs = { [K in LaneRoutingKey]: typeof DeliveryJobSchema };

declare module '../platform/bus/events.js' {
  interface EventSchemas extends DeliveryJobs {
    'notification.status.changed': typeof NotificationStatusChangedSchema;
    'template.changed': typeof TemplateChangedSchema;
  }
}
