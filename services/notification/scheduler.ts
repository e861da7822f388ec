// The scheduler: deferred deliveries (quiet hours, digest windows, retries, breaker waits, replays) wait in the
// store with a due time, not in a queue or a consumer. A periodic task, on every replica:
//   - drops deliveries whose notification expired (EXPIRED);
//   - releases due deliveries: claims each with a conditional update (one replica wins) and emits its job on its
//     lane in the same unit of work; the other deliveries of a digest are claimed under the same job;
//   - settles deliveries stuck in PROCESSING past the lease (their worker died) as unknown outcomes.
// Every change of a delivery is a move of the delivery engine (delivery-engine.ts).
import { newId } from '../platform/ids.js';
import type { Logger } from '../platform/log.js';
import { type PeriodicTask, startPeriodic } from '../platform/periodic.js';
import type { Transact } from '../platform/unit-of-work.js';
import type { DeliveryDoc, DeliveryRepository } from './deliveries.js';
import type { DeliveryEngine } from './delivery-engine.js';
import { deliveryJob, laneOf, laneRoutingKey } from './lanes.js';
import { channelLabel, type NotificationMetrics } from './metrics.js';
import type { DeliveryWorker } from './worker.js';

export interface SchedulerDeps {
  deliveries: DeliveryRepository;
  engine: DeliveryEngine;
  transaction: Transact;
  worker: Pick<DeliveryWorker, 'settleLost'>;
  intervalMs: number;
  /** Deliveries handled per query; a tick repeats while full batches come back. */
  batch: number;
  processingLeaseMs: number;
  /** Most deliveries one digest job combines. */
  digestMaxSize: number;
  metrics: NotificationMetrics;
  log: Logger;
  now?: () => Date;
}

/** A tick never runs longer than this many batches, so stop() is never kept waiting long. */
const MAX_ROUNDS = 20;

export class Scheduler {
  private task: PeriodicTask | undefined;
  private readonly now: () => Date;

  constructor(private readonly deps: SchedulerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  start(): void {
    this.task ??= startPeriodic({
      name: 'delivery scheduler',
      intervalMs: this.deps.intervalMs,
      startAfterMs: this.deps.intervalMs,
      run: () => this.tick(),
      log: this.deps.log,
    });
  }

  async stop(): Promise<void> {
    await this.task?.stop();
    this.task = undefined;
  }

  /** One pass over everything due now. */
  async tick(): Promise<void> {
    await this.expire();
    await this.release();
    await this.settleStuck();
  }

  private async expire(): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const at = this.now();
      const expired = await this.deps.deliveries.expiring(at, this.deps.batch);
      let moved = 0;
      for (const d of expired) {
        // One unit of work each: one delivery that cannot be written does not hold the others back.
        if ((await this.deps.engine.moveEach([d], { kind: 'expire' }, at)).length === 0) continue;
        moved++;
        this.deps.metrics.expired.inc({ channel: channelLabel(d.channel) });
        this.deps.metrics.schedulerReleased.inc({ reason: 'expired' });
      }
      if (expired.length < this.deps.batch || moved === 0) return;
    }
  }

  private async release(): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const at = this.now();
      const due = await this.deps.deliveries.due(at, this.deps.batch);
      const taken = new Set<string>();
      let released = 0;
      for (const leader of due) {
        if (taken.has(leader._id)) continue;
        const members = await this.releaseOne(leader, at);
        for (const id of members) taken.add(id);
        if (members.length > 0) {
          released++;
          this.deps.metrics.schedulerReleased.inc({ reason: 'queued' }, members.length);
          this.deps.metrics.schedulerLag.observe(Math.max(0, at.getTime() - (leader.dueAt?.getTime() ?? at.getTime())) / 1000);
        }
      }
      if (due.length < this.deps.batch || released === 0) return;
    }
  }

  /** Claims a due delivery (and its digest mates) for a new job and emits the job; returns the ids claimed. */
  private async releaseOne(leader: DeliveryDoc, at: Date): Promise<string[]> {
    const mates = leader.digestKey ? await this.deps.deliveries.digestMates(leader, this.deps.digestMaxSize - 1) : [];
    return this.deps.transaction(async (tx) => {
      const jobId = newId('job');
      if (!(await this.deps.engine.move(tx, leader, { kind: 'claim', jobId }, at))) return [];
      const claimed = [leader._id];
      for (const mate of mates) {
        if (await this.deps.engine.move(tx, mate, { kind: 'claim', jobId }, at)) claimed.push(mate._id);
      }
      await tx.emit(laneRoutingKey(laneOf(leader.priority)), deliveryJob(leader, jobId, leader.attempt, at));
      return claimed;
    });
  }

  private async settleStuck(): Promise<void> {
    const cutoff = new Date(this.now().getTime() - this.deps.processingLeaseMs);
    const stuck = await this.deps.deliveries.stuck(cutoff, this.deps.batch);
    if (stuck.length === 0) return;
    this.deps.log.warn({ count: stuck.length }, 'deliveries stuck in PROCESSING past their lease; settling as unknown outcomes');
    await this.deps.worker.settleLost(stuck);
    this.deps.metrics.schedulerReleased.inc({ reason: 'stuck' }, stuck.length);
  }
}
