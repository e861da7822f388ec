// Ingestion: the front door for chat messages and bot assistance requests.
import { IngestionService } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import type { ServiceModule } from '../platform/service.js';
import { AssistanceRepository } from './assistance.js';
import { ingestionHandlers } from './handlers.js';
import { InteractionRepository } from './interactions.js';

export const ingestion: ServiceModule = {
  name: 'ingestion',
  peers: ['preference'],
  async start(rt) {
    const interactions = new InteractionRepository(rt.store);
    await interactions.init();
    const handlers = ingestionHandlers({
      interactions,
      assistance: new AssistanceRepository(rt.store),
      transaction: rt.transaction,
      preference: rt.peer('preference'),
    });
    return { routes: (router) => router.service(IngestionService, handlers) };
  },
};
