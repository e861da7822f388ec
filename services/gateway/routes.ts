// Which service a call on the gateway goes to: its path names the package, `/pulse.<service>.v1.<Service>/<Method>`.
import { SERVICE_NAMES, type ServiceName } from '../platform/catalog.js';

const RPC_PATH = /^\/pulse\.([a-z]+)\.v1\.[A-Za-z]+\/[A-Za-z]+$/;

/** The service an RPC path belongs to, or undefined when the path is not a Pulse RPC. */
export function serviceOfPath(path: string): ServiceName | undefined {
  const name = RPC_PATH.exec(path)?.[1];
  return SERVICE_NAMES.find((service) => service === name);
}

/** gRPC proper (not gRPC-Web): errors go in grpc-status headers, not in an HTTP status. */
export function isGrpc(contentType: string | undefined): boolean {
  return /^application\/grpc(\+[a-z]+)?(;|$)/.test(contentType ?? '');
}
