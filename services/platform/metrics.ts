// Prometheus metrics, one registry per service (so the embedded mesh serves each service's own /metrics). Names
// follow Prometheus conventions: `pulse_` prefix, base units in the name, `_total` on counters.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { documentCounts } from './store/inventory.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Consume lag includes retry backoff (up to minutes), so its buckets reach further. */
const LAG_BUCKETS = [...LATENCY_BUCKETS, 30, 60, 120, 300, 600];

export class Metrics {
  readonly registry = new Registry();

  readonly rpcServerRequests: Counter<'rpc_service' | 'rpc_method' | 'code'>;
  readonly rpcServerDuration: Histogram<'rpc_service' | 'rpc_method'>;
  readonly rpcClientRequests: Counter<'peer' | 'rpc_method' | 'code'>;
  readonly rpcClientDuration: Histogram<'peer' | 'rpc_method'>;
  readonly eventsPublished: Counter<'routing_key'>;
  readonly eventsUnroutable: Counter<'routing_key'>;
  readonly publishDuration: Histogram<'routing_key'>;
  readonly eventsConsumed: Counter<'queue' | 'outcome'>;
  readonly consumeLag: Histogram<'queue'>;
  readonly breakerState: Gauge<'breaker'>;
  readonly outboxPending: Gauge;
  readonly queueDepth: Gauge<'queue'>;
  readonly busConnected: Gauge;
  readonly busReconnects: Counter;
  readonly storeDocuments: Gauge<'collection'>;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.rpcServerRequests = new Counter({
      name: 'pulse_rpc_server_requests_total',
      help: 'RPCs served, by method and Connect code',
      labelNames: ['rpc_service', 'rpc_method', 'code'],
      registers,
    });
    this.rpcServerDuration = new Histogram({
      name: 'pulse_rpc_server_duration_seconds',
      help: 'Time to serve an RPC',
      labelNames: ['rpc_service', 'rpc_method'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.rpcClientRequests = new Counter({
      name: 'pulse_rpc_client_requests_total',
      help: 'RPCs made to peer services, by peer, method and Connect code',
      labelNames: ['peer', 'rpc_method', 'code'],
      registers,
    });
    this.rpcClientDuration = new Histogram({
      name: 'pulse_rpc_client_duration_seconds',
      help: 'Time for a peer to answer an RPC',
      labelNames: ['peer', 'rpc_method'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.eventsPublished = new Counter({
      name: 'pulse_events_published_total',
      help: 'Events published and confirmed by the broker',
      labelNames: ['routing_key'],
      registers,
    });
    this.eventsUnroutable = new Counter({
      name: 'pulse_events_unroutable_total',
      help: 'Events the broker could route to no queue',
      labelNames: ['routing_key'],
      registers,
    });
    this.publishDuration = new Histogram({
      name: 'pulse_event_publish_duration_seconds',
      help: 'Time from publish to broker confirm',
      labelNames: ['routing_key'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.eventsConsumed = new Counter({
      name: 'pulse_events_consumed_total',
      help: 'Events handled, by queue and outcome (processed, duplicate, retried, dead_lettered)',
      labelNames: ['queue', 'outcome'],
      registers,
    });
    this.consumeLag = new Histogram({
      name: 'pulse_event_consume_lag_seconds',
      help: 'Time from an event being published to its handling finishing',
      labelNames: ['queue'],
      buckets: LAG_BUCKETS,
      registers,
    });
    this.breakerState = new Gauge({
      name: 'pulse_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['breaker'],
      registers,
    });
    this.outboxPending = new Gauge({
      name: 'pulse_outbox_pending_events',
      help: 'Events written to the outbox and not yet confirmed by the broker',
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'pulse_queue_depth_messages',
      help: 'Messages ready in a queue this service consumes (or its dead-letter queue), sampled periodically',
      labelNames: ['queue'],
      registers,
    });
    this.busConnected = new Gauge({
      name: 'pulse_bus_connected',
      help: '1 while connected to the message broker, else 0',
      registers,
    });
    this.busReconnects = new Counter({
      name: 'pulse_bus_reconnects_total',
      help: 'Times the broker connection was re-established after being lost',
      registers,
    });
    this.storeDocuments = new Gauge({
      name: 'pulse_store_documents',
      help: 'Documents the embedded (in-memory) store holds, by collection; absent with MongoDB',
      labelNames: ['collection'],
      registers,
      collect() {
        const counts = documentCounts(`pulse_${service}`);
        if (!counts) return;
        this.reset();
        for (const [collection, n] of Object.entries(counts)) this.set({ collection }, n);
      },
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
