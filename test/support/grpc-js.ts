// A stock @grpc/grpc-js client of IngestionService and the health service, loaded from proto/ at run time as a
// non-TypeScript gRPC user would: what the one-port server must serve over h2c and over TLS alike.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface StockGrpcClients {
  ingestion: grpc.Client;
  health: grpc.Client;
  /** Calls a unary method with a 5 s deadline. */
  call<T>(client: grpc.Client, method: string, req: object, metadata?: grpc.Metadata): Promise<T>;
  close(): void;
}

export function stockGrpcClients(address: string, credentials: grpc.ChannelCredentials): StockGrpcClients {
  const definition = protoLoader.loadSync(['pulse/ingestion/v1/ingestion_service.proto', 'grpc/health/v1/health.proto'], {
    includeDirs: ['proto'],
    keepCase: false,
    enums: String,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    pulse: { ingestion: { v1: { IngestionService: grpc.ServiceClientConstructor } } };
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const ingestion = new loaded.pulse.ingestion.v1.IngestionService(address, credentials);
  const health = new loaded.grpc.health.v1.Health(address, credentials);
  return {
    ingestion,
    health,
    call: <T>(client: grpc.Client, method: string, req: object, metadata = new grpc.Metadata()) =>
      new Promise<T>((resolve, reject) =>
        (client as unknown as Record<string, Function>)[method](req, metadata, { deadline: Date.now() + 5_000 }, (err: Error | null, res: T) =>
          err ? reject(err) : resolve(res),
        ),
      ),
    close() {
      ingestion.close();
      health.close();
    },
  };
}
