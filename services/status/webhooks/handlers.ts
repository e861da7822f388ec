// The webhook RPCs of StatusService: register, list and remove endpoints; list and replay dead letters.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { DeliveryStateSchema } from '../../../gen/pulse/common/v1/delivery_pb.js';
import {
  type StatusService,
  WebhookDeadLetterSchema,
  type WebhookEndpoint,
  WebhookEndpointSchema,
} from '../../../gen/pulse/status/v1/status_service_pb.js';
import { callerName } from '../../platform/access.js';
import { notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { Store } from '../../platform/store/collection.js';
import { pageSize, Validator } from '../../platform/validate.js';
import { AddressRefused, resolveChecked, urlProblem } from './address-check.js';
import type { EndpointDoc, EndpointsRepository } from './endpoints.js';
import type { MessageDoc, MessagesRepository } from './messages.js';
import type { WebhookSettings } from './sender.js';
import { newWebhookSecret, secretKey } from './signature.js';

export type WebhookMethods =
  | 'createWebhookEndpoint'
  | 'listWebhookEndpoints'
  | 'deleteWebhookEndpoint'
  | 'listWebhookDeadLetters'
  | 'replayWebhookDeadLetters';

const MAX_REPLAY = 500;

export function webhookHandlers(deps: {
  store: Store;
  endpoints: EndpointsRepository;
  messages: MessagesRepository;
  settings: WebhookSettings;
  now?: () => Date;
}): Pick<ServiceImpl<typeof StatusService>, WebhookMethods> {
  const now = deps.now ?? (() => new Date());

  return {
    async createWebhookEndpoint(req, ctx: HandlerContext) {
      const v = new Validator();
      const endpoint = req.endpoint;
      if (!endpoint) v.add('endpoint', 'is required');
      else checkEndpoint(v.nested('endpoint'), endpoint, deps.settings);
      if (req.secret !== '' && !secretKey(req.secret)) v.add('secret', 'must be "whsec_" followed by base64 of 24 to 64 bytes, or empty');
      v.check();
      const url = new URL(endpoint!.url);
      try {
        await resolveChecked(url, deps.settings);
      } catch (err) {
        const why = err instanceof AddressRefused ? err.message : `its host does not resolve (${(err as Error).message})`;
        throw new ConnectError(`endpoint.url: ${why}`, Code.InvalidArgument);
      }
      const doc: EndpointDoc = {
        _id: newId('whe'),
        url: endpoint!.url,
        secret: req.secret || newWebhookSecret(),
        notificationTypes: [...new Set(endpoint!.notificationTypes)],
        states: [...new Set(endpoint!.states)],
        description: endpoint!.description,
        createdAt: now(),
        createdBy: callerName(ctx.values),
      };
      await deps.endpoints.insert(doc);
      return { endpoint: toEndpoint(doc), secret: doc.secret };
    },

    async listWebhookEndpoints() {
      return { endpoints: (await deps.endpoints.all()).map(toEndpoint) };
    },

    async deleteWebhookEndpoint(req) {
      new Validator().id('endpoint_id', req.endpointId).check();
      const dropped = await deps.store.transaction(async (tx) => {
        if (!(await deps.endpoints.delete(tx, req.endpointId))) return undefined;
        return deps.messages.dropPending(tx, req.endpointId);
      });
      if (dropped === undefined) throw notFound(`there is no webhook endpoint "${req.endpointId}"`);
      return { droppedMessages: dropped };
    },

    async listWebhookDeadLetters(req) {
      const v = new Validator();
      v.id('endpoint_id', req.endpointId, { optional: true });
      const limit = pageSize(v, req.pageSize, { fallback: 100, max: 500 });
      v.check();
      return { deadLetters: (await deps.messages.dead(req.endpointId, limit)).map(toDeadLetter) };
    },

    async replayWebhookDeadLetters(req) {
      const v = new Validator();
      if ((req.messageIds.length === 0) === (req.endpointId === '')) v.add('message_ids', 'name dead letters, or set endpoint_id instead (not both)');
      v.count('message_ids', req.messageIds, { max: MAX_REPLAY });
      req.messageIds.forEach((id, i) => v.id(`message_ids[${i}]`, id));
      v.id('endpoint_id', req.endpointId, { optional: true });
      v.check();
      const filter = req.endpointId ? { endpointId: req.endpointId } : { messageIds: req.messageIds };
      return { replayed: await deps.messages.replay(filter, now()) };
    },
  };
}

function checkEndpoint(v: Validator, endpoint: WebhookEndpoint, settings: WebhookSettings): void {
  if (endpoint.url === '') v.add('url', 'is required');
  else {
    const problem = urlProblem(endpoint.url, settings);
    if (problem) v.add('url', problem);
  }
  endpoint.notificationTypes.forEach((type, i) => v.name(`notification_types[${i}]`, type));
  endpoint.states.forEach((state, i) => v.enumValue(`states[${i}]`, state, DeliveryStateSchema));
  if (endpoint.description.length > 200) v.add('description', `must be at most 200 characters (got ${endpoint.description.length})`);
}

function toEndpoint(doc: EndpointDoc) {
  return create(WebhookEndpointSchema, {
    endpointId: doc._id,
    url: doc.url,
    notificationTypes: doc.notificationTypes,
    states: doc.states,
    description: doc.description,
    createdAt: timestampFromDate(doc.createdAt),
    createdBy: doc.createdBy,
  });
}

function toDeadLetter(doc: MessageDoc) {
  return create(WebhookDeadLetterSchema, {
    messageId: doc._id,
    endpointId: doc.endpointId,
    notificationId: doc.notificationId,
    state: doc.state,
    attempts: doc.attempts,
    lastError: doc.lastError,
    deadAt: doc.deadAt ? timestampFromDate(doc.deadAt) : undefined,
  });
}
