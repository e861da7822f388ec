// The events review publishes, typed for `tx.emit` and consumers' `events: [...]` everywhere. The routing keys are
// the contracts' (pulse.options.v1.event); encodeEvent refuses an event the contracts route elsewhere.
import type { ReviewRequiredSchema, ReviewResolvedSchema } from '../../gen/pulse/events/v1/events_pb.js';

declare module '../platform/bus/events.js' {
  interface EventSchemas {
    'review.required': typeof ReviewRequiredSchema;
    'review.resolved': typeof ReviewResolvedSchema;
  }
}
