// Who may call what, read from the contracts (proto/pulse/options/v1/options.proto): each service declares its
// scopes with (pulse.options.v1.scopes), each RPC names the one it needs with (pulse.options.v1.scope), and each
// scope's definition lists the roles that hold it (ROLE_ADMIN holds them all). A plain function of the descriptors,
// so a contract that leaves an RPC without a scope is caught before anything listens.
import { type DescService, getOption } from '@bufbuild/protobuf';
import { Role, RoleSchema, scope as scopeOption, scopes as scopesOption } from '../../gen/pulse/options/v1/options_pb.js';

export interface ScopeInfo {
  name: string;
  /** What it allows, as the contract words it. */
  description: string;
  /** The service that declares it (full name). */
  service: string;
  /** The RPCs that need it, "<service>/<Method>"; none for a widening `:any` scope. */
  rpcs: readonly string[];
}

export interface ScopeTable {
  /** Every scope, in declaration order (services in the order given). */
  scopes: ReadonlyMap<string, ScopeInfo>;
  /** Role names ("admin", "reviewer", ...), in the order of the Role enum. */
  roles: readonly string[];
  /** The scopes each role stands for. */
  roleScopes: ReadonlyMap<string, readonly string[]>;
  /** The scope each RPC needs, by "<service>/<Method>". */
  rpcScopes: ReadonlyMap<string, string>;
}

const SCOPE_NAME = /^[a-z][a-z-]*:[a-z][a-z-]*$/;

/** The name a token entry or JWT gives a role: ROLE_REVIEWER -> "reviewer". */
export function roleName(role: Role): string {
  const value = RoleSchema.value[role];
  return value ? value.localName.toLowerCase() : `role #${role}`;
}

/** The scope table of these services; throws naming every problem when a contract is incomplete or contradictory. */
export function buildScopeTable(services: readonly DescService[]): ScopeTable {
  const problems: string[] = [];
  const scopes = new Map<string, ScopeInfo & { rpcs: string[] }>();
  const holders = new Map<string, Role[]>();

  for (const service of services) {
    const declared = new Set<string>();
    for (const definition of getOption(service, scopesOption)) {
      const where = `${service.typeName} scope "${definition.name}"`;
      if (!SCOPE_NAME.test(definition.name)) problems.push(`${where}: a name is "<resource>:<action>" in lower case`);
      if (scopes.has(definition.name)) problems.push(`${where}: already declared by ${scopes.get(definition.name)!.service}`);
      if (!definition.description.trim()) problems.push(`${where}: needs a description`);
      for (const role of definition.roles) {
        if (role === Role.UNSPECIFIED || role === Role.ADMIN || !RoleSchema.value[role]) {
          problems.push(`${where}: lists ${roleName(role)}, which is not a role to list (admin holds every scope)`);
        }
      }
      declared.add(definition.name);
      scopes.set(definition.name, { name: definition.name, description: definition.description, service: service.typeName, rpcs: [] });
      holders.set(definition.name, definition.roles);
    }

    for (const method of service.methods) {
      const rpc = `${service.typeName}/${method.name}`;
      const needed = getOption(method, scopeOption);
      if (!needed) problems.push(`${rpc} has no (pulse.options.v1.scope): nobody could call it`);
      else if (!declared.has(needed)) problems.push(`${rpc} needs scope "${needed}", which ${service.typeName} does not declare`);
      else scopes.get(needed)!.rpcs.push(rpc);
    }

    for (const name of declared) {
      const [resource, action] = name.split(':');
      const widened = [...declared].some((other) => other !== name && other.startsWith(`${resource}:`));
      if (action === 'any' && !widened) problems.push(`${service.typeName} scope "${name}" widens no other ${resource}: scope`);
      if (action !== 'any' && scopes.get(name)!.rpcs.length === 0) problems.push(`${service.typeName} scope "${name}" is needed by no RPC`);
    }
  }
  if (problems.length > 0) throw new Error(`the contracts' scopes are incomplete:\n  ${problems.join('\n  ')}`);

  const roles = RoleSchema.values.filter((v) => v.number !== Role.UNSPECIFIED).map((v) => roleName(v.number));
  const roleScopes = new Map<string, string[]>(roles.map((role) => [role, []]));
  for (const [name, held] of holders) {
    roleScopes.get(roleName(Role.ADMIN))!.push(name);
    for (const role of held) roleScopes.get(roleName(role))!.push(name);
  }
  const rpcScopes = new Map([...scopes.values()].flatMap((info) => info.rpcs.map((rpc) => [rpc, info.name] as const)));
  return { scopes, roles, roleScopes, rpcScopes };
}
