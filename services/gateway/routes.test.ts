import { describe, expect, it } from 'vitest';
import { isGrpc, serviceOfPath } from './routes.js';

describe('serviceOfPath', () => {
  it('routes /pulse.<service>.v1.<Service>/<Method> to that service, and nothing else', () => {
    expect(serviceOfPath('/pulse.review.v1.ReviewService/WatchReviewCases')).toBe('review');
    expect(serviceOfPath('/pulse.status.v1.StatusService/ListInbox')).toBe('status');
    expect(serviceOfPath('/pulse.events.v1.Anything/Method')).toBeUndefined(); // not a service
    expect(serviceOfPath('/pulse.review.v2.ReviewService/ListReviews')).toBeUndefined();
    expect(serviceOfPath('/pulse.review.v1.ReviewService/ListReviews/extra')).toBeUndefined();
    expect(serviceOfPath('/grpc.health.v1.Health/Check')).toBeUndefined();
    expect(serviceOfPath('/reviews/rev_1')).toBeUndefined();
  });
});

describe('isGrpc', () => {
  it('tells gRPC from gRPC-Web and Connect', () => {
    expect(isGrpc('application/grpc')).toBe(true);
    expect(isGrpc('application/grpc+proto')).toBe(true);
    expect(isGrpc('application/grpc-web+proto')).toBe(false);
    expect(isGrpc('application/connect+json')).toBe(false);
    expect(isGrpc(undefined)).toBe(false);
  });
});
