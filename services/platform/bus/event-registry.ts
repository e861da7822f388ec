// Which message travels under which routing key, read from the contracts: (pulse.options.v1.event) names a
// message's routing keys, (pulse.options.v1.required) / (pulse.options.v1.required_oneof) the fields it cannot do
// without. A plain function of the descriptors, so a contradictory contract is caught before anything is consumed.
import { type DescField, type DescFile, type DescMessage, type DescOneof, getOption, hasOption } from '@bufbuild/protobuf';
import { event as eventOption, required as requiredOption, required_oneof as requiredOneofOption } from '../../../gen/pulse/options/v1/options_pb.js';

export interface EventType {
  routingKey: string;
  schema: DescMessage;
  /** The fields (a oneof: one of its fields) without which an event means nothing, in declaration order. */
  required: readonly (DescField | DescOneof)[];
}

/** A topic-exchange routing key that binds only itself: dot-separated words, no `*` or `#` wildcards. */
const ROUTING_KEY = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;

function* messagesOf(messages: readonly DescMessage[]): Generator<DescMessage> {
  for (const message of messages) {
    yield message;
    yield* messagesOf(message.nestedMessages);
  }
}

function isRequired(member: DescField | DescOneof): boolean {
  return member.kind === 'oneof' ? getOption(member, requiredOneofOption) : getOption(member, requiredOption);
}

/** Routing key -> event type for every event message in the files; throws naming every problem found. */
export function buildEventRegistry(files: readonly DescFile[]): ReadonlyMap<string, EventType> {
  const problems: string[] = [];
  const registry = new Map<string, EventType>();
  for (const schema of messagesOf(files.flatMap((file) => file.messages))) {
    const required = schema.members.filter(isRequired);
    if (!hasOption(schema, eventOption)) {
      if (required.length > 0) problems.push(`${schema.typeName} marks fields required but is no event (no (pulse.options.v1.event))`);
      continue;
    }
    const { routingKeys } = getOption(schema, eventOption);
    if (routingKeys.length === 0) problems.push(`${schema.typeName} is an event without routing keys`);
    if (required.length === 0) problems.push(`${schema.typeName} marks no field required: even an empty body would be handled`);
    for (const routingKey of routingKeys) {
      const taken = registry.get(routingKey);
      if (!ROUTING_KEY.test(routingKey)) problems.push(`${schema.typeName}: "${routingKey}" is not a plain routing key`);
      else if (taken) problems.push(`${schema.typeName}: routing key "${routingKey}" already belongs to ${taken.schema.typeName}`);
      else registry.set(routingKey, { routingKey, schema, required });
    }
  }
  if (problems.length > 0) throw new Error(`the contracts' events are inconsistent:\n  ${problems.join('\n  ')}`);
  return registry;
}

/** The first required field (proto name; a oneof by its name) the event lacks, if any. */
export function missingField(type: EventType, event: object): string | undefined {
  const values = event as Record<string, unknown>;
  for (const member of type.required) {
    const value = values[member.localName];
    const missing = member.kind === 'oneof' ? (value as { case?: string } | undefined)?.case === undefined : value === undefined || value === '' || value === null;
    if (missing) return member.name;
  }
  return undefined;
}
