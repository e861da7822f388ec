// The identities the launchers (npm start, npm run start:mesh, the test meshes) make for the services themselves:
// one per service, `pulse-<service>` with the `service` role, so a peer sees which service calls it and a service
// may call only what services need of each other (ListTopicRoutes, ResolveDelivery).
import { generateToken } from '../platform/auth.js';
import { SERVICE_NAMES, type ServiceName } from '../platform/catalog.js';

export interface ServiceIdentities {
  /** Each service's own token (its PULSE_SERVICE_TOKEN). */
  tokens: Record<ServiceName, string>;
  /** The PULSE_API_TOKENS entries for them: "pulse-ingestion:<token>:service,...". */
  entries: string;
}

export function serviceIdentities(): ServiceIdentities {
  const tokens = Object.fromEntries(SERVICE_NAMES.map((name) => [name, generateToken()])) as Record<ServiceName, string>;
  const entries = SERVICE_NAMES.map((name) => `pulse-${name}:${tokens[name]}:service`).join(',');
  return { tokens, entries };
}
