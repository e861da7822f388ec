// The routing-key registry comes from the contracts' (pulse.options.v1.event) and (pulse.options.v1.required)
// options; contradictory contracts are refused, and publishing checks the event against them.
import { create, createFileRegistry, type DescFile, setExtension, toBinary } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Type, FieldOptionsSchema, FileDescriptorProtoSchema, file_google_protobuf_descriptor, MessageOptionsSchema } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { PreferencesChangedSchema, ReviewRequiredSchema } from '../../../gen/pulse/events/v1/events_pb.js';
import { DeliveryJobSchema } from '../../../gen/pulse/notification/v1/delivery_job_pb.js';
import { EventDefinitionSchema, event, file_pulse_options_v1_options, required } from '../../../gen/pulse/options/v1/options_pb.js';
import { EVENT_FILES } from '../catalog.js';
import { PermanentError } from './bus.js';
import { buildEventRegistry, missingField } from './event-registry.js';
import { decodeEvent, EVENT_TYPES, encodeEvent } from './events.js';

/** A one-message contract built in memory: its routing keys and, per string field, whether it is required. */
function contract(routingKeys: string[], fields: Record<string, boolean>): DescFile {
  const options = create(MessageOptionsSchema);
  setExtension(options, event, create(EventDefinitionSchema, { routingKeys }));
  const field = ([name, isRequired]: [string, boolean], i: number) => {
    const fieldOptions = create(FieldOptionsSchema);
    if (isRequired) setExtension(fieldOptions, required, true);
    return { name, number: i + 1, type: FieldDescriptorProto_Type.STRING, label: 1, jsonName: name, options: fieldOptions };
  };
  const file = create(FileDescriptorProtoSchema, {
    name: 'test/v1/test.proto',
    package: 'test.v1',
    syntax: 'proto3',
    dependency: ['pulse/options/v1/options.proto'],
    messageType: [{ name: 'Thing', options, field: Object.entries(fields).map(field) }],
  });
  const known = new Map([file_pulse_options_v1_options, file_google_protobuf_descriptor].map((f) => [`${f.name}.proto`, f]));
  return createFileRegistry(file, (name) => known.get(name)).getFile('test/v1/test.proto')!;
}

describe('the event registry', () => {
  it('routes every key the contracts name to its message, with the fields it cannot do without', () => {
    const table = Object.fromEntries([...buildEventRegistry(EVENT_FILES)].map(([key, t]) => [key, `${t.schema.name}(${t.required.map((m) => m.name).join(', ')})`]));
    console.log(`event registry: ${JSON.stringify(table, null, 2)}`);
    expect(Object.keys(table).length).toBe(12);
    for (const lane of ['critical', 'high', 'medium', 'low']) expect(table[`notification.delivery.${lane}`]).toBe('DeliveryJob(delivery_id, job_id)');
    expect(table['preference.changed']).toBe('PreferencesChanged(event_id, subject)');
    expect(table['template.changed']).toBe('TemplateChanged(event_id, notification_type)');
    expect(table['customer.interaction.new']).toBe('InteractionReceived(event_id, message_id, conversation_id)');
    expect([...EVENT_TYPES.keys()]).toEqual(Object.keys(table));
  });

  it('names the first missing field, a oneof by its name', () => {
    const changed = EVENT_TYPES.get('preference.changed')!;
    expect(missingField(changed, create(PreferencesChangedSchema, {}))).toBe('event_id');
    expect(missingField(changed, create(PreferencesChangedSchema, { eventId: 'e-1' }))).toBe('subject');
    expect(missingField(changed, create(PreferencesChangedSchema, { eventId: 'e-1', subject: { case: 'topic', value: 'sales' } }))).toBeUndefined();
  });

  it('refuses contracts that share a routing key, use a wildcard, or mark no field required', () => {
    expect(() => buildEventRegistry([...EVENT_FILES, ...EVENT_FILES])).toThrow(
      'pulse.events.v1.InteractionReceived: routing key "customer.interaction.new" already belongs to pulse.events.v1.InteractionReceived',
    );
    expect(() => buildEventRegistry([contract(['thing.*'], { id: true })])).toThrow('test.v1.Thing: "thing.*" is not a plain routing key');
    expect(() => buildEventRegistry([contract(['thing.new'], { id: false })])).toThrow('test.v1.Thing marks no field required');
    expect(() => buildEventRegistry([contract([], { id: true })])).toThrow('test.v1.Thing is an event without routing keys');
    expect(buildEventRegistry([contract(['thing.new', 'thing.old'], { id: true, note: false })]).get('thing.old')!.required.map((m) => m.name)).toEqual(['id']);
  });

  it('publishes an event only under a key the contracts route it under, and decodes by key', () => {
    const job = create(DeliveryJobSchema, { jobId: 'job-1', deliveryId: 'dlv-1' });
    const encoded = encodeEvent('notification.delivery.low', job);
    expect(decodeEvent({ routingKey: 'notification.delivery.low', ...encoded })).toEqual(job);
    const review = create(ReviewRequiredSchema, { eventId: 'e-1', reviewId: 'r-1' });
    // @ts-expect-error: review.resolved carries a ReviewResolved, and the compiler knows it.
    expect(() => encodeEvent('review.resolved', review)).toThrow('no contract routes pulse.events.v1.ReviewRequired under "review.resolved"');
    const body = toBinary(DeliveryJobSchema, create(DeliveryJobSchema, { jobId: 'job-1' }));
    expect(() => decodeEvent({ routingKey: 'notification.delivery.high', type: DeliveryJobSchema.typeName, body })).toThrow(
      new PermanentError('pulse.notification.v1.DeliveryJob without delivery_id'),
    );
  });
});
