// The RPC -> scope table covers every RPC of every service in gen/ (found by walking gen/, not from a list), and
// the roles are made of real scopes. Prints the role table so a reviewer sees who may call what.
import type { DescService } from '@bufbuild/protobuf';
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVICES } from '../../services/platform/catalog.js';
import { ALL_SCOPES, ROLE_INBOXES, ROLE_SCOPES, ROLES, RPC_SCOPES, type Scope, scopeFor } from '../../services/platform/scopes.js';

const GEN = fileURLToPath(new URL('../../gen/', import.meta.url));
/** Services anyone may call without a token. */
const PUBLIC = new Set(['grpc.health.v1.Health']);

async function generatedServices(): Promise<DescService[]> {
  const files = (readdirSync(GEN, { recursive: true }) as string[]).filter((f) => f.endsWith('_pb.ts'));
  const services: DescService[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(`${GEN}${file}`).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (typeof value === 'object' && value !== null && (value as { kind?: string }).kind === 'service') services.push(value as DescService);
    }
  }
  return services;
}

describe('the scope table', () => {
  it('names a scope for every method of every service in gen/', async () => {
    const services = await generatedServices();
    expect(services.length).toBeGreaterThanOrEqual(7);
    const missing: string[] = [];
    let count = 0;
    for (const service of services) {
      if (PUBLIC.has(service.typeName)) continue;
      for (const method of service.methods) {
        count++;
        if (!scopeFor(service.typeName, method.name)) missing.push(`${service.typeName}/${method.name}`);
      }
    }
    expect(missing, 'RPCs without a scope: add them to RPC_SCOPES in services/platform/scopes.ts').toEqual([]);
    console.log(`scope table: ${count} RPCs in ${services.length - PUBLIC.size} services, each with a scope`);
  });

  it('has no entry for a method that does not exist', () => {
    for (const [name, table] of Object.entries(RPC_SCOPES)) {
      const methods = new Set(SERVICES[name as keyof typeof SERVICES].descriptor.methods.map((m) => m.localName));
      for (const method of Object.keys(table)) expect(methods.has(method), `${name}.${method}`).toBe(true);
    }
  });

  it('uses every scope, for an RPC or as an ":any" widening', () => {
    const used = new Set<Scope>(Object.values(RPC_SCOPES).flatMap((t) => Object.values(t) as Scope[]));
    const unused = ALL_SCOPES.filter((s) => !used.has(s));
    expect(unused.sort()).toEqual(['inbox:any', 'preferences:any', 'status:any']);
  });

  it('builds roles from known scopes; admin has all, bot only RequestAssistance, service only what peers call', () => {
    for (const role of ROLES) for (const scope of ROLE_SCOPES[role]) expect(ALL_SCOPES).toContain(scope);
    expect([...ROLE_SCOPES.admin].sort()).toEqual([...ALL_SCOPES].sort());
    expect(ROLE_SCOPES.bot).toEqual(['assistance:request']);
    expect([...ROLE_SCOPES.service].sort()).toEqual(['delivery:resolve', 'routes:read']);
    for (const role of ['reviewer', 'user'] as const) {
      // People read and change only their own things; nothing administrative.
      expect(ROLE_SCOPES[role].filter((s) => s.endsWith(':any') || ['policy:write', 'routes:write', 'deadletters:replay'].includes(s))).toEqual([]);
    }

    const rows: string[] = [];
    for (const name of Object.keys(SERVICES) as (keyof typeof SERVICES)[]) {
      const service = SERVICES[name].descriptor;
      for (const method of service.methods) {
        const scope = scopeFor(service.typeName, method.name)!;
        const who = ROLES.filter((role) => ROLE_SCOPES[role].includes(scope));
        rows.push(`  ${`${name}.${method.name}`.padEnd(40)} ${scope.padEnd(22)} ${who.join(', ')}`);
      }
    }
    console.log(
      `who may call what (role inboxes: ${JSON.stringify(ROLE_INBOXES)}):\n  ${'RPC'.padEnd(40)} ${'scope'.padEnd(22)} roles\n${rows.join('\n')}`,
    );
  });
});
