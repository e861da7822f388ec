// Scenario 4's servers, one per process, all serving the same handler (IngestionService.GetInteraction, as
// ingestion implements it, over the same in-memory store holding the same interaction):
//   full    - the platform stack: startService(ingestion) with auth, validation, tracing (telemetry registered
//             with --import, as in production), metrics, deadline and error boundary, on the sniffing
//             HTTP/1.1 + h2c port;
//   connect - a bare connect-node handler on a plain http2 (h2c) server;
//   grpc    - a bare @grpc/grpc-js server, the messages coded by the same generated schemas.
// Prints "ready <port>" once listening.
import http2 from 'node:http2';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import {
  GetInteractionRequestSchema,
  type GetInteractionRequest,
  GetInteractionResponseSchema,
  type GetInteractionResponse,
  IngestionService,
} from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import { ingestionHandlers } from '../../services/ingestion/handlers.js';
import { InteractionRepository } from '../../services/ingestion/interactions.js';
import { ingestion } from '../../services/ingestion/service.js';
import { startService } from '../../services/platform/service.js';
import type { Store } from '../../services/platform/store/collection.js';
import { MemoryStore } from '../../services/platform/store/memory.js';
import { interactionDoc } from '../../services/ingestion/interactions.js';
import { CALM_TEXTS } from '../lib/workload.js';

export const MESSAGE_ID = 'bench-rpc-message';

const [kind, portArg, token] = process.argv.slice(2);
const port = Number(portArg);

async function seed(store: Store): Promise<InteractionRepository> {
  const repo = new InteractionRepository(store);
  await repo.init();
  const doc = interactionDoc(
    { messageId: MESSAGE_ID, conversationId: 'bench-conv', customerId: 'bench-cust', agentId: 'agent-1', author: Author.CUSTOMER, channel: 'chat', text: CALM_TEXTS[1] } as never,
    new Date(),
  );
  await repo.insert(store, doc);
  return repo;
}

function handler(repo: InteractionRepository) {
  const impl = ingestionHandlers({ interactions: repo, assistance: undefined as never, transaction: undefined as never, preference: undefined as never });
  return (req: GetInteractionRequest, ctx: HandlerContext) => impl.getInteraction!(req, ctx) as Promise<GetInteractionResponse>;
}

if (kind === 'full') {
  const running = await startService(ingestion, {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PULSE_API_TOKENS: `dev:${token}:admin`,
      PULSE_SERVICE_TOKEN: token,
      PREFERENCE_URL: 'http://127.0.0.1:9',
      AMQP_URL: undefined,
      PULSE_DATA_DIR: undefined,
      MONGODB_URI: undefined,
      LOG_LEVEL: 'info',
    },
  });
  await seed(running.runtime.store);
} else if (kind === 'connect') {
  const repo = await seed(new MemoryStore('pulse_ingestion'));
  const getInteraction = handler(repo);
  const adapter = connectNodeAdapter({ routes: (router: ConnectRouter) => router.service(IngestionService, { getInteraction }) });
  await new Promise<void>((resolve) => http2.createServer(adapter).listen(port, '127.0.0.1', resolve));
} else if (kind === 'grpc') {
  const repo = await seed(new MemoryStore('pulse_ingestion'));
  const getInteraction = handler(repo);
  const server = new grpc.Server();
  const definition: grpc.ServiceDefinition = {
    getInteraction: {
      path: '/pulse.ingestion.v1.IngestionService/GetInteraction',
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: GetInteractionRequest) => Buffer.from(toBinary(GetInteractionRequestSchema, m)),
      requestDeserialize: (b: Buffer) => fromBinary(GetInteractionRequestSchema, b),
      responseSerialize: (m: GetInteractionResponse) => Buffer.from(toBinary(GetInteractionResponseSchema, m)),
      responseDeserialize: (b: Buffer) => fromBinary(GetInteractionResponseSchema, b),
    },
  };
  server.addService(definition, {
    getInteraction: (call: grpc.ServerUnaryCall<GetInteractionRequest, GetInteractionResponse>, callback: grpc.sendUnaryData<GetInteractionResponse>) => {
      getInteraction(call.request, {} as HandlerContext).then(
        (res) => callback(null, create(GetInteractionResponseSchema, res)),
        (err: Error) => callback({ code: grpc.status.INTERNAL, details: err.message }),
      );
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
} else {
  throw new Error(`unknown server kind ${kind}`);
}
process.stdout.write(`ready ${port}\n`);
process.on('SIGTERM', () => process.exit(0));
