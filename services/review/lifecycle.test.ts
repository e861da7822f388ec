import { describe, expect, it } from 'vitest';
import { ReviewState } from '../../gen/pulse/common/v1/review_pb.js';
import { type CaseStanding, decideClaim, isJoinable, resolveRefusal } from './lifecycle.js';

const now = new Date('2025-01-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const standing = (state: ReviewState, assignee = ''): CaseStanding => ({ _id: 'rev_1', state, assignee, updatedAt: now });
const COOLDOWN = 30 * 60_000;

describe('cool-down', () => {
  it('lets a message join an active case updated within the cool-down', () => {
    for (const state of [ReviewState.OPEN, ReviewState.CLAIMED, ReviewState.ESCALATED]) {
      expect(isJoinable({ state, updatedAt: minutesAgo(29) }, now, COOLDOWN)).toBe(true);
      expect(isJoinable({ state, updatedAt: minutesAgo(30) }, now, COOLDOWN)).toBe(true);
      expect(isJoinable({ state, updatedAt: minutesAgo(31) }, now, COOLDOWN)).toBe(false);
    }
  });

  it('never joins a closed case, and a zero cool-down joins nothing older than now', () => {
    expect(isJoinable({ state: ReviewState.RESOLVED, updatedAt: now }, now, COOLDOWN)).toBe(false);
    expect(isJoinable({ state: ReviewState.DISMISSED, updatedAt: now }, now, COOLDOWN)).toBe(false);
    expect(isJoinable({ state: ReviewState.OPEN, updatedAt: minutesAgo(1) }, now, 0)).toBe(false);
  });
});

describe('claiming', () => {
  it('claims OPEN and ESCALATED cases', () => {
    expect(decideClaim(standing(ReviewState.OPEN), 'ana')).toEqual({ kind: 'claim' });
    expect(decideClaim(standing(ReviewState.ESCALATED, 'ana'), 'lead')).toEqual({ kind: 'claim' });
  });

  it('is a no-op for the holder and names the holder to anyone else', () => {
    expect(decideClaim(standing(ReviewState.CLAIMED, 'ana'), 'ana')).toEqual({ kind: 'already-yours' });
    expect(decideClaim(standing(ReviewState.CLAIMED, 'ana'), 'ben')).toEqual({ kind: 'refuse', reason: 'review "rev_1" is already claimed by "ana"' });
  });

  it('refuses closed cases', () => {
    expect(decideClaim(standing(ReviewState.RESOLVED, 'ana'), 'ben').kind).toBe('refuse');
  });
});

describe('resolving', () => {
  it('is for the claimer only', () => {
    expect(resolveRefusal(standing(ReviewState.CLAIMED, 'ana'), 'ana')).toBeUndefined();
    expect(resolveRefusal(standing(ReviewState.CLAIMED, 'ana'), 'ben')).toBe('review "rev_1" is claimed by "ana"; only they can resolve it');
  });

  it('needs a claim first, and cannot close a closed case again', () => {
    expect(resolveRefusal(standing(ReviewState.OPEN), 'ana')).toMatch(/claim it before resolving/);
    expect(resolveRefusal(standing(ReviewState.ESCALATED, 'ana'), 'ana')).toMatch(/claim it before resolving/);
    expect(resolveRefusal(standing(ReviewState.DISMISSED, 'ana'), 'ana')).toBe('review "rev_1" is already DISMISSED');
  });
});
