// The cases collection: review cases and every step of their lifecycle. Each change is a conditional update on the
// case's version (or state), so racing reviewers, replicas and messages never overwrite each other, on the memory
// store (no isolation) and on MongoDB alike. A small `conversation_cases` collection points at each conversation's
// latest case; moving that pointer is what lets exactly one of two racing messages open the conversation's case.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { SignalEvidenceSchema } from '../../gen/pulse/common/v1/conversation_pb.js';
import type { Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { ReviewState } from '../../gen/pulse/common/v1/review_pb.js';
import {
  type ReviewCase,
  ReviewCaseSchema,
  ReviewReasonsSchema,
  ReviewTransitionSchema,
} from '../../gen/pulse/review/v1/review_service_pb.js';
import { failedPrecondition, notFound } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { Doc, Filter, Store, TxScope } from '../platform/store/collection.js';
import { compareAndSet, insertIfAbsent, RETRY } from '../platform/store/compare-and-set.js';
import { afterPosition, keysetPage } from '../platform/store/keyset-page.js';
import { decideClaim, isJoinable, resolveRefusal, UNCLAIMED_STATES } from './lifecycle.js';
import { mergeReasons, type Policy, type Reasons, summarize } from './policy.js';
import { severityOf } from './severity.js';
import { nextReminderDue, slaDueAt, tightenedDue } from './sla.js';

export interface TransitionDoc {
  from: ReviewState;
  to: ReviewState;
  actor: string;
  at: Date;
  note: string;
}

export interface CaseDoc extends Doc {
  conversationId: string;
  customerId: string;
  agentId: string;
  state: ReviewState;
  severity: Severity;
  reasons: Reasons;
  messageIds: string[];
  assignee: string;
  history: TransitionDoc[];
  topic: string;
  createdAt: Date;
  updatedAt: Date;
  slaDueAt: Date;
  reminderCount: number;
  version: number;
}

interface PointerDoc extends Doc {
  caseId: string;
  version: number;
}

/** The actor recorded for steps the service takes itself. */
export const SERVICE_ACTOR = 'review';

const CASES = 'cases';
const POINTERS = 'conversation_cases';

export interface AmissMessage {
  conversationId: string;
  customerId: string;
  agentId: string;
  messageId: string;
  reasons: Reasons;
  policy: Policy;
  now: Date;
}

export interface ListFilter {
  state: ReviewState;
  severity: Severity;
  assignee: string;
}

export function toReviewCase(doc: CaseDoc): ReviewCase {
  return create(ReviewCaseSchema, {
    reviewId: doc._id,
    conversationId: doc.conversationId,
    customerId: doc.customerId,
    agentId: doc.agentId,
    state: doc.state,
    severity: doc.severity,
    reasons: create(ReviewReasonsSchema, {
      lowestScore: doc.reasons.lowestScore,
      scoreThreshold: doc.reasons.scoreThreshold,
      signals: doc.reasons.signals,
      trendDrop: doc.reasons.trendDrop,
      summary: summarize(doc.reasons),
      trendDropThreshold: doc.reasons.trendDropThreshold,
      evidence: (doc.reasons.evidence ?? []).map((e) => create(SignalEvidenceSchema, e)),
    }),
    messageIds: doc.messageIds,
    assignee: doc.assignee,
    history: doc.history.map((t) =>
      create(ReviewTransitionSchema, { fromState: t.from, toState: t.to, actor: t.actor, at: timestampFromDate(t.at), note: t.note }),
    ),
    createdAt: timestampFromDate(doc.createdAt),
    updatedAt: timestampFromDate(doc.updatedAt),
    slaDueAt: timestampFromDate(doc.slaDueAt),
    reminderCount: doc.reminderCount,
    topic: doc.topic,
  });
}

function openedCase(m: AmissMessage): CaseDoc {
  const severity = severityOf(m.reasons, m.policy);
  return {
    _id: newId('rev'),
    conversationId: m.conversationId,
    customerId: m.customerId,
    agentId: m.agentId,
    state: ReviewState.OPEN,
    severity,
    reasons: m.reasons,
    messageIds: [m.messageId],
    assignee: '',
    history: [{ from: ReviewState.UNSPECIFIED, to: ReviewState.OPEN, actor: SERVICE_ACTOR, at: m.now, note: summarize(m.reasons) }],
    topic: m.policy.topic,
    createdAt: m.now,
    updatedAt: m.now,
    slaDueAt: slaDueAt(m.now, severity, m.policy),
    reminderCount: 0,
    version: 1,
  };
}

/** The case after it gathered one more amiss message: reasons merged, severity never lower. */
function joined(c: CaseDoc, m: AmissMessage): Pick<CaseDoc, 'reasons' | 'severity' | 'slaDueAt'> {
  const reasons = mergeReasons(c.reasons, m.reasons);
  const severity = Math.max(c.severity, severityOf(reasons, m.policy)) as Severity;
  const sooner = severity > c.severity && c.state === ReviewState.OPEN;
  return { reasons, severity, slaDueAt: sooner ? tightenedDue(c.slaDueAt, c.createdAt, severity, m.policy) : c.slaDueAt };
}

export class CaseRepository {
  constructor(private readonly store: Store) {}

  async init(): Promise<void> {
    const cases = this.store.collection<CaseDoc>(CASES);
    await cases.createIndex({ state: 1, slaDueAt: 1 });
    await cases.createIndex({ state: 1, _id: 1 });
    await cases.createIndex({ assignee: 1, _id: 1 });
    await cases.createIndex({ updatedAt: 1, _id: 1 });
  }

  get(reviewId: string): Promise<CaseDoc | null> {
    return this.store.collection<CaseDoc>(CASES).findOne({ _id: reviewId });
  }

  /**
   * Files an amiss message: it joins the conversation's latest case while that is active and was updated within
   * the cool-down, else it opens a new case. `opened` says which.
   */
  async file(tx: TxScope, m: AmissMessage): Promise<{ doc: CaseDoc; opened: boolean }> {
    const cases = tx.collection<CaseDoc>(CASES);
    const pointers = tx.collection<PointerDoc>(POINTERS);
    return compareAndSet(`the cases of conversation "${m.conversationId}"`, async () => {
      const pointer = await pointers.findOne({ _id: m.conversationId });
      const latest = pointer ? await cases.findOne({ _id: pointer.caseId }) : null;
      if (latest?.messageIds.includes(m.messageId)) return { doc: latest, opened: false };
      if (latest && isJoinable(latest, m.now, m.policy.cooldownMs)) {
        const doc = await cases.findOneAndUpdate(
          { _id: latest._id, version: latest.version },
          { $set: { ...joined(latest, m), updatedAt: m.now }, $push: { messageIds: m.messageId }, $inc: { version: 1 } },
          { returnDocument: 'after' },
        );
        return doc ? { doc, opened: false } : RETRY;
      }
      // The case exists before the pointer names it, so whoever reads the pointer finds its case.
      const doc = openedCase(m);
      await cases.insertOne(doc);
      if (await this.movePointer(tx, m.conversationId, pointer, doc._id)) return { doc, opened: true };
      await cases.deleteOne({ _id: doc._id }); // another message opened the case first: join that one
      return RETRY;
    });
  }

  private async movePointer(tx: TxScope, conversationId: string, seen: PointerDoc | null, caseId: string): Promise<boolean> {
    const pointers = tx.collection<PointerDoc>(POINTERS);
    if (seen) {
      return (await pointers.findOneAndUpdate({ _id: conversationId, version: seen.version }, { $set: { caseId }, $inc: { version: 1 } })) !== null;
    }
    return insertIfAbsent(pointers, { _id: conversationId, caseId, version: 1 });
  }

  /** Gives an unclaimed case to reviewer. Of two racing claims exactly one wins; the other is told who holds it. */
  async claim(reviewId: string, reviewer: string, now: Date): Promise<CaseDoc> {
    const cases = this.store.collection<CaseDoc>(CASES);
    return compareAndSet(`review "${reviewId}"`, async () => {
      const current = await cases.findOne({ _id: reviewId });
      if (!current) throw notFound(`no review case with review_id "${reviewId}"`);
      const decision = decideClaim(current, reviewer);
      if (decision.kind === 'already-yours') return current;
      if (decision.kind === 'refuse') throw failedPrecondition(decision.reason);
      const claimed = await cases.findOneAndUpdate(
        { _id: reviewId, version: current.version },
        {
          $set: { state: ReviewState.CLAIMED, assignee: reviewer, updatedAt: now },
          $push: { history: { from: current.state, to: ReviewState.CLAIMED, actor: reviewer, at: now, note: '' } },
          $inc: { version: 1 },
        },
        { returnDocument: 'after' },
      );
      return claimed ?? RETRY;
    });
  }

  /** Moves a claimed case to outcome, as its claimer. An escalated case waits for a lead, with a fresh SLA. */
  async resolve(
    tx: TxScope,
    step: { reviewId: string; reviewer: string; outcome: ReviewState; note: string; now: Date; policy: Policy },
  ): Promise<CaseDoc> {
    const cases = tx.collection<CaseDoc>(CASES);
    return compareAndSet(`review "${step.reviewId}"`, async () => {
      const current = await cases.findOne({ _id: step.reviewId });
      if (!current) throw notFound(`no review case with review_id "${step.reviewId}"`);
      const refusal = resolveRefusal(current, step.reviewer);
      if (refusal) throw failedPrecondition(refusal);
      const escalated = step.outcome === ReviewState.ESCALATED;
      const resolved = await cases.findOneAndUpdate(
        { _id: step.reviewId, version: current.version },
        {
          $set: {
            state: step.outcome,
            updatedAt: step.now,
            ...(escalated ? { slaDueAt: slaDueAt(step.now, current.severity, step.policy) } : {}),
          },
          $push: { history: { from: current.state, to: step.outcome, actor: step.reviewer, at: step.now, note: step.note } },
          $inc: { version: 1 },
        },
        { returnDocument: 'after' },
      );
      return resolved ?? RETRY;
    });
  }

  /**
   * One page in creation order (ids sort by creation, so a case opened while someone pages lands after the ids
   * already seen), with the token of the next; the token only continues under the same filter.
   */
  list(filter: ListFilter, page: { pageSize: number; pageToken: string }): Promise<{ items: CaseDoc[]; nextPageToken: string }> {
    const query: Filter = {};
    if (filter.state) query.state = filter.state;
    if (filter.severity) query.severity = filter.severity;
    if (filter.assignee) query.assignee = filter.assignee;
    const binding = { state: filter.state, severity: filter.severity, assignee: filter.assignee };
    return keysetPage(this.store.collection<CaseDoc>(CASES), { filter: query, sort: { _id: 1 }, ...page, binding });
  }

  /** Cases updated after a position (updatedAt, then id), in that order: what watchers poll. */
  updatedSince(after: { updatedAt: Date; id: string }, limit: number): Promise<CaseDoc[]> {
    const sort = { updatedAt: 1, _id: 1 } as const;
    return this.store.collection<CaseDoc>(CASES).find(afterPosition(sort, [after.updatedAt, after.id]), { sort, limit });
  }

  /** Unclaimed cases past their SLA, most overdue first. */
  overdue(now: Date, limit: number): Promise<CaseDoc[]> {
    return this.store
      .collection<CaseDoc>(CASES)
      .find({ state: { $in: [...UNCLAIMED_STATES] }, slaDueAt: { $lte: now } }, { sort: { slaDueAt: 1 }, limit });
  }

  /**
   * Counts one more reminder for an overdue case and moves its due time on, unless someone got there first (a
   * claim, or another replica's reminder): then null, and no reminder is sent.
   */
  remind(tx: TxScope, c: CaseDoc, now: Date, slaMs: number): Promise<CaseDoc | null> {
    return tx.collection<CaseDoc>(CASES).findOneAndUpdate(
      { _id: c._id, state: c.state, reminderCount: c.reminderCount, slaDueAt: { $lte: now } },
      { $set: { slaDueAt: nextReminderDue(c.slaDueAt, now, slaMs) }, $inc: { reminderCount: 1, version: 1 } },
      { returnDocument: 'after' },
    );
  }
}
