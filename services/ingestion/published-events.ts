// The events ingestion publishes, typed for `tx.emit` and consumers' `events: [...]` everywhere. The routing keys
// are the contracts' (pulse.options.v1.event); encodeEvent refuses an event the contracts route elsewhere.
import type { AssistanceRequestedSchema, InteractionReceivedSchema } from '../../gen/pulse/events/v1/events_pb.js';

declare module '../platform/bus/events.js' {
  interface EventSchemas {
    'customer.interaction.new': typeof InteractionReceivedSchema;
    'assistance.requested': typeof AssistanceRequestedSchema;
  }
}
