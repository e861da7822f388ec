// The assistance_requests collection: one document per bot request, keyed by the bot's request_id.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type AssistanceRequest, AssistanceRequestSchema } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import type { Doc, Store, TxScope } from '../platform/store/collection.js';
import { assistanceNotificationKey } from '../common/notification-keys.js';

export interface AssistanceDoc extends Doc {
  topic: string;
  description: string;
  customerId: string;
  botId: string;
  conversationId: string;
  priority: Priority;
  receivedAt: Date;
}

const COLLECTION = 'assistance_requests';

export function toAssistanceRequest(doc: AssistanceDoc): AssistanceRequest {
  return create(AssistanceRequestSchema, {
    requestId: doc._id,
    topic: doc.topic,
    description: doc.description,
    customerId: doc.customerId,
    botId: doc.botId,
    conversationId: doc.conversationId,
    priority: doc.priority,
    receivedAt: timestampFromDate(doc.receivedAt),
    notificationIdempotencyKey: assistanceNotificationKey(doc._id),
  });
}

export class AssistanceRepository {
  constructor(private readonly store: Store) {}

  insert(tx: TxScope, doc: AssistanceDoc): Promise<void> {
    return tx.collection<AssistanceDoc>(COLLECTION).insertOne(doc);
  }

  get(requestId: string): Promise<AssistanceDoc | null> {
    return this.store.collection<AssistanceDoc>(COLLECTION).findOne({ _id: requestId });
  }
}
