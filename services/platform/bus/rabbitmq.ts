// The EventBus on RabbitMQ, chosen when AMQP_URL is set. Topology and retry design: rabbitmq-topology.ts;
// publishing policies (confirms, unroutable events, back-pressure, connection loss): rabbitmq-publisher.ts;
// acknowledgement and failure handling: rabbitmq-consumer.ts.
//
// Connection: amqplib's opt-in recovery reconnects with exponential backoff and jitter (capped), and runs `setup`
// on every new connection before declaring it usable: the publish channel and the exchange first, then every
// consumer's topology and consumer again. A channel that dies on its own while the connection lives (a channel
// error, a consumer cancelled by the broker) is re-attached after a pause. Every connection and channel has an
// 'error' listener, so a lost broker never becomes an unhandled error. isReady() is false while disconnected or
// while the broker blocks publishers (resource alarm).
import type { Writable } from 'node:stream';
import { type Channel, type ChannelModel, connect, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { type PeriodicTask, startPeriodic } from '../periodic.js';
import {
  type BusMessage,
  type Consumer,
  type DeadLetter,
  type EventBus,
  EXCHANGE,
  type MessageHandler,
  type QueueSpec,
  toDeadLetter,
  withoutDeadLetterHeaders,
} from './bus.js';
import { RabbitConsumer } from './rabbitmq-consumer.js';
import { forwardOptions, publishOptions, readDelivery } from './rabbitmq-message.js';
import { Publisher } from './rabbitmq-publisher.js';

const HEARTBEAT_SECONDS = 15;
const CONNECT_TIMEOUT_MS = 10_000;
const CHANNEL_REOPEN_MS = 1_000;

export interface RabbitBusOptions {
  log: Logger;
  metrics: Metrics;
  /** Reconnect backoff: the first delay, doubling up to the cap, each with jitter. */
  reconnectDelayMs?: { initial: number; max: number };
  /** Failed attempts before the first connection after which connectRabbitBus gives up. Default 10 (30-60 s). */
  initialConnectRetries?: number;
  /** How often the queue-depth gauge is refreshed. */
  depthIntervalMs?: number;
  /** Shown by the broker (`rabbitmqctl list_connections client_properties`). Default: pulse-<service>. */
  connectionName?: string;
}

export async function connectRabbitBus(url: string, options: RabbitBusOptions): Promise<RabbitBus> {
  const bus = new RabbitBus(options);
  await bus.connect(url);
  return bus;
}

export class RabbitBus implements EventBus {
  readonly kind = 'rabbitmq' as const;
  private connection: RecoveringChannelModel | undefined;
  /** The live connection, set from the start of its setup until it is lost. */
  private model: ChannelModel | undefined;
  private connected = false;
  private everConnected = false;
  private blocked = false;
  private closing: Promise<void> | undefined;
  private readonly consumers = new Set<RabbitConsumer>();
  private readonly publisher: Publisher;
  private depthRefresh: PeriodicTask | undefined;
  private readonly log: Logger;

  constructor(private readonly options: RabbitBusOptions) {
    this.log = options.log.child({ component: 'rabbitmq' });
    this.publisher = new Publisher({ log: this.log, metrics: options.metrics, onChannelLost: () => this.reattach(() => this.publisher) });
  }

  async connect(url: string): Promise<void> {
    const { initial, max } = this.options.reconnectDelayMs ?? { initial: 200, max: 10_000 };
    const service = this.options.log.bindings().service;
    const connection = await connect(withHeartbeat(url), {
      noDelay: true,
      timeout: CONNECT_TIMEOUT_MS,
      clientProperties: { connection_name: this.options.connectionName ?? `pulse-${typeof service === 'string' ? service : 'service'}` },
      recovery: {
        waitForConnect: false,
        maxRetries: Infinity,
        initialMaxRetries: this.options.initialConnectRetries ?? 10,
        // Exponential, capped, with "equal jitter": half the delay is fixed, half random, so replicas spread out.
        calculateDelay: (attempt: number) => Math.min(max, initial * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2),
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    this.connection = connection;
    this.watch(connection);
    try {
      await connection.waitForConnect();
    } catch (err) {
      throw new Error(`cannot reach the message broker at ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const depthMs = this.options.depthIntervalMs ?? 5_000;
    this.depthRefresh = startPeriodic({
      name: 'queue depth refresh',
      intervalMs: depthMs,
      startAfterMs: depthMs,
      log: this.log,
      run: () => this.refreshDepths(),
    });
  }

  publish(message: BusMessage): Promise<void> {
    if (this.closing) return Promise.reject(new Error('event bus is closed'));
    return this.publisher.publish(EXCHANGE, message.routingKey, message.body, publishOptions(message));
  }

  async consume(spec: QueueSpec, handler: MessageHandler): Promise<Consumer> {
    if (this.closing) throw new Error('event bus is closed');
    if ([...this.consumers].some((c) => c.spec.name === spec.name)) throw new Error(`queue ${spec.name} already has a consumer`);
    const consumer = new RabbitConsumer(spec, handler, {
      publisher: this.publisher,
      log: this.log,
      metrics: this.options.metrics,
      onChannelLost: (lost) => this.reattach(() => lost),
    });
    this.consumers.add(consumer);
    const model = this.model;
    // While disconnected the consumer starts with the next connection's setup.
    if (model) {
      try {
        await consumer.attach(model);
      } catch (err) {
        // Lost the connection meanwhile: setup will attach it. Otherwise the spec itself is wrong (e.g. a queue
        // that exists with other arguments), which no retry fixes.
        if (this.model === model) {
          this.consumers.delete(consumer);
          throw err;
        }
      }
    }
    return {
      cancel: async () => {
        this.consumers.delete(consumer);
        await consumer.cancel();
      },
    };
  }

  /** Messages ready in the queue (not counting those in a consumer's hands), or undefined if unknown. */
  async queueDepth(queue: string): Promise<number | undefined> {
    try {
      return (await this.withChannel((channel) => channel.checkQueue(queue))).messageCount;
    } catch {
      return undefined;
    }
  }

  deadLetters(queue: string, limit: number): Promise<DeadLetter[]> {
    // Messages got without acknowledgement go back, in order, when the channel closes.
    return this.withChannel(async (channel) => {
      const letters: DeadLetter[] = [];
      while (letters.length < limit) {
        const message = await channel.get(queue, { noAck: false });
        if (!message) break;
        letters.push(toDeadLetter(readDelivery(message, queue)));
      }
      return letters;
    });
  }

  replayDeadLetters(queue: string, limit: number): Promise<number> {
    return this.withChannel(async (channel) => {
      let replayed = 0;
      for (let i = 0; i < limit; i++) {
        const message = await channel.get(queue, { noAck: false });
        if (!message) break;
        const letter = toDeadLetter(readDelivery(message, queue));
        // Without a source queue it stays (unacknowledged, so back in the DLQ when the channel closes).
        if (!letter.sourceQueue) continue;
        const options = forwardOptions({ ...letter, headers: withoutDeadLetterHeaders(letter.headers) });
        await this.publisher.publish('', letter.sourceQueue, message.content, options, true);
        channel.ack(message);
        replayed++;
      }
      return replayed;
    });
  }

  isReady(): boolean {
    return this.connected && !this.blocked && !this.closing;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.depthRefresh?.stop();
      await Promise.all([...this.consumers].map((consumer) => consumer.cancel()));
      this.consumers.clear();
      await this.publisher.close();
      await this.connection?.close();
      this.connected = false;
      this.options.metrics.busConnected.set(0);
    })();
    return this.closing;
  }

  private async setup(model: ChannelModel): Promise<void> {
    // amqplib's recovery only watches a connection once setup is done, so losing it during setup must fail setup.
    let lost: Error | undefined;
    model.on('error', (err: Error) => (lost ??= err));
    model.on('close', (err?: Error) => (lost ??= err ?? new Error('connection closed during setup')));
    coalesceWrites(model);
    this.model = model;
    try {
      await this.publisher.attach(model);
      for (const consumer of this.consumers) await consumer.attach(model);
      if (lost) throw lost;
    } catch (err) {
      if (this.model === model) this.model = undefined;
      throw err;
    }
  }

  private watch(connection: RecoveringChannelModel): void {
    const { log } = this;
    const { metrics } = this.options;
    connection.on('connect', () => {
      this.connected = true;
      metrics.busConnected.set(1);
      if (this.everConnected) metrics.busReconnects.inc();
      log.info(this.everConnected ? 'reconnected to the message broker' : 'connected to the message broker');
      this.everConnected = true;
    });
    connection.on('disconnect', (err: Error) => {
      this.connected = false;
      this.model = undefined;
      metrics.busConnected.set(0);
      log.warn({ err }, 'lost the message broker connection; reconnecting');
    });
    connection.on('error', (err: Error) => log.warn({ err }, 'message broker connection error'));
    connection.on('connect-failed', (err: Error) => log.warn({ err }, 'could not connect to the message broker'));
    connection.on('reconnect-scheduled', ({ attempt, delay }: { attempt: number; delay: number }) =>
      log.info({ attempt, delay_ms: Math.round(delay) }, 'reconnecting to the message broker'),
    );
    connection.on('reconnect-failed', (err: Error) => log.error({ err }, 'gave up connecting to the message broker'));
    connection.on('handler-error', (err: Error, event: string) => log.error({ err, event }, 'message broker event handler threw'));
    connection.on('blocked', (reason: string) => {
      this.blocked = true;
      log.warn({ reason }, 'the message broker blocks publishing');
    });
    connection.on('unblocked', () => {
      this.blocked = false;
      log.info('the message broker accepts publishing again');
    });
  }

  /** Re-attaches a part whose channel died while its connection lives on; a new connection's setup covers the rest. */
  private reattach(part: () => { attach(model: ChannelModel): Promise<void> }): void {
    const model = this.model;
    if (!model || this.closing) return;
    setTimeout(() => {
      if (this.model !== model || this.closing) return;
      part()
        .attach(model)
        .catch((err: unknown) => {
          this.log.warn({ err }, 'could not reopen a channel; trying again');
          this.reattach(part);
        });
    }, CHANNEL_REOPEN_MS).unref();
  }

  /** A throwaway channel, so an operation that fails on a missing queue cannot close a channel that matters. */
  private async withChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
    const model = this.model;
    if (!model || !this.connected) throw new Error('not connected to the message broker');
    const channel = await model.createChannel();
    // The failure also rejects the operation, which is where it is handled.
    channel.on('error', () => {});
    try {
      return await fn(channel);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  private async refreshDepths(): Promise<void> {
    const queues = new Set([...this.consumers].flatMap((c) => [c.spec.name, c.spec.deadLetterQueue]));
    for (const queue of queues) {
      const depth = this.connected ? await this.queueDepth(queue) : undefined;
      if (depth !== undefined) this.options.metrics.queueDepth.set({ queue }, depth);
    }
  }
}

/**
 * amqplib writes every frame (each publish, each ack) to the socket with a write call of its own: with
 * TCP_NODELAY that is one syscall and one TCP segment per frame, on our side and the broker's. Its multiplexer
 * writes out whatever the channels queued in one pass, so corking the socket around that pass turns the pass into
 * a single writev. Nothing waits longer than before (the socket is uncorked before the pass returns), so
 * latency is unchanged; the frames simply travel together. A connection of another shape is left as it is.
 */
export function coalesceWrites(model: ChannelModel): void {
  const connection = (model as unknown as { connection?: { muxer?: { _readIncoming?: () => void }; stream?: Writable } }).connection;
  const muxer = connection?.muxer;
  const stream = connection?.stream;
  if (!muxer || typeof muxer._readIncoming !== 'function' || !stream || typeof stream.cork !== 'function') return;
  const pass = muxer._readIncoming.bind(muxer);
  muxer._readIncoming = () => {
    stream.cork();
    try {
      pass();
    } finally {
      stream.uncork();
    }
  };
}

function withHeartbeat(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(HEARTBEAT_SECONDS));
  return parsed.toString();
}

function redact(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  parsed.username = '';
  return parsed.toString();
}
