// The scope table comes from the contracts: every RPC of every service in gen/ (found by walking gen/, not from a
// list) names a scope its service declares, a contract that does not is refused before anything starts, the roles
// are made of real scopes, and docs/security.md lists them all. Prints the role table so a reviewer sees who may
// call what.
import { create, createFileRegistry, type DescService, getOption, setExtension } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, file_google_protobuf_descriptor, MethodOptionsSchema, ServiceOptionsSchema } from '@bufbuild/protobuf/wkt';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import { file_pulse_options_v1_options, Role, ScopeDefinitionSchema, scope, scopes } from '../../gen/pulse/options/v1/options_pb.js';
import { SERVICES } from '../../services/platform/catalog.js';
import { buildScopeTable } from '../../services/platform/scope-table.js';
import { ALL_SCOPES, ROLE_INBOXES, ROLE_SCOPES, ROLES, SCOPE_TABLE, scopeFor } from '../../services/platform/scopes.js';

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

/** A one-service contract, built in memory: its declared scopes (name -> roles) and its RPCs' scopes. */
function contract(declared: Record<string, Role[]>, rpcs: Record<string, string | undefined>): DescService {
  const options = create(ServiceOptionsSchema);
  setExtension(
    options,
    scopes,
    Object.entries(declared).map(([name, roles]) => create(ScopeDefinitionSchema, { name, description: `may ${name}`, roles })),
  );
  const method = (name: string, needed: string | undefined) => {
    const methodOptions = create(MethodOptionsSchema);
    if (needed !== undefined) setExtension(methodOptions, scope, needed);
    return { name, inputType: '.test.v1.Empty', outputType: '.test.v1.Empty', options: methodOptions };
  };
  const file = create(FileDescriptorProtoSchema, {
    name: 'test/v1/test.proto',
    package: 'test.v1',
    syntax: 'proto3',
    dependency: ['pulse/options/v1/options.proto'],
    messageType: [{ name: 'Empty' }],
    service: [{ name: 'TestService', options, method: Object.entries(rpcs).map(([name, needed]) => method(name, needed)) }],
  });
  const known = new Map([file_pulse_options_v1_options, file_google_protobuf_descriptor].map((f) => [f.name + '.proto', f]));
  return createFileRegistry(file, (name) => known.get(name)).getService('test.v1.TestService')!;
}

describe('the scope table', () => {
  it('names a declared scope for every method of every service in gen/', async () => {
    const services = await generatedServices();
    expect(services.length).toBeGreaterThanOrEqual(7);
    const missing: string[] = [];
    let count = 0;
    for (const service of services) {
      if (PUBLIC.has(service.typeName)) continue;
      expect(() => buildScopeTable([service]), service.typeName).not.toThrow();
      for (const method of service.methods) {
        count++;
        const needed = getOption(method, scope);
        if (!needed || scopeFor(service.typeName, method.name) !== needed) missing.push(`${service.typeName}/${method.name}`);
      }
    }
    expect(missing, 'RPCs without a scope in the running table: give them (pulse.options.v1.scope), their service a catalog entry').toEqual([]);
    console.log(`scope table: ${count} RPCs in ${services.length - PUBLIC.size} services, each with a scope`);
  });

  it('refuses, naming each, contracts whose RPCs lack a scope or name one their service does not declare', () => {
    expect(() => buildScopeTable([Health])).toThrow('grpc.health.v1.Health/Check has no (pulse.options.v1.scope)');
    expect(() => buildScopeTable([contract({ 'things:read': [] }, { GetThing: 'things:read', ListThings: undefined, DropThing: 'things:drop' })])).toThrow(
      [
        "the contracts' scopes are incomplete:",
        '  test.v1.TestService/ListThings has no (pulse.options.v1.scope): nobody could call it',
        '  test.v1.TestService/DropThing needs scope "things:drop", which test.v1.TestService does not declare',
      ].join('\n'),
    );
  });

  it('refuses scopes declared twice, needed by nothing, widening nothing, or held by no role that exists', () => {
    const twice = contract({ 'inbox:read': [] }, { ListInbox: 'inbox:read' });
    expect(() => buildScopeTable([SERVICES.status.descriptor, twice])).toThrow('scope "inbox:read": already declared by pulse.status.v1.StatusService');
    expect(() => buildScopeTable([contract({ 'things:read': [], 'things:write': [] }, { GetThing: 'things:read' })])).toThrow(
      'scope "things:write" is needed by no RPC',
    );
    expect(() => buildScopeTable([contract({ 'things:read': [], 'others:any': [] }, { GetThing: 'things:read' })])).toThrow(
      'scope "others:any" widens no other others: scope',
    );
    expect(() => buildScopeTable([contract({ 'things:read': [Role.ADMIN] }, { GetThing: 'things:read' })])).toThrow('lists admin');
    expect(() => buildScopeTable([contract({ Things: [] }, { GetThing: 'Things' })])).toThrow('a name is "<resource>:<action>"');
  });

  it('declares every scope for an RPC or as an ":any" widening, and words each one', () => {
    const unused = [...SCOPE_TABLE.scopes.values()].filter((s) => s.rpcs.length === 0).map((s) => s.name);
    expect(unused.sort()).toEqual(['inbox:any', 'preferences:any', 'status:any']);
    for (const info of SCOPE_TABLE.scopes.values()) expect(info.description, info.name).toMatch(/^[a-z].{8,}/);
  });

  it('builds roles from known scopes; admin has all, bot only RequestAssistance, service only what peers call', () => {
    expect(ROLES).toEqual(['admin', 'reviewer', 'bot', 'service', 'client', 'user']);
    for (const role of ROLES) for (const scope of ROLE_SCOPES[role]) expect(ALL_SCOPES).toContain(scope);
    expect([...ROLE_SCOPES.admin].sort()).toEqual([...ALL_SCOPES].sort());
    expect(ROLE_SCOPES.bot).toEqual(['assistance:request']);
    expect([...ROLE_SCOPES.service].sort()).toEqual(['delivery:resolve', 'devices:prune', 'routes:read', 'status:any', 'status:read']);
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

  it('is what docs/security.md lists: every scope with its RPCs, every role with its scopes', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/security.md', import.meta.url)), 'utf8');
    const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
    const problems: string[] = [];
    for (const info of SCOPE_TABLE.scopes.values()) {
      const row = rows.find((r) => r.split('|')[1].includes(`\`${info.name}\``));
      if (!row) problems.push(`scope ${info.name} is not in the scope table`);
      for (const rpc of info.rpcs) if (row && !row.includes(rpc.split('/')[1])) problems.push(`scope ${info.name}: row does not name ${rpc}`);
    }
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      const row = rows.find((r) => r.startsWith(`| \`${role}\` |`));
      const listed = row?.split('|')[2].replaceAll('`', '').trim().split(/\s+/).sort();
      if (JSON.stringify(listed) !== JSON.stringify([...ROLE_SCOPES[role]].sort())) problems.push(`role ${role} lists ${listed?.join(' ')}`);
    }
    expect(problems, 'docs/security.md "Roles and scopes" differs from the contracts').toEqual([]);
  });
});
