// PreferenceService: preferences with optimistic concurrency, topic routes, and ResolveDelivery over planDelivery.
// Every change and its preference.changed event commit together, so notification never keeps a stale plan.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { PreferencesChangedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import {
  DeliveryPlanSchema,
  type PreferenceService,
  RouteKind,
  TopicRouteSchema,
} from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { requireUser } from '../platform/access.js';
import { notFound } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { isDuplicateKey } from '../platform/store/collection.js';
import { compareAndSet, RETRY } from '../platform/store/compare-and-set.js';
import type { Transact, UnitOfWork } from '../platform/unit-of-work.js';
import { Validator } from '../platform/validate.js';
import { maskedChanges, readMask } from './field-mask.js';
import { type Plan, planDelivery } from './plan.js';
import type { PreferencesDoc, PreferencesRepository } from './preferences.js';
import type { RouteDoc, RoutesRepository } from './routes.js';
import { DEFAULT_PREFERENCES, toPreferences } from './user-preferences.js';
import { checkResolve, checkRoute } from './validate.js';

export interface PreferenceDeps {
  preferences: PreferencesRepository;
  routes: RoutesRepository;
  transaction: Transact;
  now?: () => Date;
}

export function preferenceHandlers(deps: PreferenceDeps): ServiceImpl<typeof PreferenceService> {
  const now = deps.now ?? (() => new Date());

  const changed = (tx: UnitOfWork, at: Date, subject: { case: 'userId' | 'topic'; value: string }) =>
    tx.emit('preference.changed', create(PreferencesChangedSchema, { eventId: newId('evt'), occurredAt: timestampFromDate(at), subject }));

  const preferencesOf = (userId: string, doc: PreferencesDoc | null) =>
    doc ? toPreferences(userId, doc, doc.version, doc.updatedAt) : toPreferences(userId, DEFAULT_PREFERENCES, 0, null);

  return {
    async getPreferences(req, ctx) {
      new Validator().id('user_id', req.userId).check();
      requireUser(ctx.values, 'preferences', req.userId);
      return { preferences: preferencesOf(req.userId, await deps.preferences.get(req.userId)) };
    },

    async updatePreferences(req, ctx) {
      const v = new Validator();
      const prefs = req.preferences;
      if (!prefs) v.add('preferences', 'is required');
      else v.id('preferences.user_id', prefs.userId);
      const paths = readMask(v, req.updateMask);
      if (req.expectedVersion < 0n || req.expectedVersion > BigInt(Number.MAX_SAFE_INTEGER)) {
        v.add('expected_version', 'must be 0 (no check) or a version returned by GetPreferences');
      }
      const changes = prefs ? maskedChanges(v.nested('preferences'), prefs, paths) : {};
      v.check();
      requireUser(ctx.values, 'preferences', prefs!.userId);

      const userId = prefs!.userId;
      const expected = Number(req.expectedVersion);
      const doc = await compareAndSet(`preferences of user "${userId}"`, async () => {
        try {
          return await deps.transaction(async (tx) => {
            const at = now();
            const updated = await deps.preferences.update(tx, userId, changes, expected, at);
            if (updated) await changed(tx, at, { case: 'userId', value: userId });
            return updated;
          });
        } catch (err) {
          // Two first updates of one user may both try to create the document; the loser applies on top.
          if (isDuplicateKey(err)) return RETRY;
          throw err;
        }
      });
      if (!doc) {
        const current = (await deps.preferences.get(userId))?.version ?? 0;
        throw new ConnectError(`preferences of this user are at version ${current}, not ${expected}; read them again and retry`, Code.Aborted);
      }
      return { preferences: preferencesOf(userId, doc) };
    },

    async upsertTopicRoute(req) {
      const v = new Validator();
      const key = checkRoute(v, req.route);
      v.check();
      const { route, created } = await deps.transaction(async (tx) => {
        const at = now();
        const result = await deps.routes.upsert(tx, key, at);
        // Re-writing an existing route changes no plan, so only a new one is announced.
        if (result.created) await changed(tx, at, { case: 'topic', value: key.topic });
        return result;
      });
      return { route: toTopicRoute(route), created };
    },

    async deleteTopicRoute(req) {
      const v = new Validator();
      const key = checkRoute(v, req.route);
      v.check();
      const remaining = await deps.transaction(async (tx) => {
        if (!(await deps.routes.delete(tx, key))) return undefined;
        await changed(tx, now(), { case: 'topic', value: key.topic });
        return deps.routes.countOf(tx, key.topic);
      });
      if (remaining === undefined) {
        throw notFound(`topic "${key.topic}" has no ${RouteKind[key.kind].toLowerCase()} route with that channel and target`);
      }
      return { remainingRoutes: remaining };
    },

    async listTopicRoutes(req) {
      new Validator().name('topic', req.topic, { optional: true }).check();
      const [routes, topics] = await Promise.all([deps.routes.list(req.topic || undefined), deps.routes.topics()]);
      return { routes: routes.map(toTopicRoute), topics };
    },

    async resolveDelivery(req) {
      const v = new Validator();
      const { audience, request } = checkResolve(v, req, now());
      v.check();
      if (audience.kind === 'user') {
        const doc = await deps.preferences.get(audience.userId);
        const plans = planDelivery({ kind: 'user', userId: audience.userId, preferences: doc ?? DEFAULT_PREFERENCES }, request);
        return { plans: plans.map(toDeliveryPlan) };
      }
      const routes = await deps.routes.list(audience.topic);
      const plans = planDelivery({ kind: 'topic', topic: audience.topic, routes }, request);
      if (plans.length === 0) {
        const which = routes.length === 0 ? 'no route' : `no ${RouteKind[request.routeKind].toLowerCase()} route`;
        const known = (await deps.routes.topics()).join(', ') || 'none';
        throw notFound(`topic "${audience.topic}" has ${which}; known topics: ${known} (add one with PreferenceService.UpsertTopicRoute)`);
      }
      return { plans: plans.map(toDeliveryPlan) };
    },
  };
}

function toTopicRoute(doc: RouteDoc) {
  return create(TopicRouteSchema, {
    topic: doc.topic,
    channel: doc.channel,
    target: doc.target,
    kind: doc.kind,
    updatedAt: timestampFromDate(doc.updatedAt),
  });
}

function toDeliveryPlan(plan: Plan) {
  return create(DeliveryPlanSchema, { ...plan, deliverAt: plan.deliverAt ? timestampFromDate(plan.deliverAt) : undefined });
}
