// Who may call what. Every RPC of every service needs exactly one scope; callers hold scopes, given one by one or
// through a role (admin, reviewer, bot, service, client, user). The RPC table is typed by the generated service
// descriptors, so an RPC added to a .proto without an entry here does not compile (and test/access checks the
// same at run time against everything in gen/). An RPC that is somehow missing at run time is refused to all.
//
// A few scopes are not needed by any RPC but widen one: `inbox:any`, `status:any` and `preferences:any` let a
// caller act on other users' inboxes, notification statuses and preferences (see access.ts).
import type { DescService } from '@bufbuild/protobuf';
import { SERVICES, type ServiceDescriptor, type ServiceName } from './catalog.js';

/** Every scope, with what it allows (the text docs/security.md and `npm start` show). */
export const SCOPES = {
  'interactions:write': 'submit chat messages (IngestionService SubmitInteraction, SubmitInteractions)',
  'interactions:read': 'read a stored chat message (IngestionService GetInteraction)',
  'assistance:request': 'ask for help with a topic (IngestionService RequestAssistance)',
  'sentiment:analyze': 'score text on demand (SentimentService Analyze, AnalyzeBatch)',
  'sentiment:read': "read a conversation's sentiment trend (SentimentService GetConversationSentiment)",
  'reviews:read': 'list and read review cases (ReviewService ListReviews, GetReview)',
  'reviews:work': 'claim and resolve review cases (ReviewService ClaimReview, ResolveReview)',
  'policy:read': 'read the review policy (ReviewService GetReviewPolicy)',
  'policy:write': 'change the review policy (ReviewService UpdateReviewPolicy)',
  'preferences:read': "read a user's delivery preferences, one's own unless preferences:any (PreferenceService GetPreferences)",
  'preferences:write': "change a user's delivery preferences, one's own unless preferences:any (PreferenceService UpdatePreferences)",
  'preferences:any': 'with preferences:read/write: any user, not only oneself',
  'routes:read': 'list topic routes (PreferenceService ListTopicRoutes)',
  'routes:write': 'add, change and delete topic routes (PreferenceService UpsertTopicRoute, DeleteTopicRoute)',
  'delivery:resolve': 'work out how to deliver a notification (PreferenceService ResolveDelivery)',
  'notifications:send': 'send notifications (NotificationService SendNotification, SendNotifications)',
  'notifications:read': 'read a notification (NotificationService GetNotification)',
  'notifications:cancel': 'cancel a notification (NotificationService CancelNotification)',
  'deadletters:read': 'list dead-lettered deliveries (NotificationService ListDeadLetters)',
  'deadletters:replay': 'replay dead-lettered deliveries (NotificationService ReplayDeadLetters)',
  'status:read':
    "read and watch delivery status, of one's own notifications unless status:any (StatusService GetStatus, WatchStatus)",
  'status:any': 'with status:read: the status of any notification and any user',
  'inbox:read': "read an in-app inbox, one's own (and shared ones granted) unless inbox:any (StatusService ListInbox)",
  'inbox:write': "mark in-app notifications read, in one's own inbox unless inbox:any (StatusService MarkRead)",
  'inbox:any': 'with inbox:read/write: any inbox',
  'stats:read': 'read delivery statistics (StatusService GetDeliveryStats)',
} as const;

export type Scope = keyof typeof SCOPES;
export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

type MethodNames<N extends ServiceName> = keyof ServiceDescriptor<N>['method'];

/** The scope each RPC needs, by service and generated method name. */
export const RPC_SCOPES: { readonly [N in ServiceName]: { readonly [M in MethodNames<N>]: Scope } } = {
  ingestion: {
    submitInteraction: 'interactions:write',
    submitInteractions: 'interactions:write',
    requestAssistance: 'assistance:request',
    getInteraction: 'interactions:read',
  },
  sentiment: {
    analyze: 'sentiment:analyze',
    analyzeBatch: 'sentiment:analyze',
    getConversationSentiment: 'sentiment:read',
  },
  review: {
    listReviews: 'reviews:read',
    getReview: 'reviews:read',
    claimReview: 'reviews:work',
    resolveReview: 'reviews:work',
    getReviewPolicy: 'policy:read',
    updateReviewPolicy: 'policy:write',
  },
  preference: {
    getPreferences: 'preferences:read',
    updatePreferences: 'preferences:write',
    upsertTopicRoute: 'routes:write',
    deleteTopicRoute: 'routes:write',
    listTopicRoutes: 'routes:read',
    resolveDelivery: 'delivery:resolve',
  },
  notification: {
    sendNotification: 'notifications:send',
    sendNotifications: 'notifications:send',
    getNotification: 'notifications:read',
    cancelNotification: 'notifications:cancel',
    listDeadLetters: 'deadletters:read',
    replayDeadLetters: 'deadletters:replay',
  },
  status: {
    getStatus: 'status:read',
    watchStatus: 'status:read',
    listInbox: 'inbox:read',
    markRead: 'inbox:write',
    getDeliveryStats: 'stats:read',
  },
};

export const ROLES = ['admin', 'reviewer', 'bot', 'service', 'client', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** The scopes each role stands for. */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  /** Everything, including the `:any` scopes. */
  admin: ALL_SCOPES,
  /** Works review cases, with the conversation and sentiment behind them; reads its own (and the shared) inbox. */
  reviewer: [
    'reviews:read',
    'reviews:work',
    'policy:read',
    'interactions:read',
    'sentiment:read',
    'inbox:read',
    'inbox:write',
    'status:read',
    'preferences:read',
    'preferences:write',
  ],
  /** Asks for help, nothing else. */
  bot: ['assistance:request'],
  /** What Pulse services call on each other: ingestion and notification call preference. */
  service: ['routes:read', 'delivery:resolve'],
  /** An internal system (chat platform, CRM): feeds conversations, sends notifications and follows them. */
  client: [
    'interactions:write',
    'interactions:read',
    'assistance:request',
    'sentiment:analyze',
    'sentiment:read',
    'notifications:send',
    'notifications:read',
    'notifications:cancel',
    'status:read',
    'status:any',
  ],
  /** A person: their own inbox, their own notifications' status and their own preferences. */
  user: ['inbox:read', 'inbox:write', 'status:read', 'preferences:read', 'preferences:write'],
};

/** Shared inboxes a role may read besides the caller's own: reviewers read `reviewers`, where review cases go. */
export const ROLE_INBOXES: Readonly<Partial<Record<Role, readonly string[]>>> = {
  reviewer: ['reviewers'],
};

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPES, value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Scope lookup by full RPC name: "pulse.review.v1.ReviewService/ClaimReview" -> "reviews:work". */
const byRpc = new Map<string, Scope>();
for (const name of Object.keys(SERVICES) as ServiceName[]) {
  const service: DescService = SERVICES[name].descriptor;
  const table = RPC_SCOPES[name] as Record<string, Scope>;
  for (const method of service.methods) {
    const scope = table[method.localName];
    if (scope) byRpc.set(`${service.typeName}/${method.name}`, scope);
  }
}

/** The scope an RPC needs; undefined for an RPC nobody gave one (refused to every caller). */
export function scopeFor(serviceTypeName: string, methodName: string): Scope | undefined {
  return byRpc.get(`${serviceTypeName}/${methodName}`);
}
