// PreferenceService: preferences with optimistic concurrency, topic routes and groups, and ResolveDelivery over
// planDelivery.
// Every change and its preference.changed event commit together, so notification never keeps a stale plan.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  DeliveryPlanSchema,
  GroupSchema,
  type PreferenceService,
  RouteKind,
  RouteTargetKind,
  TopicRouteSchema,
} from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { requireUser } from '../platform/access.js';
import { failedPrecondition, notFound } from '../platform/errors.js';
import { isDuplicateKey } from '../platform/store/collection.js';
import { compareAndSet, RETRY } from '../platform/store/compare-and-set.js';
import type { Transact } from '../platform/unit-of-work.js';
import { Validator } from '../platform/validate.js';
import { maskedChanges, readMask } from './field-mask.js';
import { type GroupDoc, type GroupsRepository } from './groups.js';
import { changed } from './changed.js';
import { deviceHandlers } from './devices-handlers.js';
import type { DevicesRepository } from './devices.js';
import { type Plan, planDelivery, routesOfKind, usersOf } from './plan.js';
import type { PreferencesDoc, PreferencesRepository } from './preferences.js';
import { type RouteDoc, type RouteKey, type RoutesRepository, targetKindOf } from './routes.js';
import { DEFAULT_PREFERENCES, toPreferences, type UserPreferences } from './user-preferences.js';
import { checkGroup, checkResolve, checkRoute, checkSubscriptions } from './validate.js';

export interface PreferenceDeps {
  preferences: PreferencesRepository;
  routes: RoutesRepository;
  groups: GroupsRepository;
  devices: DevicesRepository;
  transaction: Transact;
  now?: () => Date;
}

export function preferenceHandlers(deps: PreferenceDeps): ServiceImpl<typeof PreferenceService> {
  const now = deps.now ?? (() => new Date());

  const preferencesOf = (userId: string, doc: PreferencesDoc | null) =>
    doc ? toPreferences(userId, doc, doc.version, doc.updatedAt) : toPreferences(userId, DEFAULT_PREFERENCES, 0, null);

  /** Stored preferences (or the defaults) with the user's push devices, as planning needs them. */
  const withDevices = (prefs: UserPreferences, deviceIds: readonly string[] | undefined): UserPreferences => ({ ...prefs, pushDevices: deviceIds ?? [] });

  return {
    ...deviceHandlers({ devices: deps.devices, transaction: deps.transaction, now }),

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
      if (key.targetKind === RouteTargetKind.GROUP && (await deps.groups.some([key.target])).length === 0) {
        throw failedPrecondition(`there is no group "${key.target}"; create it first with PreferenceService.UpsertGroup`);
      }
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
        throw notFound(`topic "${key.topic}" has no ${RouteKind[key.kind].toLowerCase()} route with that channel, target and target kind`);
      }
      return { remainingRoutes: remaining };
    },

    async listTopicSubscriptions(req, ctx) {
      new Validator().id('user_id', req.userId).check();
      requireUser(ctx.values, 'preferences', req.userId);
      const [subscribedTopics, availableTopics] = await Promise.all([deps.routes.subscribedBy(req.userId), deps.routes.topics()]);
      return { subscribedTopics, availableTopics };
    },

    async updateTopicSubscriptions(req, ctx) {
      const v = new Validator();
      v.id('user_id', req.userId);
      checkSubscriptions(v, req.subscribe, req.unsubscribe);
      v.check();
      requireUser(ctx.values, 'preferences', req.userId);
      const known = new Set(await deps.routes.topics());
      const unknown = [...new Set(req.subscribe)].filter((topic) => !known.has(topic));
      if (unknown.length > 0) {
        throw failedPrecondition(`no topic ${unknown.map((t) => `"${t}"`).join(', ')} to subscribe to; topics with a route: ${[...known].join(', ') || 'none'}`);
      }
      await deps.transaction(async (tx) => {
        const at = now();
        for (const topic of new Set(req.subscribe)) {
          if ((await deps.routes.upsert(tx, subscription(topic, req.userId), at)).created) await changed(tx, at, { case: 'topic', value: topic });
        }
        for (const topic of new Set(req.unsubscribe)) {
          if (await deps.routes.delete(tx, subscription(topic, req.userId))) await changed(tx, at, { case: 'topic', value: topic });
        }
      });
      return { subscribedTopics: await deps.routes.subscribedBy(req.userId) };
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
        const [doc, devices] = await Promise.all([deps.preferences.get(audience.userId), deps.devices.idsOf([audience.userId])]);
        const preferences = withDevices(doc ?? DEFAULT_PREFERENCES, devices.get(audience.userId));
        const plans = planDelivery({ kind: 'user', userId: audience.userId, preferences }, request);
        return { plans: plans.map(toDeliveryPlan) };
      }
      const routes = await deps.routes.list(audience.topic);
      const chosen = routesOfKind(routes, request.routeKind);
      if (chosen.length === 0) {
        const which = routes.length === 0 ? 'no route' : `no ${RouteKind[request.routeKind].toLowerCase()} route`;
        const known = (await deps.routes.topics()).join(', ') || 'none';
        throw notFound(`topic "${audience.topic}" has ${which}; known topics: ${known} (add one with PreferenceService.UpsertTopicRoute)`);
      }
      const people = await routedPeople(chosen);
      const plans = planDelivery({ kind: 'topic', topic: audience.topic, routes: chosen, people }, request);
      if (plans.length === 0 && !request.channels?.length) {
        throw failedPrecondition(`topic "${audience.topic}"'s routes reach nobody: each names a group without members (add some with PreferenceService.UpsertGroup)`);
      }
      return { plans: plans.map(toDeliveryPlan) };
    },

    async upsertGroup(req) {
      const v = new Validator();
      const { name, userIds } = checkGroup(v, req.group);
      v.check();
      const { group, created } = await deps.transaction(async (tx) => {
        const at = now();
        const result = await deps.groups.upsert(tx, name, userIds, at);
        await changed(tx, at, { case: 'group', value: name });
        return result;
      });
      return { group: toGroup(group), created };
    },

    async deleteGroup(req) {
      new Validator().name('name', req.name).check();
      await deps.transaction(async (tx) => {
        const topics = await deps.routes.namingGroup(tx, req.name);
        if (topics.length > 0) {
          throw failedPrecondition(`group "${req.name}" is named by routes of ${topics.map((t) => `"${t}"`).join(', ')}; delete those routes first`);
        }
        if (!(await deps.groups.delete(tx, req.name))) throw notFound(`there is no group "${req.name}"`);
        await changed(tx, now(), { case: 'group', value: req.name });
      });
      return {};
    },

    async listGroups() {
      return { groups: (await deps.groups.list()).map(toGroup) };
    },
  };

  /** The people the routes name: their groups' members and everyone's stored preferences. */
  async function routedPeople(routes: readonly RouteDoc[]) {
    const groupNames = routes.filter((route) => route.targetKind === RouteTargetKind.GROUP).map((route) => route.target);
    const groups = new Map((await deps.groups.some(groupNames)).map((group) => [group._id, group.userIds]));
    const userIds = [...new Set(routes.flatMap((route) => usersOf(route, groups)))];
    const [stored, devices] = await Promise.all([deps.preferences.some(userIds), deps.devices.idsOf(userIds)]);
    const byUser = new Map(stored.map((doc) => [doc._id, doc as UserPreferences]));
    const preferences = new Map(userIds.map((id) => [id, withDevices(byUser.get(id) ?? DEFAULT_PREFERENCES, devices.get(id))]));
    return { preferences, groups };
  }
}

/** A subscription is the topic's primary route naming the user. */
function subscription(topic: string, userId: string): RouteKey {
  return { topic, channel: Channel.UNSPECIFIED, target: userId, kind: RouteKind.PRIMARY, targetKind: RouteTargetKind.USER };
}

function toGroup(doc: GroupDoc) {
  return create(GroupSchema, { name: doc._id, userIds: doc.userIds, updatedAt: timestampFromDate(doc.updatedAt) });
}

function toTopicRoute(doc: RouteDoc) {
  return create(TopicRouteSchema, {
    topic: doc.topic,
    channel: doc.channel,
    target: doc.target,
    kind: doc.kind,
    targetKind: targetKindOf(doc),
    updatedAt: timestampFromDate(doc.updatedAt),
  });
}

function toDeliveryPlan(plan: Plan) {
  return create(DeliveryPlanSchema, { ...plan, deliverAt: plan.deliverAt ? timestampFromDate(plan.deliverAt) : undefined });
}
