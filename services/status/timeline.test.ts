import { describe, expect, it } from 'vitest';
import { Channel, DeliveryState as S } from '../../gen/pulse/common/v1/delivery_pb.js';
import { advance, isSettled, MAX_HISTORY, notificationState, type Step, type Timeline } from './timeline.js';

const T0 = Date.parse('2026-05-01T10:00:00Z');
const step = (state: S, attempt: number, seconds = 0, provider = 'smtp', reason = ''): Step => ({
  state,
  attempt,
  at: new Date(T0 + seconds * 1000),
  provider,
  reason,
});

/** Applies steps in order, skipping the ignored ones, as the consumer does. */
const replay = (steps: Step[], channel = Channel.IN_APP) =>
  steps.reduce<Timeline | undefined>((timeline, s) => advance(timeline, s, channel) ?? timeline, undefined);

describe('advance', () => {
  it('starts a timeline at any state and records each step', () => {
    const t = replay([step(S.PROCESSING, 1, 1), step(S.SENT, 1, 2), step(S.DELIVERED, 1, 3)])!;
    expect(t).toMatchObject({ state: S.DELIVERED, attempt: 1, provider: 'smtp', updatedAt: new Date(T0 + 3000), deliveredAt: new Date(T0 + 3000) });
    expect(t.history.map((h) => S[h.state])).toEqual(['PROCESSING', 'SENT', 'DELIVERED']);
  });

  it('dates arrival at the recipient by what each channel can report', () => {
    const steps = [step(S.PROCESSING, 1, 1), step(S.SENT, 1, 2), step(S.DELIVERED, 1, 3)];
    // Email and SMS report no delivery: SENT is arrival.
    expect(replay(steps.slice(0, 2), Channel.EMAIL)?.deliveredAt).toEqual(new Date(T0 + 2000));
    expect(replay(steps.slice(0, 2), Channel.SMS)?.deliveredAt).toEqual(new Date(T0 + 2000));
    // Slack and the inbox confirm delivery: SENT is not yet arrival, and the first arrival stays.
    expect(replay(steps.slice(0, 2), Channel.SLACK)?.deliveredAt).toBeNull();
    expect(replay(steps, Channel.SLACK)?.deliveredAt).toEqual(new Date(T0 + 3000));
    expect(replay([...steps, step(S.READ, 1, 9, 'inbox')], Channel.IN_APP)?.deliveredAt).toEqual(new Date(T0 + 3000));
    expect(replay([step(S.PROCESSING, 1, 1), step(S.FAILED, 1, 2)], Channel.EMAIL)?.deliveredAt).toBeNull();
  });

  it('ignores a late step entirely: neither state nor history move back', () => {
    const sent = replay([step(S.SENT, 1, 2)])!;
    expect(advance(sent, step(S.PROCESSING, 1, 1), Channel.IN_APP)).toBeUndefined();
    expect(advance(sent, step(S.ACCEPTED, 0, 0), Channel.IN_APP)).toBeUndefined();
    expect(advance(sent, step(S.SENT, 1, 3), Channel.IN_APP)).toBeUndefined(); // a repeat is not a move
  });

  it('ends in the same place whatever order the steps of a retried delivery arrive in', () => {
    const steps = [
      step(S.ACCEPTED, 0, 0),
      step(S.PROCESSING, 1, 1),
      step(S.DEFERRED, 2, 2, 'twilio', 'retry after 503'),
      step(S.PROCESSING, 2, 3, 'twilio'),
      step(S.SENT, 2, 4, 'twilio'),
    ];
    const orders = [steps, [...steps].reverse(), [steps[4], steps[0], steps[2], steps[1], steps[3]], [steps[1], steps[3], steps[0], steps[4], steps[2]]];
    for (const order of orders) {
      const t = replay(order)!;
      expect({ state: S[t.state], attempt: t.attempt, provider: t.provider }).toEqual({ state: 'SENT', attempt: 2, provider: 'twilio' });
      // Whatever was kept moved strictly forward.
      for (let i = 1; i < t.history.length; i++) expect(advance(replay(t.history.slice(0, i)), t.history[i], Channel.IN_APP)).toBeDefined();
    }
  });

  it('records a newer reason for the same wait (a retry that then waits for an open breaker), and ignores an older one', () => {
    const retry = step(S.DEFERRED, 2, 2, 'slack', 'retry: slack http 503');
    const circuit = step(S.DEFERRED, 2, 3, 'slack', 'circuit open');
    const inOrder = replay([step(S.PROCESSING, 1, 1, 'slack'), retry, circuit])!;
    expect(inOrder).toMatchObject({ state: S.DEFERRED, attempt: 2, reason: 'circuit open' });
    expect(inOrder.history.map((h) => h.reason)).toEqual(['', 'retry: slack http 503', 'circuit open']);
    const reversed = replay([step(S.PROCESSING, 1, 1, 'slack'), circuit, retry])!;
    expect(reversed).toMatchObject({ state: S.DEFERRED, attempt: 2, reason: 'circuit open' });
    expect(advance(inOrder, { ...circuit, at: new Date(T0 + 4000) }, Channel.IN_APP)).toBeUndefined(); // same reason again: no step
    expect(advance(inOrder, step(S.DEFERRED, 1, 5, 'slack', 'circuit open'), Channel.IN_APP)).toBeUndefined(); // an older attempt
  });

  it('keeps READ final and lets READ follow only SENT or DELIVERED', () => {
    const delivered = replay([step(S.DELIVERED, 1)])!;
    const read = advance(delivered, step(S.READ, 1, 5, 'inbox'), Channel.IN_APP)!;
    expect(read.state).toBe(S.READ);
    expect(read.deliveredAt).toEqual(delivered.deliveredAt);
    expect(advance(read, step(S.PROCESSING, 2, 6), Channel.IN_APP)).toBeUndefined();
    expect(advance(replay([step(S.PROCESSING, 1)]), step(S.READ, 1), Channel.IN_APP)).toBeUndefined();
  });

  it('keeps the latest MAX_HISTORY steps', () => {
    let t: Timeline | undefined;
    for (let attempt = 1; attempt <= MAX_HISTORY; attempt++) {
      t = advance(t, step(S.PROCESSING, attempt, attempt), Channel.IN_APP);
      t = advance(t, step(S.FAILED, attempt, attempt), Channel.IN_APP);
    }
    expect(t!.history).toHaveLength(MAX_HISTORY);
    expect(t!.history.at(-1)).toMatchObject({ state: S.FAILED, attempt: MAX_HISTORY });
  });
});

describe('notificationState and isSettled', () => {
  it('uses the deliveries once there are any, else the notification itself', () => {
    expect(notificationState(S.UNSPECIFIED, [])).toBe(S.ACCEPTED);
    expect(notificationState(S.CANCELLED, [])).toBe(S.CANCELLED);
    expect(notificationState(S.ACCEPTED, [S.FAILED, S.DELIVERED])).toBe(S.DELIVERED);
    expect(notificationState(S.ACCEPTED, [S.SUPPRESSED, S.PROCESSING])).toBe(S.PROCESSING);
  });

  it('is settled when no delivery can change any more', () => {
    const inApp = (state: S) => ({ state, channel: Channel.IN_APP });
    const email = (state: S) => ({ state, channel: Channel.EMAIL });
    expect(isSettled(S.ACCEPTED, [])).toBe(false);
    expect(isSettled(S.CANCELLED, [])).toBe(true);
    expect(isSettled(S.ACCEPTED, [inApp(S.READ), inApp(S.SUPPRESSED)])).toBe(true);
    expect(isSettled(S.ACCEPTED, [inApp(S.READ), inApp(S.DELIVERED)])).toBe(false); // may still be read
    expect(isSettled(S.ACCEPTED, [inApp(S.READ), email(S.SENT)])).toBe(true); // email reading is not tracked
    expect(isSettled(S.ACCEPTED, [email(S.PROCESSING)])).toBe(false);
  });
});
