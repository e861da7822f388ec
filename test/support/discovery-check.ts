// Checks a request against a Google API discovery document (the format of googleapis/discovery-artifact-manager):
// the method's HTTP verb and path (its path template, with each path parameter's pattern), and the JSON body against the
// method's request schema, recursively: every property known to its schema, of the schema's type, format and enum;
// maps as additionalProperties; fields whose description starts with "Required." present. Output-only fields
// ("Output Only." in their description) must not be sent.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: string[];
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
}

interface Method {
  id: string;
  httpMethod: string;
  path: string;
  parameters: Record<string, { location: string; pattern?: string; required?: boolean }>;
  request?: { $ref: string };
}

interface Discovery {
  schemas: Record<string, Schema>;
  resources: Record<string, { methods?: Record<string, Method>; resources?: Discovery['resources'] }>;
}

const DURATION = /^-?\d+(\.\d{1,9})?s$/;

export class DiscoveryCheck {
  private constructor(private readonly doc: Discovery) {}

  /** A discovery document vendored in test/support/provider-specs. */
  static load(file: string): DiscoveryCheck {
    const path = fileURLToPath(new URL(`./provider-specs/${file}`, import.meta.url));
    return new DiscoveryCheck(JSON.parse(readFileSync(path, 'utf8')) as Discovery);
  }

  method(id: string): Method {
    const find = (resources: Discovery['resources']): Method | undefined => {
      for (const resource of Object.values(resources)) {
        const found = Object.values(resource.methods ?? {}).find((m) => m.id === id) ?? (resource.resources && find(resource.resources));
        if (found) return found;
      }
      return undefined;
    };
    const found = find(this.doc.resources);
    if (!found) throw new Error(`the discovery document has no method ${id}`);
    return found;
  }

  /** The violations of one request to the method (empty when it conforms). */
  check(id: string, request: { method: string; path: string; body: unknown }): string[] {
    const method = this.method(id);
    const violations: string[] = [];
    if (request.method !== method.httpMethod) violations.push(`${id} is ${method.httpMethod}, not ${request.method}`);
    // The path template, e.g. "v1/{+parent}/messages:send": {+name} may span slashes, {name} may not; each
    // parameter's value must match its pattern.
    const names: string[] = [];
    const template = method.path
      .replace(/[.*?^$()|[\]\\]/g, '\\$&')
      .replace(/\{(\+?)([^}]+)\}/g, (_, plus: string, name: string) => {
        names.push(name);
        return plus ? '(.+)' : '([^/]+)';
      });
    const matched = new RegExp(`^/${template}$`).exec(request.path);
    if (!matched) violations.push(`path ${request.path} does not match ${method.path}`);
    names.forEach((name, i) => {
      const pattern = method.parameters[name]?.pattern;
      const value = decodeURIComponent(matched?.[i + 1] ?? '');
      if (matched && pattern && !new RegExp(pattern).test(value)) violations.push(`path parameter ${name} "${value}" does not match ${pattern}`);
    });
    if (method.request) this.value(method.request, request.body, 'body', violations);
    return violations;
  }

  private value(schema: Schema, value: unknown, at: string, out: string[]): void {
    if (schema.$ref) {
      const target = this.doc.schemas[schema.$ref];
      if (!target) out.push(`${at}: unknown schema ${schema.$ref}`);
      else this.value(target, value, at, out);
      return;
    }
    switch (schema.type) {
      case 'any':
        return;
      case 'string':
        if (typeof value !== 'string') out.push(`${at}: must be a string`);
        else if (schema.enum && !schema.enum.includes(value)) out.push(`${at}: must be one of ${schema.enum.join(', ')}`);
        else if (schema.format === 'google-duration' && !DURATION.test(value)) out.push(`${at}: must be a duration such as "3.5s"`);
        else if (schema.format === 'int64' && !/^-?\d+$/.test(value)) out.push(`${at}: must be an int64 as a string`);
        return;
      case 'boolean':
        if (typeof value !== 'boolean') out.push(`${at}: must be a boolean`);
        return;
      case 'integer':
        if (!Number.isInteger(value)) out.push(`${at}: must be an integer`);
        return;
      case 'number':
        if (typeof value !== 'number') out.push(`${at}: must be a number`);
        return;
      case 'array':
        if (!Array.isArray(value)) out.push(`${at}: must be an array`);
        else value.forEach((item, i) => schema.items && this.value(schema.items, item, `${at}[${i}]`, out));
        return;
      case 'object': {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          out.push(`${at}: must be an object`);
          return;
        }
        const entries = Object.entries(value as Record<string, unknown>);
        if (schema.additionalProperties && !schema.properties) {
          for (const [key, item] of entries) this.value(schema.additionalProperties, item, `${at}.${key}`, out);
          return;
        }
        const properties = schema.properties ?? {};
        for (const [key, item] of entries) {
          const property = properties[key];
          if (!property) out.push(`${at}.${key}: not a field of ${(schema as { id?: string }).id ?? 'this object'}`);
          else if (property.description?.startsWith('Output Only.')) out.push(`${at}.${key}: is output only`);
          else this.value(property, item, `${at}.${key}`, out);
        }
        for (const [key, property] of Object.entries(properties)) {
          if (property.description?.startsWith('Required.') && !(key in (value as object))) out.push(`${at}.${key}: is required`);
        }
        return;
      }
      default:
        out.push(`${at}: the schema has no type the check knows (${String(schema.type)})`);
    }
  }
}
