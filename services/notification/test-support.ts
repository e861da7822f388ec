// Test doubles and a harness for notification's handler and worker tests: the real service module started with
// startService on a free port, over a memory store and an embedded bus, with fake preference and status services
// (served in memory with createRouterTransport) and fake providers implementing ChannelProvider.
import { AsyncLocalStorage } from 'node:async_hooks';
import { create, fromBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { type Client, Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  type DeliveryStatusChange,
  DeliveryStatusChangeSchema,
  type NotificationStatusChanged,
  NotificationStatusChangedSchema,
} from '../../gen/pulse/events/v1/events_pb.js';
import { DeliveryJobSchema } from '../../gen/pulse/notification/v1/delivery_job_pb.js';
import { NotificationService } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import {
  DeliveryDecision,
  DeliveryPlanSchema,
  PreferenceService,
  type ResolveDeliveryRequest,
  RouteKind,
} from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';
import { EmbeddedBus } from '../platform/bus/embedded.js';
import { encodeEvent, type EventName, type EventOf } from '../platform/bus/events.js';
import { newId } from '../platform/ids.js';
import { createLogger } from '../platform/log.js';
import { type RunningService, startService } from '../platform/service.js';
import type { Store, TxScope } from '../platform/store/collection.js';
import { type ChannelProvider, type OutgoingMessage, ProviderError, type SendResult } from './providers/provider.js';
import { notificationModule } from './service.js';
import { openTestStore, type TestStore } from '../../test/support/store.js';
import { bearer } from '../platform/peers.js';

export const TOKEN = 'tester-token-0123456789abcdef';

export type Behaviour = (message: OutgoingMessage, call: number) => Promise<SendResult> | SendResult;

/** A provider double: records every call, counts successful sends per delivery, and does what it is told. */
export class FakeProvider implements ChannelProvider {
  readonly calls: OutgoingMessage[] = [];
  /** Successful sends per delivery id. */
  readonly sent = new Map<string, number>();
  readonly sentAt = new Map<string, number>();
  behaviour: Behaviour = () => ({ outcome: 'sent' });

  constructor(
    readonly name: string,
    readonly channel: Channel,
  ) {}

  async send(message: OutgoingMessage): Promise<SendResult> {
    this.calls.push(message);
    const result = await this.behaviour(message, this.calls.length);
    this.sent.set(message.deliveryId, (this.sent.get(message.deliveryId) ?? 0) + 1);
    this.sentAt.set(message.deliveryId, Date.now());
    return { providerMessageId: `${this.name}-${message.deliveryId}-${message.attempt}`, ...result };
  }

  failWith(kind: ProviderError['kind'], reason: string, retryAfterMs?: number): void {
    this.behaviour = () => {
      throw new ProviderError(kind, reason, retryAfterMs);
    };
  }

  succeed(outcome: SendResult['outcome'] = 'sent'): void {
    this.behaviour = () => ({ outcome });
  }
}

export interface PlanSpec {
  channel: Channel;
  address: string;
  decision?: DeliveryDecision;
  deliverAt?: Date;
  /** The recipient's locale, as preference reports it. */
  locale?: string;
}

/** A fake PreferenceService: per-user channel plans, per-topic routes by kind, unknown topics not_found. */
export class FakePreference {
  users = new Map<string, PlanSpec[]>();
  /** Further plans of a user, for channels outside their channels for the type: only an escalation step gets them. */
  contacts = new Map<string, PlanSpec[]>();
  topics = new Map<string, { primary: PlanSpec[]; escalation?: PlanSpec[] }>();
  readonly requests: ResolveDeliveryRequest[] = [];
  unavailable = false;
  /** Called with every request as it arrives, in the caller's async context. */
  onResolve: ((req: ResolveDeliveryRequest) => void) | undefined;
  /** Awaited before each answer: lets a test hold a caller between its steps. */
  beforeAnswer: ((req: ResolveDeliveryRequest) => Promise<void>) | undefined;

  readonly client: Client<typeof PreferenceService> = createClient(
    PreferenceService,
    createRouterTransport(({ service }) => {
      service(PreferenceService, {
        resolveDelivery: async (req) => {
          this.requests.push(req);
          this.onResolve?.(req);
          await this.beforeAnswer?.(req);
          if (this.unavailable) throw new ConnectError('preference is down', Code.Unavailable);
          const target = req.recipient?.target;
          let specs: PlanSpec[];
          if (target?.case === 'userId') {
            specs = this.users.get(target.value) ?? [{ channel: Channel.IN_APP, address: target.value }];
          } else {
            const routes = this.topics.get(target?.value ?? '');
            if (!routes) throw new ConnectError(`topic "${target?.value}" has no route`, Code.NotFound);
            specs = req.routeKind === RouteKind.ESCALATION ? (routes.escalation ?? routes.primary) : routes.primary;
          }
          // An escalation step asks for its channels only, whether or not the user has them for the type.
          if (req.channels.length > 0) {
            const contacts = target?.case === 'userId' ? (this.contacts.get(target.value) ?? []) : [];
            specs = [...specs, ...contacts].filter((s) => req.channels.includes(s.channel));
          }
          const userId = target?.case === 'userId' ? target.value : '';
          return {
            plans: specs.map((s) =>
              create(DeliveryPlanSchema, {
                channel: s.channel,
                address: s.address,
                userId: s.channel === Channel.IN_APP ? s.address : userId,
                decision: s.decision ?? DeliveryDecision.DELIVER_NOW,
                deliverAt: timestampFromDate(s.deliverAt ?? new Date()),
                locale: s.locale ?? '',
              }),
            ),
          };
        },
      });
    }),
  );
}

/** A fake StatusService that knows only which notifications were read (GetStatus), and can be down. */
export class FakeStatus {
  readonly read = new Set<string>();
  /** Notification ids asked about, in order. */
  readonly asked: string[] = [];
  unavailable = false;

  readonly client: Client<typeof StatusService> = createClient(
    StatusService,
    createRouterTransport(({ service }) => {
      service(StatusService, {
        getStatus: async ({ notificationId }) => {
          this.asked.push(notificationId);
          if (this.unavailable) throw new ConnectError('status is down', Code.Unavailable);
          const state = this.read.has(notificationId) ? DeliveryState.READ : DeliveryState.SENT;
          return { status: { notificationId, state, deliveries: [{ deliveryId: 'dlv_any', state }] } };
        },
      });
    }),
  );
}

/**
 * Marks the async context of every store transaction, so a test can tell whether code (a fake peer called from
 * it) runs inside one. Other transactions running at the same time do not count. stop() undoes it.
 */
export function watchTransactions(store: Store): { inside(): boolean; stop(): void } {
  const context = new AsyncLocalStorage<true>();
  const original = store.transaction.bind(store);
  store.transaction = <R>(fn: (tx: TxScope) => Promise<R>) => original((tx) => context.run(true, () => fn(tx)));
  return {
    inside: () => context.getStore() === true,
    stop: () => {
      store.transaction = original;
    },
  };
}

function ownChange(e: NotificationStatusChanged): DeliveryStatusChange {
  const { deliveryId, userId, channel, state, attempt, provider, reason, inbox } = e;
  return create(DeliveryStatusChangeSchema, { deliveryId, userId, channel, state, attempt, provider, reason, inbox });
}

/** Everything notification emitted on notification.status.changed, in arrival order. */
export class StatusLog {
  readonly events: NotificationStatusChanged[] = [];

  /** The changes reported for one delivery, whether an event's own or among its delivery_changes, in order. */
  of(deliveryId: string): DeliveryStatusChange[] {
    return this.events.flatMap((e) => [...(e.deliveryId === '' ? [] : [ownChange(e)]), ...e.deliveryChanges]).filter((c) => c.deliveryId === deliveryId);
  }

  states(deliveryId: string): string[] {
    return this.of(deliveryId).map((e) => `${DeliveryState[e.state]}#${e.attempt}`);
  }
}

/** Every message notification published (status changes and delivery jobs), in arrival order. */
export class MessageLog {
  readonly messages: { routingKey: string; body: Uint8Array }[] = [];

  /** The messages about one notification, by routing key. */
  of(notificationId: string): string[] {
    return this.messages
      .filter(({ routingKey, body }) =>
        routingKey === 'notification.status.changed'
          ? fromBinary(NotificationStatusChangedSchema, body).notificationId === notificationId
          : fromBinary(DeliveryJobSchema, body).notificationId === notificationId,
      )
      .map((m) => m.routingKey);
  }
}

export interface HarnessOptions {
  env?: Record<string, string>;
  providers?: FakeProvider[];
  preference?: FakePreference;
  status?: FakeStatus;
}

export interface Harness {
  client: Client<typeof NotificationService>;
  running: RunningService;
  bus: EmbeddedBus;
  store: TestStore;
  preference: FakePreference;
  status: FakeStatus;
  providers: Map<Channel, FakeProvider>;
  statuses: StatusLog;
  messages: MessageLog;
  publish<N extends EventName>(name: N, event: EventOf<N>): Promise<void>;
  stop(): Promise<void>;
}

export const TEST_ENV: Record<string, string> = {
  PULSE_API_TOKENS: `tester:${TOKEN}`,
  PULSE_SERVICE_TOKEN: 'service-token-0123456789abcdef',
  HOST: '127.0.0.1',
  PORT: '0',
  NOTIFICATION_SCHEDULER_INTERVAL_MS: '20',
  NOTIFICATION_DIGEST_WINDOW_MS: '0',
  NOTIFICATION_RETRY_BASE_MS: '20',
  NOTIFICATION_RETRY_MAX_DELAY_MS: '100',
  PULSE_SHUTDOWN_GRACE_MS: '100',
};

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const bus = new EmbeddedBus();
  const store = await openTestStore('pulse_notification');
  const preference = options.preference ?? new FakePreference();
  const status = options.status ?? new FakeStatus();
  const fakes = options.providers ?? [
    new FakeProvider('fake-email', Channel.EMAIL),
    new FakeProvider('fake-slack', Channel.SLACK),
    new FakeProvider('fake-sms', Channel.SMS),
  ];
  const providers = new Map(fakes.map((p) => [p.channel, p]));
  const statuses = new StatusLog();
  // Declared before the service starts, so no status event finds the exchange without this queue.
  await bus.consume(
    {
      name: 'test.status',
      bindings: ['notification.status.changed'],
      deadLetterQueue: 'test.dlq',
      prefetch: 10_000,
      maxAttempts: 1,
      retryDelaysMs: [1],
    },
    async (delivery) => {
      statuses.events.push(fromBinary(NotificationStatusChangedSchema, delivery.body));
    },
  );
  const messages = new MessageLog();
  await bus.consume(
    { name: 'test.all', bindings: ['notification.#'], deadLetterQueue: 'test.dlq', prefetch: 10_000, maxAttempts: 1, retryDelaysMs: [1] },
    async ({ routingKey, body }) => {
      messages.messages.push({ routingKey, body });
    },
  );
  const running = await startService(notificationModule({ preference: preference.client, status: status.client, providers: new Map(providers) }), {
    env: { ...TEST_ENV, ...options.env },
    bus,
    store,
    log: createLogger('notification', process.env.TEST_LOG_LEVEL ?? 'silent'),
  });
  const client = createClient(
    NotificationService,
    createConnectTransport({
      baseUrl: running.url,
      httpVersion: '1.1',
      interceptors: [bearer(TOKEN)],
    }),
  );
  return {
    client,
    running,
    bus,
    store,
    preference,
    status,
    providers,
    statuses,
    messages,
    async publish(name, event) {
      // The event id is the message id, as the outbox publishes it: publishing the same event twice is a redelivery.
      const id = (event as { eventId?: string }).eventId || newId('evt');
      await bus.publish({ id, routingKey: name, ...encodeEvent(name, event), headers: {}, timestamp: new Date() });
    },
    async stop() {
      await running.stop();
      await bus.close();
      await store.close();
    },
  };
}
