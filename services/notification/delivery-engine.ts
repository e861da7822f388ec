// The delivery engine: the one producer of delivery changes and of notification.status.changed events. Each move
// is decided by transitions.ts, stored by the repository only if the delivery is still as it was read, and reported
// by a status event built from the stored result, in the same unit of work. A delivery that is no longer where a
// move can start (another worker, replica or cancel got there first) is simply not moved: the caller learns it
// from a null, never from an error. Giving up records the dead letter with the move; a replay marks it replayed.
//
// Everything here runs inside a store transaction that may run more than once, so it has no effect but through tx.
import { DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { InboxContent } from '../../gen/pulse/events/v1/events_pb.js';
import type { Transact, UnitOfWork } from '../platform/unit-of-work.js';
import { deadLetterFor, type DeadLetterDoc, type DeadLetterRepository } from './dead-letters.js';
import type { DeliveryDoc, DeliveryRepository } from './deliveries.js';
import type { NotificationDoc, NotificationRepository } from './notifications.js';
import { deliveryChanged, inboxContent, notificationAccepted, type ReportedChange } from './status-events.js';
import { decide, handedOverOnAcceptance, handOverToInbox, type Move, reports, startsWell } from './transitions.js';

export interface DeliveryEngineDeps {
  deliveries: DeliveryRepository;
  notifications: NotificationRepository;
  deadLetters: DeadLetterRepository;
  transaction: Transact;
  /** What the inbox stores for an in-app delivery (its template's, template-cache.ts); default the content as sent. */
  inbox?: (notification: NotificationDoc, delivery: DeliveryDoc) => InboxContent;
}

/** Rolls back a unit of work of several writes when one of them finds its record moved on. */
class NotMoved extends Error {}

export class DeliveryEngine {
  constructor(private readonly deps: DeliveryEngineDeps) {}

  /**
   * Stores a new notification with its planned deliveries, in tx, and reports them all in one status event. An
   * in-app delivery due now is handed to the inbox by that event (stored SENT, reported ACCEPTED then SENT with its
   * content), so it needs no job. Returns the deliveries as stored. Throws a duplicate-key error when the
   * idempotency key is taken.
   */
  async accept(tx: UnitOfWork, notification: NotificationDoc, planned: readonly DeliveryDoc[], at: Date): Promise<DeliveryDoc[]> {
    const misplanned = planned.find((d) => !startsWell(d));
    if (misplanned) {
      throw new Error(`delivery ${misplanned._id} was planned as ${DeliveryState[misplanned.state]}#${misplanned.attempt}, where no delivery starts`);
    }
    const reported: ReportedChange[] = [];
    const stored = planned.map((delivery) => {
      reported.push({ delivery });
      return handedOverOnAcceptance(delivery) ? this.moveUnstored(delivery, handOverToInbox(1, this.inboxContent(notification, delivery)), at, reported) : delivery;
    });
    const purgeAt = this.deps.deliveries.purgeAtOnInsert(stored, at);
    await this.deps.notifications.insert(tx, notification, purgeAt);
    await this.deps.deliveries.insert(tx, stored, purgeAt);
    await tx.emit('notification.status.changed', notificationAccepted(notification, reported));
    return stored;
  }

  /** What the inbox stores for an in-app delivery of the notification. */
  inboxContent(notification: NotificationDoc, delivery: DeliveryDoc): InboxContent {
    return this.deps.inbox ? this.deps.inbox(notification, delivery) : inboxContent(notification);
  }

  /** A delivery not yet stored after the moves, each decided as if stored; what is news is added to reported. */
  private moveUnstored(planned: DeliveryDoc, moves: readonly Move[], at: Date, reported: ReportedChange[]): DeliveryDoc {
    let current = planned;
    for (const move of moves) {
      const change = decide(current, move, at);
      if (!change) throw new Error(`delivery ${planned._id} cannot make the move ${move.kind} from ${DeliveryState[current.state]}`);
      const next: DeliveryDoc = { ...current, ...change, updatedAt: at };
      if (reports(current, next)) reported.push({ delivery: next, inbox: move.kind === 'succeed' ? move.inbox : undefined });
      current = next;
    }
    return current;
  }

  /** Makes one move in tx: the delivery after it, or null when it was not moved. */
  async move(tx: UnitOfWork, seen: DeliveryDoc, move: Move, at: Date): Promise<DeliveryDoc | null> {
    const change = decide(seen, move, at);
    if (!change) return null;
    const next = await this.deps.deliveries.update(tx, seen, change, at);
    if (!next) return null;
    if (reports(seen, next)) {
      await tx.emit('notification.status.changed', deliveryChanged(next, at, move.kind === 'succeed' ? move.inbox : undefined));
    }
    if (move.kind === 'give_up' || (move.kind === 'confirm' && move.state === DeliveryState.FAILED)) {
      await this.deps.deadLetters.insert(tx, deadLetterFor(next, at));
    }
    return next;
  }

  /** Makes the same move for each delivery of a group, in one unit of work; returns those moved, as they are after it. */
  moveEach(group: readonly DeliveryDoc[], move: Move, at: Date): Promise<DeliveryDoc[]> {
    return this.deps.transaction(async (tx) => {
      const moved: DeliveryDoc[] = [];
      for (const d of group) {
        const next = await this.move(tx, d, move, at);
        if (next) moved.push(next);
      }
      return moved;
    });
  }

  /** Moves one delivery through several moves in turn, in one unit of work: the delivery after the last, or null
   *  (and nothing written) when any of them could not be made. */
  async moveThrough(seen: DeliveryDoc, moves: readonly Move[], at: Date): Promise<DeliveryDoc | null> {
    try {
      return await this.deps.transaction(async (tx) => {
        let current = seen;
        for (const move of moves) {
          const next = await this.move(tx, current, move, at);
          if (!next) throw new NotMoved();
          current = next;
        }
        return current;
      });
    } catch (err) {
      if (err instanceof NotMoved) return null;
      throw err;
    }
  }

  /**
   * Replays a dead letter: marks it replayed and starts a new attempt of its delivery, waiting until dueAt, in one
   * unit of work. Null (and nothing written) when the letter was replayed or the delivery moved meanwhile.
   */
  async replay(letter: DeadLetterDoc, delivery: DeliveryDoc, dueAt: Date, at: Date): Promise<DeliveryDoc | null> {
    const move: Move = { kind: 'replay', dueAt };
    if (!decide(delivery, move, at)) return null; // no longer failed: not worth a unit of work
    try {
      return await this.deps.transaction(async (tx) => {
        if (!(await this.deps.deadLetters.markReplayed(tx, letter._id, at))) throw new NotMoved();
        const next = await this.move(tx, delivery, move, at);
        if (!next) throw new NotMoved();
        return next;
      });
    } catch (err) {
      if (err instanceof NotMoved) return null;
      throw err;
    }
  }
}
