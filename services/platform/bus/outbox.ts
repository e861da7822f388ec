// Transactional outbox. A service never publishes as a separate step after changing state: the event is written
// to the `outbox` collection in the same unit of work as the change, and this relay publishes it with publisher
// confirms afterwards, then marks the row sent. A crash between commit and publish loses nothing (the poller finds
// the row); a publish repeated after a crash is absorbed by the consumers' inboxes.
import { SpanKind, type Tracer } from '@opentelemetry/api';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { type PeriodicTask, startPeriodic } from '../periodic.js';
import type { Doc, Store, TxScope } from '../store/collection.js';
import { currentTraceHeaders, messageTraceHeaders, withMessageSpan } from '../tracing.js';
import { type EventBus, EXCHANGE } from './bus.js';
import { encodeEvent, type EventName, type EventOf } from './events.js';

export interface OutboxRow extends Doc {
  routingKey: string;
  type: string;
  body: Uint8Array;
  /** Trace context of the unit of work that wrote the row. */
  headers: Record<string, string>;
  createdAt: Date;
  /** Set once the broker confirmed; sent rows are kept for the retention (an hour by default), for inspection. */
  sentAt: Date | null;
}

const COLLECTION = 'outbox';
export const OUTBOX_RETENTION_SECONDS = 3_600;
const POLL_INTERVAL_MS = 1_000;
/** The poller leaves young rows to the fast path that published them right after commit. */
const POLL_MIN_AGE_MS = 2_000;
const BATCH = 500;

/** The message id of an event (its event_id) or delivery job (its job_id). */
function messageId(event: { eventId?: string; jobId?: string }): string {
  const id = event.eventId ?? event.jobId;
  if (!id) throw new Error('an event needs its event_id (or job_id) set before it is emitted');
  return id;
}

export class Outbox {
  private readonly inFlight = new Set<string>();
  private poller: PeriodicTask | undefined;
  private failing = false;
  /** The ids waiting for the next mark-sent update, and when it is done. */
  private marking: { ids: string[]; done: Promise<void> } | undefined;

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly deps: { log: Logger; metrics: Metrics; tracer: Tracer },
    private readonly retentionSeconds = OUTBOX_RETENTION_SECONDS,
  ) {}

  async init(): Promise<void> {
    await this.store.collection<OutboxRow>(COLLECTION).createIndex({ sentAt: 1 }, { expireAfterSeconds: this.retentionSeconds });
    await this.store.collection<OutboxRow>(COLLECTION).createIndex({ createdAt: 1 });
  }

  /** The outbox row of an event, carrying the trace context of the active span (the unit of work emitting it). */
  row<N extends EventName>(name: N, event: EventOf<N>): OutboxRow {
    return {
      _id: messageId(event as { eventId?: string; jobId?: string }),
      routingKey: name,
      ...encodeEvent(name, event),
      headers: currentTraceHeaders(),
      createdAt: new Date(),
      sentAt: null,
    };
  }

  /** Writes rows into the outbox within tx, in one insertMany. */
  async write(tx: TxScope, rows: OutboxRow[]): Promise<void> {
    if (rows.length > 0) await tx.collection<OutboxRow>(COLLECTION).insertMany(rows);
  }

  /** Writes one event into the outbox within tx; returns the row for publishing after commit. */
  async add<N extends EventName>(tx: TxScope, name: N, event: EventOf<N>): Promise<OutboxRow> {
    const row = this.row(name, event);
    await this.write(tx, [row]);
    return row;
  }

  /** Fast path: publish rows right after their unit of work committed. Failures are left to the poller. */
  publishCommitted(rows: OutboxRow[]): void {
    if (rows.length === 0) return;
    this.publish(rows).catch((err: unknown) => this.deps.log.warn({ err }, 'could not mark published outbox rows sent; the poller will publish them again'));
  }

  start(): void {
    this.poller = startPeriodic({
      name: 'outbox poll',
      intervalMs: POLL_INTERVAL_MS,
      startAfterMs: POLL_INTERVAL_MS,
      log: this.deps.log,
      run: async () => void (await this.poll()),
    });
  }

  async stop(): Promise<void> {
    await this.poller?.stop();
    this.poller = undefined;
  }

  /** Publishes every unsent row older than the fast path's window; returns how many were published. */
  async poll(minAgeMs = POLL_MIN_AGE_MS): Promise<number> {
    const outbox = this.store.collection<OutboxRow>(COLLECTION);
    let published = 0;
    for (;;) {
      const rows = (
        await outbox.find({ sentAt: null, createdAt: { $lte: new Date(Date.now() - minAgeMs) } }, { sort: { createdAt: 1 }, limit: BATCH })
      ).filter((row) => !this.inFlight.has(row._id));
      this.deps.metrics.outboxPending.set(await outbox.countDocuments({ sentAt: null }));
      if (rows.length === 0) return published;
      const sent = await this.publish(rows);
      published += sent;
      if (sent < rows.length || rows.length < BATCH) return published;
    }
  }

  /** Publishes rows together, waits for all their confirms, then marks the confirmed ones sent. */
  private async publish(rows: OutboxRow[]): Promise<number> {
    for (const row of rows) this.inFlight.add(row._id);
    try {
      const results = await Promise.allSettled(rows.map((row) => this.publishOne(row)));
      const sent = rows.filter((_, i) => results[i].status === 'fulfilled').map((row) => row._id);
      if (sent.length > 0) await this.markSent(sent);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed && !this.failing) this.deps.log.warn({ err: failed.reason }, 'outbox publish failed; will retry');
      this.failing = failed !== undefined;
      return sent.length;
    } finally {
      for (const row of rows) this.inFlight.delete(row._id);
    }
  }

  /**
   * Marks rows sent. The ids confirmed within one turn of the event loop (the confirms of concurrent units of work
   * arrive together) are marked by one update, so one commit, not one per unit of work.
   */
  private markSent(ids: string[]): Promise<void> {
    if (!this.marking) {
      const batch: string[] = [];
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.marking = undefined;
        await this.store.collection<OutboxRow>(COLLECTION).updateMany({ _id: { $in: batch } }, { $set: { sentAt: new Date() } });
      });
      this.marking = { ids: batch, done };
    }
    this.marking.ids.push(...ids);
    return this.marking.done;
  }

  private publishOne(row: OutboxRow): Promise<void> {
    const attributes = {
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'publish',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': EXCHANGE,
      'messaging.rabbitmq.destination.routing_key': row.routingKey,
      'messaging.message.id': row._id,
      'pulse.event_type': row.type,
    };
    return withMessageSpan(this.deps.tracer, `publish ${row.routingKey}`, SpanKind.PRODUCER, row.headers, attributes, async () => {
      const stop = this.deps.metrics.publishDuration.startTimer({ routing_key: row.routingKey });
      await this.bus.publish({
        id: row._id,
        routingKey: row.routingKey,
        type: row.type,
        body: row.body,
        headers: messageTraceHeaders(),
        timestamp: row.createdAt,
      });
      stop();
      this.deps.metrics.eventsPublished.inc({ routing_key: row.routingKey });
    });
  }
}
