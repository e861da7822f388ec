// The typed clients of the six services, all through the gateway (this page's own origin), with the signed-in
// person's credential on every call. The credential lives in this tab's session storage: never in a URL, a cookie
// or a log.
import { Code, ConnectError, createClient, type Interceptor, type Transport } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { IngestionService } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import { NotificationService } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { PreferenceService } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { ReviewService } from '../../gen/pulse/review/v1/review_service_pb.js';
import { SentimentService } from '../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';

export function makeTransport(token: string): Transport {
  const auth: Interceptor = (next) => (req) => {
    req.header.set('Authorization', `Bearer ${token}`);
    return next(req);
  };
  // gRPC-Web: errors travel in the response's grpc-status, under HTTP 200, so a refusal the console expects (a
  // role without an area, a lost claim race) is not reported by the browser as a failed request.
  return createGrpcWebTransport({ baseUrl: window.location.origin, interceptors: [auth] });
}

export function makeClients(transport: Transport) {
  return {
    ingestion: createClient(IngestionService, transport),
    sentiment: createClient(SentimentService, transport),
    review: createClient(ReviewService, transport),
    preference: createClient(PreferenceService, transport),
    notification: createClient(NotificationService, transport),
    status: createClient(StatusService, transport),
  };
}

export type Clients = ReturnType<typeof makeClients>;

const PLAIN: Partial<Record<Code, string>> = {
  [Code.Unauthenticated]: 'Your sign-in was not accepted (the token is unknown or has expired). Sign in again.',
  [Code.PermissionDenied]: 'You are not allowed to do this.',
  [Code.NotFound]: 'Not found.',
  [Code.InvalidArgument]: 'Some of what you entered is not valid.',
  [Code.FailedPrecondition]: 'This can no longer be done: someone else changed it first.',
  [Code.AlreadyExists]: 'This already exists.',
  [Code.ResourceExhausted]: 'Pulse is busy or a limit was reached. Wait a moment and try again.',
  [Code.Unavailable]: 'A Pulse service cannot be reached right now. Try again in a moment.',
  [Code.DeadlineExceeded]: 'Pulse took too long to answer. Try again.',
};

/** An API error in plain words, with the service's own explanation (which names the field or the holder). */
export function plainError(err: unknown): string {
  const e = ConnectError.from(err);
  const lead = PLAIN[e.code] ?? 'Something went wrong.';
  return e.rawMessage ? `${lead} (${e.rawMessage})` : lead;
}

/** True when the error says the caller may not call this RPC at all. */
export function isRefused(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return code === Code.PermissionDenied || code === Code.Unauthenticated;
}
