// Typed clients for the load generator: Connect protocol, binary Protobuf, over one HTTP/2 connection per
// service (what the services use between themselves), carrying the bearer token.
import { type Client, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { SERVICES, type ServiceDescriptor, type ServiceName } from '../../services/platform/catalog.js';
import { bearer } from '../../services/platform/peers.js';

export type Clients = { [N in ServiceName]: Client<ServiceDescriptor<N>> };

export function benchClients(urls: Record<ServiceName, string>, token: string, timeoutMs = 30_000): Clients {
  const clients = {} as Record<ServiceName, unknown>;
  for (const name of Object.keys(SERVICES) as ServiceName[]) {
    const transport = createConnectTransport({
      baseUrl: urls[name],
      httpVersion: '2',
      useBinaryFormat: true,
      defaultTimeoutMs: timeoutMs,
      interceptors: [bearer(token)],
    });
    clients[name] = createClient(SERVICES[name].descriptor, transport);
  }
  return clients as Clients;
}
