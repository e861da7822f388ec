// Typed Connect clients for tests, speaking Connect JSON over HTTP/1.1 (what curl users speak).
import { type Client, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { SERVICES, type ServiceDescriptor, type ServiceName } from '../../services/platform/catalog.js';
import { bearer } from '../../services/platform/peers.js';

export type MeshClients = { [N in ServiceName]: Client<ServiceDescriptor<N>> };

export function meshClients(urls: Record<ServiceName, string>, token: string): MeshClients {
  const clients = {} as Record<ServiceName, unknown>;
  for (const name of Object.keys(SERVICES) as ServiceName[]) {
    const transport = createConnectTransport({
      baseUrl: urls[name],
      httpVersion: '1.1',
      useBinaryFormat: false,
      defaultTimeoutMs: 10_000,
      interceptors: [bearer(token)],
    });
    clients[name] = createClient(SERVICES[name].descriptor, transport);
  }
  return clients as MeshClients;
}

/** The value of one Prometheus counter series in a service's /metrics, 0 when absent. */
export async function metricValue(baseUrl: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (wanted.every((pair) => line.includes(pair))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
