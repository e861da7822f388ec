import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { durationFromMs, durationMs } from '@bufbuild/protobuf/wkt';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { ReviewState, Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { ReviewNotice } from '../../gen/pulse/events/v1/events_pb.js';
import { type ClaimReviewResponse, ReviewService } from '../../gen/pulse/review/v1/review_service_pb.js';
import { EmbeddedBus } from '../platform/bus/embedded.js';
import { record } from '../../test/support/events.js';
import { until } from '../../test/support/poll.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { type TestPlatform, testPlatform } from '../../test/support/platform.js';
import { CaseRepository } from './cases.js';
import { reviewHandlers } from './handlers.js';
import { CaseFeed } from './watch.js';
import { ReviewMetrics } from './metrics.js';
import { PolicyRepository } from './policies.js';
import { assess, DEFAULT_POLICY } from './policy.js';

let bus: EmbeddedBus;
let svc: TestPlatform;
let cases: CaseRepository;
let client: ReturnType<typeof createClient<typeof ReviewService>>;
let now: Date;
let conversation = 0;

/** Opens a case the way the consumer does, for a new conversation. */
async function openCase(compound: number, signals: EscalationSignal[] = []): Promise<string> {
  const policy = structuredClone({ ...DEFAULT_POLICY });
  const reasons = assess({ compound, signals, drop: 0, trendKnown: false }, policy)!;
  conversation++;
  const { doc } = await svc.transaction((tx) =>
    cases.file(tx, { conversationId: `conv-${conversation}`, customerId: 'cust', agentId: 'agent', messageId: `msg-${conversation}`, reasons, policy, now }),
  );
  return doc._id;
}

beforeEach(async () => {
  now = new Date('2025-03-01T09:00:00Z');
  bus = new EmbeddedBus();
  svc = await testPlatform('review', bus);
  cases = new CaseRepository(svc.store);
  await cases.init();
  const handlers = reviewHandlers({
    cases,
    policies: new PolicyRepository(svc.store),
    transaction: svc.transaction,
    metrics: new ReviewMetrics(new Registry()),
    watch: { feed: new CaseFeed(cases, { pollMs: 50, overlapMs: 1_000, log: svc.log }), maxMs: 60_000 },
    now: () => now,
  });
  client = createClient(ReviewService, createRouterTransport(({ service }) => service(ReviewService, handlers)));
});

afterEach(async () => {
  await bus.close();
  await svc.store.close();
});

describe('GetReview', () => {
  it('returns a case with why it opened', async () => {
    const id = await openCase(-0.82, [EscalationSignal.REFUND, EscalationSignal.CANCELLATION]);
    const { review } = await client.getReview({ reviewId: id });
    expect(review?.state).toBe(ReviewState.OPEN);
    expect(review?.severity).toBe(Severity.HIGH);
    expect(review?.reasons?.summary).toBe('score -0.82 <= -0.50; signals: cancellation, refund');
    expect(review?.messageIds).toEqual([`msg-${conversation}`]);
    expect(review?.topic).toBe('review');
  });

  it('is not_found naming the id, and invalid_argument without one', async () => {
    const missing = await rejectionOf(client.getReview({ reviewId: 'rev_nope' }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain('"rev_nope"');
    expect((await rejectionOf(client.getReview({ reviewId: '' }))).rawMessage).toBe('review_id: is required');
  });
});

describe('ClaimReview', () => {
  it('gives a case to exactly one of two racing reviewers; the other learns who holds it', async () => {
    for (let round = 0; round < 10; round++) {
      const id = await openCase(-0.7);
      const results = await Promise.allSettled([
        client.claimReview({ reviewId: id, reviewer: 'ana' }),
        client.claimReview({ reviewId: id, reviewer: 'ben' }),
      ]);
      const won = results.filter((r): r is PromiseFulfilledResult<ClaimReviewResponse> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const holder = won[0].value.review!.assignee;
      const error = ConnectError.from(lost[0].reason);
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.rawMessage).toBe(`review "${id}" is already claimed by "${holder}"`);
      const { review } = await client.getReview({ reviewId: id });
      expect(review?.history.filter((t) => t.toState === ReviewState.CLAIMED)).toHaveLength(1);
    }
  });

  it('is a no-op for the reviewer who holds the case', async () => {
    const id = await openCase(-0.7);
    const first = await client.claimReview({ reviewId: id, reviewer: 'ana' });
    now = new Date(now.getTime() + 60_000);
    const again = await client.claimReview({ reviewId: id, reviewer: 'ana' });
    expect(again.review).toEqual(first.review);
  });

  it('validates the request and refuses closed cases', async () => {
    expect((await rejectionOf(client.claimReview({ reviewId: 'rev_x', reviewer: '' }))).rawMessage).toBe('reviewer: is required');
    expect((await rejectionOf(client.claimReview({ reviewId: 'rev_x', reviewer: 'ana' }))).code).toBe(Code.NotFound);
    const id = await openCase(-0.7);
    await client.claimReview({ reviewId: id, reviewer: 'ana' });
    await client.resolveReview({ reviewId: id, reviewer: 'ana', outcome: ReviewState.DISMISSED });
    const err = await rejectionOf(client.claimReview({ reviewId: id, reviewer: 'ben' }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toContain('DISMISSED');
  });
});

describe('ResolveReview', () => {
  it('lets only the claimer resolve, keeps every step and announces the outcome', async () => {
    const resolved = await record(bus, 'review.resolved');
    const id = await openCase(-0.7);
    const unclaimed = await rejectionOf(client.resolveReview({ reviewId: id, reviewer: 'ana', outcome: ReviewState.RESOLVED }));
    expect(unclaimed.code).toBe(Code.FailedPrecondition);

    await client.claimReview({ reviewId: id, reviewer: 'ana' });
    const stranger = await rejectionOf(client.resolveReview({ reviewId: id, reviewer: 'ben', outcome: ReviewState.RESOLVED }));
    expect(stranger.code).toBe(Code.FailedPrecondition);
    expect(stranger.rawMessage).toContain('claimed by "ana"');
    expect((await client.getReview({ reviewId: id })).review?.state).toBe(ReviewState.CLAIMED);

    now = new Date(now.getTime() + 5 * 60_000);
    const { review } = await client.resolveReview({ reviewId: id, reviewer: 'ana', outcome: ReviewState.RESOLVED, note: 'refunded the double charge' });
    expect(review?.state).toBe(ReviewState.RESOLVED);
    expect(review?.history.map((t) => [ReviewState[t.fromState], ReviewState[t.toState], t.actor, t.note])).toEqual([
      ['UNSPECIFIED', 'OPEN', 'review', 'score -0.70 <= -0.50'],
      ['OPEN', 'CLAIMED', 'ana', ''],
      ['CLAIMED', 'RESOLVED', 'ana', 'refunded the double charge'],
    ]);
    const [event] = await until('review.resolved', () => resolved.length === 1 && resolved);
    expect(event).toMatchObject({ reviewId: id, outcome: ReviewState.RESOLVED, reviewer: 'ana' });

    const twice = await rejectionOf(client.resolveReview({ reviewId: id, reviewer: 'ana', outcome: ReviewState.DISMISSED }));
    expect(twice.rawMessage).toBe(`review "${id}" is already RESOLVED`);
  });

  it('hands an escalated case to the escalation routes and to a lead', async () => {
    const required = await record(bus, 'review.required');
    const resolved = await record(bus, 'review.resolved');
    const id = await openCase(-0.2, [EscalationSignal.LEGAL_THREAT]);
    await client.claimReview({ reviewId: id, reviewer: 'ana' });
    now = new Date(now.getTime() + 60 * 60_000);
    const { review } = await client.resolveReview({ reviewId: id, reviewer: 'ana', outcome: ReviewState.ESCALATED, note: 'needs legal' });
    expect(review?.state).toBe(ReviewState.ESCALATED);
    // A fresh SLA for the lead: CRITICAL's 15 minutes from the escalation.
    expect(review?.slaDueAt?.seconds).toBe(BigInt((now.getTime() + 15 * 60_000) / 1000));

    await until('both notices', () => required.length === 1 && resolved.length === 1);
    expect(required[0]).toMatchObject({ reviewId: id, notice: ReviewNotice.ESCALATED, severity: Severity.CRITICAL, reminder: 0 });
    expect(resolved[0]).toMatchObject({ reviewId: id, outcome: ReviewState.ESCALATED, reviewer: 'ana' });

    const lead = await client.claimReview({ reviewId: id, reviewer: 'lead-1' });
    expect(lead.review?.assignee).toBe('lead-1');
    await client.resolveReview({ reviewId: id, reviewer: 'lead-1', outcome: ReviewState.RESOLVED });
  });

  it('names bad fields', async () => {
    const noOutcome = await rejectionOf(client.resolveReview({ reviewId: 'rev_1', reviewer: 'ana' }));
    expect(noOutcome.rawMessage).toMatch(/^outcome: is required/);
    const wrong = await rejectionOf(client.resolveReview({ reviewId: 'rev_1', reviewer: 'ana', outcome: ReviewState.CLAIMED, note: 'n'.repeat(2_001) }));
    expect(wrong.code).toBe(Code.InvalidArgument);
    expect(wrong.rawMessage).toContain('note: must be at most 2000 characters');
    expect(wrong.rawMessage).toContain('outcome: must be REVIEW_STATE_RESOLVED, REVIEW_STATE_DISMISSED or REVIEW_STATE_ESCALATED');
  });
});

describe('ListReviews', () => {
  async function pageThrough(request: { state?: ReviewState; pageSize: number }, between?: (page: number) => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    let pageToken = '';
    for (let page = 0; page < 100; page++) {
      const res = await client.listReviews({ ...request, pageToken });
      seen.push(...res.reviews.map((r) => r.reviewId));
      if (!res.nextPageToken) return seen;
      pageToken = res.nextPageToken;
      await between?.(page);
    }
    throw new Error('paging did not end');
  }

  it('pages oldest first, without repeats or skips, while cases are opened and claimed in between', async () => {
    const before: string[] = [];
    for (let i = 0; i < 5; i++) before.push(await openCase(-0.6));
    const during: string[] = [];
    const seen = await pageThrough({ pageSize: 2 }, async (page) => {
      if (page < 3) during.push(await openCase(-0.6), await openCase(-0.6));
      if (page === 0) await client.claimReview({ reviewId: before[0], reviewer: 'ana' });
    });
    expect(seen).toEqual([...before, ...during]);
  });

  it('filters by state, severity and assignee', async () => {
    const open = await openCase(-0.6);
    const critical = await openCase(-0.1, [EscalationSignal.LEGAL_THREAT]);
    const claimed = await openCase(-0.6);
    await client.claimReview({ reviewId: claimed, reviewer: 'ana' });
    const ids = async (req: Parameters<typeof client.listReviews>[0]) => (await client.listReviews(req)).reviews.map((r) => r.reviewId);
    expect(await ids({ state: ReviewState.OPEN })).toEqual([open, critical]);
    expect(await ids({ severity: Severity.CRITICAL })).toEqual([critical]);
    expect(await ids({ assignee: 'ana' })).toEqual([claimed]);
    expect(await ids({ assignee: 'ben' })).toEqual([]);
    expect(await ids({})).toEqual([open, critical, claimed]);
  });

  it('keeps a token to the filters it was issued for', async () => {
    for (let i = 0; i < 3; i++) await openCase(-0.6);
    const first = await client.listReviews({ state: ReviewState.OPEN, pageSize: 1 });
    expect(first.nextPageToken).not.toBe('');
    const err = await rejectionOf(client.listReviews({ state: ReviewState.CLAIMED, pageToken: first.nextPageToken }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^page_token: was issued for other filters/);
    for (const other of [{ severity: Severity.HIGH }, { assignee: 'ana' }]) {
      const reused = await rejectionOf(client.listReviews({ state: ReviewState.OPEN, ...other, pageToken: first.nextPageToken }));
      expect(reused.rawMessage).toMatch(/^page_token: was issued for other filters/);
    }
    // page_size may change between pages
    const rest = await client.listReviews({ state: ReviewState.OPEN, pageSize: 10, pageToken: first.nextPageToken });
    expect(rest.reviews).toHaveLength(2);
    expect(rest.nextPageToken).toBe('');
  });

  it('defaults to 50 a page and names bad paging input', async () => {
    for (let i = 0; i < 51; i++) await openCase(-0.6);
    const page = await client.listReviews({});
    expect(page.reviews).toHaveLength(50);
    expect(page.nextPageToken).not.toBe('');
    expect((await rejectionOf(client.listReviews({ pageSize: 201 }))).rawMessage).toBe('page_size: must be between 1 and 200 (got 201)');
    expect((await rejectionOf(client.listReviews({ pageSize: -1 }))).rawMessage).toMatch(/^page_size: /);
    expect((await rejectionOf(client.listReviews({ pageToken: 'garbage' }))).rawMessage).toBe('page_token: is not a next_page_token of this list');
    expect((await rejectionOf(client.listReviews({ state: 42 as ReviewState }))).rawMessage).toMatch(/^state: must be one of/);
  });
});

describe('WatchReviewCases', () => {
  it('sends the matching cases, marks the snapshot complete, then each change: claims at once, new cases by polling', async () => {
    now = new Date(); // the poll looks at cases updated since it started
    const before = await openCase(-0.9);
    const claimedElsewhere = await openCase(-0.9);
    await client.claimReview({ reviewId: claimedElsewhere, reviewer: 'ben' });
    const abort = new AbortController();
    const seen: { id: string; state: ReviewState; matches: boolean; complete: boolean }[] = [];
    const watching = (async () => {
      for await (const m of client.watchReviewCases({ state: ReviewState.OPEN }, { signal: abort.signal })) {
        seen.push({ id: m.review?.reviewId ?? '', state: m.review?.state ?? ReviewState.UNSPECIFIED, matches: m.matches, complete: m.snapshotComplete });
      }
    })().catch((err: unknown) => {
      if (ConnectError.from(err).code !== Code.Canceled) throw err;
    });
    await until('the snapshot', () => seen.some((m) => m.complete));
    expect(seen).toEqual([
      { id: before, state: ReviewState.OPEN, matches: true, complete: false },
      { id: '', state: ReviewState.UNSPECIFIED, matches: false, complete: true },
    ]);
    // A claim made through the handlers is announced at once: the case no longer matches OPEN.
    await client.claimReview({ reviewId: before, reviewer: 'ana' });
    await until('the claim', () => seen.length === 3);
    expect(seen[2]).toEqual({ id: before, state: ReviewState.CLAIMED, matches: false, complete: false });
    // A case the consumer opens is found by the poll.
    now = new Date();
    const opened = await openCase(-0.95);
    await until('the new case', () => seen.length === 4);
    expect(seen[3]).toEqual({ id: opened, state: ReviewState.OPEN, matches: true, complete: false });
    // A case that never matched stays out of the stream when it changes.
    await client.resolveReview({ reviewId: claimedElsewhere, reviewer: 'ben', outcome: ReviewState.RESOLVED });
    await client.claimReview({ reviewId: opened, reviewer: 'ana' });
    await until('the second claim', () => seen.length === 5);
    expect(seen[4]).toMatchObject({ id: opened, matches: false });
    abort.abort();
    await watching;
    expect(seen).toHaveLength(5);
  });

  it('filters by assignee and names a bad filter', async () => {
    const mine = await openCase(-0.9);
    const theirs = await openCase(-0.9);
    await client.claimReview({ reviewId: mine, reviewer: 'ana' });
    await client.claimReview({ reviewId: theirs, reviewer: 'ben' });
    const ids: string[] = [];
    for await (const m of client.watchReviewCases({ assignee: 'ana' })) {
      if (m.snapshotComplete) break;
      ids.push(m.review!.reviewId);
    }
    expect(ids).toEqual([mine]);
    const err = await rejectionOf(
      (async () => {
        for await (const _ of client.watchReviewCases({ state: 42 as ReviewState, assignee: 'x'.repeat(300) })) break;
      })(),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toMatch(/state.*assignee/s);
  });
});

describe('review policy', () => {
  it('starts from the default policy', async () => {
    const { policy } = await client.getReviewPolicy({});
    expect(policy?.scoreThreshold).toBe(-0.5);
    expect(policy?.trendDrop).toBe(0.6);
    expect(durationMs(policy!.cooldown!)).toBe(30 * 60_000);
    expect(policy?.topic).toBe('review');
    expect(policy?.version).toBe(0n);
    expect(policy?.caseSignals).toEqual([
      EscalationSignal.CANCELLATION,
      EscalationSignal.REFUND,
      EscalationSignal.LEGAL_THREAT,
      EscalationSignal.REPEATED_CONTACT,
      EscalationSignal.ABUSIVE_LANGUAGE,
      EscalationSignal.HUMAN_REQUEST,
      EscalationSignal.BILLING_DISPUTE,
      EscalationSignal.SERVICE_FAILURE,
      EscalationSignal.PUBLIC_THREAT,
      EscalationSignal.SARCASM,
      EscalationSignal.PRIVACY_REQUEST,
      EscalationSignal.SOURING,
    ]);
    expect(policy?.signalWeights).toEqual([]);
    expect(policy?.slas.map((r) => [Severity[r.severity], durationMs(r.openFor!) / 60_000])).toEqual([
      ['CRITICAL', 15],
      ['HIGH', 60],
      ['MEDIUM', 240],
      ['LOW', 1440],
    ]);
  });

  it('changes the named fields, versions every change and refuses bad values without writing', async () => {
    const bad = await rejectionOf(
      client.updateReviewPolicy({ policy: { scoreThreshold: -1.5, topic: 'escalations' }, updateMask: { paths: ['score_threshold', 'topic'] } }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toBe('policy.score_threshold: must be between -1 and 1 (got -1.5)');
    expect((await client.getReviewPolicy({})).policy?.version).toBe(0n);

    const first = await client.updateReviewPolicy({
      policy: { scoreThreshold: -0.3, cooldown: durationFromMs(10 * 60_000), topic: 'ignored' },
      updateMask: { paths: ['score_threshold', 'cooldown'] },
    });
    expect(first.policy).toMatchObject({ scoreThreshold: -0.3, topic: 'review', version: 1n });
    expect(durationMs(first.policy!.cooldown!)).toBe(10 * 60_000);
    const second = await client.updateReviewPolicy({ policy: { topic: 'support-leads' }, updateMask: { paths: ['topic'] } });
    expect(second.policy).toMatchObject({ scoreThreshold: -0.3, topic: 'support-leads', version: 2n });
    expect((await client.getReviewPolicy({})).policy).toEqual(second.policy);

    const noMask = await rejectionOf(client.updateReviewPolicy({ policy: { scoreThreshold: 0 } }));
    expect(noMask.rawMessage).toMatch(/^update_mask: is required/);
  });

  it('applies concurrent updates one after another', async () => {
    const topics = ['t-a', 't-b', 't-c', 't-d', 't-e'];
    const results = await Promise.all(topics.map((topic) => client.updateReviewPolicy({ policy: { topic }, updateMask: { paths: ['topic'] } })));
    expect(results.map((r) => r.policy?.version).sort()).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect((await client.getReviewPolicy({})).policy?.version).toBe(5n);
  });
});
