import { describe, expect, it } from 'vitest';
import { ReviewState, Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { decodePageToken, encodePageToken, type PageFilters } from './page-token.js';

const filters: PageFilters = { state: ReviewState.OPEN, severity: Severity.UNSPECIFIED, assignee: '' };

describe('page tokens', () => {
  it('round-trip the last review id under the same filters', () => {
    const token = encodePageToken('rev_0m3k9x2a1000a1b2c3d4e5f6', filters);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, { ...filters })).toEqual({ afterId: 'rev_0m3k9x2a1000a1b2c3d4e5f6' });
  });

  it('refuse to continue under other filters', () => {
    const token = encodePageToken('rev_1', filters);
    for (const other of [
      { ...filters, state: ReviewState.CLAIMED },
      { ...filters, severity: Severity.HIGH },
      { ...filters, assignee: 'ana' },
    ]) {
      expect(decodePageToken(token, other)).toEqual({ problem: expect.stringMatching(/other filters/) });
    }
  });

  it('refuse anything ListReviews did not issue', () => {
    const forged = [
      'not a token',
      Buffer.from('{"v":2,"after":"rev_1","f":"x"}').toString('base64url'),
      Buffer.from('{"v":1,"after":"","f":"x"}').toString('base64url'),
      Buffer.from('[1,2,3]').toString('base64url'),
      Buffer.from('null').toString('base64url'),
    ];
    for (const token of forged) expect(decodePageToken(token, filters)).toHaveProperty('problem');
  });
});
