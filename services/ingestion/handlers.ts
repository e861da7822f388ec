// IngestionService: store each message or request once and hand it on as an event, in one unit of work.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { type Client, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { AssistanceRequestedSchema, InteractionReceivedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import {
  IngestionService,
  type SubmitInteractionRequest,
  type SubmitInteractionResponse,
  SubmitInteractionResponseSchema,
  SubmitInteractionResultSchema,
  SubmitInteractionsResponseSchema,
} from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import type { PreferenceService } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { mapConcurrent } from '../platform/concurrency.js';
import { codeName, notFound } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { annotate } from '../platform/span-ids.js';
import { isDuplicateKey } from '../platform/store/collection.js';
import type { Transact } from '../platform/unit-of-work.js';
import { Validator } from '../platform/validate.js';
import { type AssistanceDoc, type AssistanceRepository, toAssistanceRequest } from './assistance.js';
import { type InteractionDoc, interactionDoc, type InteractionRepository, toInteraction } from './interactions.js';
import { checkAssistance, checkInteraction, MAX_BATCH } from './validate.js';

export interface IngestionDeps {
  interactions: InteractionRepository;
  assistance: AssistanceRepository;
  transaction: Transact;
  preference: Client<typeof PreferenceService>;
  now?: () => Date;
}

/** Batches are stored with this many items in flight. */
const BATCH_CONCURRENCY = 16;

export function ingestionHandlers(deps: IngestionDeps): ServiceImpl<typeof IngestionService> {
  const now = deps.now ?? (() => new Date());

  async function submit(req: SubmitInteractionRequest, v: Validator): Promise<SubmitInteractionResponse> {
    const at = now();
    checkInteraction(v, req, at);
    v.check();
    const doc = interactionDoc(req, at);
    try {
      await deps.transaction(async (tx) => {
        await deps.interactions.insert(tx, doc);
        await tx.emit('customer.interaction.new', interactionReceived(doc));
      });
      return create(SubmitInteractionResponseSchema, { interaction: toInteraction(doc), duplicate: false });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const first = await deps.interactions.get(doc._id);
      if (!first) throw err;
      return create(SubmitInteractionResponseSchema, { interaction: toInteraction(first), duplicate: true });
    }
  }

  return {
    submitInteraction: (req) => {
      annotate({ 'pulse.interaction_id': req.messageId, 'pulse.conversation_id': req.conversationId });
      return submit(req, new Validator());
    },

    async submitInteractions(req) {
      const v = new Validator();
      v.count('interactions', req.interactions, { min: 1, max: MAX_BATCH });
      v.check();
      const results = await mapConcurrent(req.interactions, BATCH_CONCURRENCY, async (item, index) => {
        try {
          const { interaction, duplicate } = await submit(item, new Validator(`interactions[${index}]`));
          return create(SubmitInteractionResultSchema, { index, messageId: item.messageId, interaction, duplicate });
        } catch (err) {
          const error = ConnectError.from(err);
          return create(SubmitInteractionResultSchema, {
            index,
            messageId: item.messageId,
            errorCode: codeName(error.code),
            errorMessage: error.rawMessage,
          });
        }
      });
      return create(SubmitInteractionsResponseSchema, {
        results,
        acceptedCount: results.filter((r) => r.interaction && !r.duplicate).length,
        duplicateCount: results.filter((r) => r.duplicate).length,
        rejectedCount: results.filter((r) => r.errorCode !== '').length,
      });
    },

    async requestAssistance(req) {
      annotate({ 'pulse.request_id': req.requestId, 'pulse.conversation_id': req.conversationId });
      const v = new Validator();
      checkAssistance(v, req);
      v.check();
      const existing = await deps.assistance.get(req.requestId);
      if (existing) return { request: toAssistanceRequest(existing), duplicate: true };

      const { routes, topics } = await deps.preference.listTopicRoutes({ topic: req.topic });
      if (routes.length === 0) {
        throw notFound(`topic "${req.topic}" has no route; known topics: ${topics.join(', ') || 'none'} (add one with PreferenceService.UpsertTopicRoute)`);
      }
      const doc: AssistanceDoc = {
        _id: req.requestId,
        topic: req.topic,
        description: req.description,
        customerId: req.customerId,
        botId: req.botId,
        conversationId: req.conversationId,
        priority: req.priority || Priority.HIGH,
        receivedAt: now(),
      };
      try {
        await deps.transaction(async (tx) => {
          await deps.assistance.insert(tx, doc);
          await tx.emit('assistance.requested', assistanceRequested(doc));
        });
        return { request: toAssistanceRequest(doc), duplicate: false };
      } catch (err) {
        const first = isDuplicateKey(err) ? await deps.assistance.get(doc._id) : null;
        if (!first) throw err;
        return { request: toAssistanceRequest(first), duplicate: true };
      }
    },

    async getInteraction(req) {
      const v = new Validator();
      v.id('message_id', req.messageId);
      v.check();
      const doc = await deps.interactions.get(req.messageId);
      if (!doc) throw notFound(`no interaction with message_id "${req.messageId}"`);
      return { interaction: toInteraction(doc) };
    },
  };
}

function interactionReceived(doc: InteractionDoc) {
  return create(InteractionReceivedSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(doc.receivedAt),
    messageId: doc._id,
    conversationId: doc.conversationId,
    customerId: doc.customerId,
    agentId: doc.agentId,
    author: doc.author,
    channel: doc.channel,
    text: doc.text,
    upstreamSentimentScore: doc.upstreamSentimentScore,
    writtenAt: timestampFromDate(doc.occurredAt),
  });
}

function assistanceRequested(doc: AssistanceDoc) {
  return create(AssistanceRequestedSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(doc.receivedAt),
    requestId: doc._id,
    topic: doc.topic,
    description: doc.description,
    customerId: doc.customerId,
    botId: doc.botId,
    conversationId: doc.conversationId,
    priority: doc.priority,
  });
}
