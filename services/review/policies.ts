// The policy collection: one document, the policy in force. Absent until the first update, when the built-in
// default applies. Updates are compare-and-set on the version, so two concurrent edits never lose one another.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { SignalWeightSchema } from '../../gen/pulse/common/v1/review_pb.js';
import { type ReviewPolicy, ReviewPolicySchema, SlaRuleSchema } from '../../gen/pulse/review/v1/review_service_pb.js';
import type { Doc, Store, TxScope } from '../platform/store/collection.js';
import { compareAndSet, insertIfAbsent, RETRY } from '../platform/store/compare-and-set.js';
import { DEFAULT_POLICY, type Policy } from './policy.js';

interface PolicyDoc extends Doc, Policy {}

const COLLECTION = 'policy';
const POLICY_ID = 'review';

export function toReviewPolicy(policy: Policy): ReviewPolicy {
  return create(ReviewPolicySchema, {
    scoreThreshold: policy.scoreThreshold,
    caseSignals: policy.caseSignals,
    trendDrop: policy.trendDrop,
    cooldown: durationFromMs(policy.cooldownMs),
    slas: policy.slas.map((rule) => create(SlaRuleSchema, { severity: rule.severity, openFor: durationFromMs(rule.openForMs) })),
    topic: policy.topic,
    signalWeights: policy.signalWeights.map((w) => create(SignalWeightSchema, { signal: w.signal, weight: w.weight })),
    version: BigInt(policy.version),
    updatedAt: policy.updatedAt ? timestampFromDate(policy.updatedAt) : undefined,
  });
}

function fromDoc(doc: PolicyDoc | null): Policy {
  // Read for every analysed message while no policy is stored: a copy made field by field, not by structuredClone,
  // which cost 3% of review's time under load.
  if (!doc) {
    return {
      ...DEFAULT_POLICY,
      caseSignals: [...DEFAULT_POLICY.caseSignals],
      slas: DEFAULT_POLICY.slas.map((rule) => ({ ...rule })),
      signalWeights: [],
    };
  }
  const { _id, ...policy } = doc;
  // A policy stored before signal weights existed weighs every case signal the same.
  return { ...policy, signalWeights: policy.signalWeights ?? [] };
}

export class PolicyRepository {
  constructor(private readonly store: Store) {}

  /** The policy in force, read through tx when given (so a unit of work sees one policy throughout). */
  async get(tx: TxScope = this.store): Promise<Policy> {
    return fromDoc(await tx.collection<PolicyDoc>(COLLECTION).findOne({ _id: POLICY_ID }));
  }

  /**
   * Replaces the policy with change(current), stamped with the next version. change may throw (validation) before
   * anything is written; it runs again if another update landed in between.
   */
  async update(change: (current: Policy) => Policy, now: Date): Promise<Policy> {
    const policies = this.store.collection<PolicyDoc>(COLLECTION);
    return compareAndSet('the review policy', async () => {
      const current = await this.get();
      const next: Policy = { ...change(current), version: current.version + 1, updatedAt: now };
      // Version 0 is the built-in default: nothing stored yet, so the first update creates the document.
      const stored =
        current.version === 0
          ? await insertIfAbsent(policies, { _id: POLICY_ID, ...next })
          : (await policies.findOneAndUpdate({ _id: POLICY_ID, version: current.version }, { $set: { ...next } })) !== null;
      return stored ? next : RETRY;
    });
  }
}
