// The scope matrix, over real HTTP against the whole mesh: for each role (and one identity with hand-picked scopes)
// and every RPC of every service (walked from the descriptors), the call is refused with permission_denied exactly
// when the role lacks the RPC's scope. Requests are empty, so an allowed call ends in invalid_argument, not_found or
// success; what matters is that it got past the scope check. Prints the matrix it observed.
import type { DescMethod } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { SERVICE_NAMES, SERVICES, type ServiceName } from '../../services/platform/catalog.js';
import { ROLE_SCOPES, ROLES, type Scope, scopeFor } from '../../services/platform/scopes.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { identities } from './support.js';

const CUSTOM: Scope[] = ['stats:read', 'deadletters:read', 'reviews:read'];
const callers = identities({
  ...(Object.fromEntries(ROLES.map((role) => [`as-${role}`, role])) as Record<`as-${(typeof ROLES)[number]}`, string>),
  'as-custom': CUSTOM.join('+'),
});
const scopesOf = (caller: string): readonly Scope[] => (caller === 'as-custom' ? CUSTOM : ROLE_SCOPES[caller.slice(3) as (typeof ROLES)[number]]);

let mesh: Mesh;
const clients = {} as Record<string, MeshClients>;

beforeAll(async () => {
  mesh = await startMesh({ ports: 'free', env: { ...process.env, PULSE_API_TOKENS: callers.spec, LOG_LEVEL: 'silent' } });
  for (const [name, token] of Object.entries(callers.tokens)) clients[name] = meshClients(mesh.urls, token as string);
});

afterAll(() => mesh?.stop());

/** Calls an RPC with an empty request; the error code, or 'ok'. */
async function callEmpty(api: MeshClients, service: ServiceName, method: DescMethod): Promise<{ code: Code | 'ok'; message: string }> {
  const client = api[service] as unknown as Record<string, (req: object, options?: object) => unknown>;
  try {
    if (method.methodKind === 'server_streaming') {
      const stream = client[method.localName]({}, { timeoutMs: 2_000 }) as AsyncIterable<unknown>;
      for await (const _ of stream) break;
    } else {
      await client[method.localName]({}, { timeoutMs: 5_000 });
    }
    return { code: 'ok', message: '' };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, message: e.rawMessage };
  }
}

const rpcs = SERVICE_NAMES.flatMap((service) => SERVICES[service].descriptor.methods.map((method) => ({ service, method })));

describe('scope matrix (every RPC x each role)', () => {
  it('refuses exactly the RPCs outside each caller\'s scopes, naming the caller and the scope', async () => {
    const names = Object.keys(callers.tokens);
    const lines: string[] = [];
    const mismatches: string[] = [];
    let calls = 0;
    for (const { service, method } of rpcs) {
      const typeName = SERVICES[service].descriptor.typeName;
      const scope = scopeFor(typeName, method.name)!;
      const cells = await Promise.all(
        names.map(async (caller) => {
          const result = await callEmpty(clients[caller], service, method);
          calls++;
          const allowed = scopesOf(caller).includes(scope);
          if (allowed) {
            if (result.code === Code.PermissionDenied || result.code === Code.Unauthenticated) {
              mismatches.push(`${caller} ${service}.${method.name}: expected past the scope check, got ${Code[result.code]}: ${result.message}`);
            }
            return result.code === 'ok' ? 'ok' : 'pass';
          }
          const expected = `caller "${caller}" may not call ${typeName}/${method.name}: it needs scope "${scope}"`;
          if (result.code !== Code.PermissionDenied || result.message !== expected) {
            mismatches.push(`${caller} ${service}.${method.name}: expected permission_denied "${expected}", got ${result.code === 'ok' ? 'ok' : Code[result.code]}: ${result.message}`);
          }
          return 'DENY';
        }),
      );
      lines.push(`  ${`${service}.${method.name}`.padEnd(38)} ${cells.map((c) => c.padEnd(10)).join('')}`);
    }
    console.log(
      `scope matrix, ${calls} calls ("ok"/"pass": past the scope check, ending in success / a request error; DENY: permission_denied)\n` +
        `  ${'RPC'.padEnd(38)} ${names.map((n) => n.slice(3).padEnd(10)).join('')}\n${lines.join('\n')}`,
    );
    expect(mismatches).toEqual([]);
  });

  it('lets a bot ask for help, which ingestion passes on as its own service identity', async () => {
    // RequestAssistance makes ingestion call preference ListTopicRoutes as pulse-ingestion (role service).
    const { request, duplicate } = await clients['as-bot'].ingestion.requestAssistance({
      requestId: 'matrix-assist-1',
      topic: 'sales',
      description: 'Customer asks for a volume discount',
      botId: 'bot-1',
    });
    expect([request!.requestId, duplicate]).toEqual(['matrix-assist-1', false]);
    const denied = await callEmpty(clients['as-service'], 'review', SERVICES.review.descriptor.method.updateReviewPolicy);
    expect(denied).toEqual({ code: Code.PermissionDenied, message: expect.stringContaining('needs scope "policy:write"') });
  });
});
