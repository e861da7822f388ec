// Checks one HTTP request against a provider's official OpenAPI description (Swagger 2 for Slack, OpenAPI 3 for
// Twilio), so the stand-ins catch a provider call that the real API would refuse. Prism (@stoplight/prism-http)
// would do this, but its current release requires Node 24 and the machines here run Node 20, so this is a compact
// validator over the same documents, using ajv for the JSON-Schema parts. It checks:
//   - the method and path exist in the spec (templated paths, base path / server path honoured);
//   - the security requirement: an `Authorization` header in the scheme the spec names (Bearer for OAuth2/bearer,
//     Basic with user:password for HTTP basic);
//   - the Content-Type is one the operation consumes, and the body parses as that type;
//   - path, query and header parameters: required ones present, values valid for their type, format, enum, pattern
//     and length (string values are coerced to the declared type first, as a server reading a form would);
//   - body parameters the same way, plus: no parameter the operation does not declare, and Twilio's
//     `x-twilio.conditional` groups (at least one of e.g. From / MessagingServiceSid).
// Not checked: responses (the stand-ins build theirs from the spec's examples), the OAuth scopes a token holds,
// cross-field rules the spec states only in prose, and Slack's JSON-in-a-string fields (blocks, attachments) beyond
// being strings.
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with its function as the default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

type Schema = Record<string, unknown>;
type ParamLocation = 'path' | 'query' | 'header' | 'body';

interface Param {
  name: string;
  in: ParamLocation;
  required: boolean;
  schema: Schema;
}

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  pathNames: string[];
  params: Param[];
  /** Media types the body may have; empty when the operation takes no body. */
  consumes: string[];
  /** Alternatives: any one satisfied is enough. */
  security: ('bearer' | 'basic')[];
  /** Groups of body parameters of which at least one must be present (Twilio's x-twilio.conditional). */
  conditional: string[][];
}

export interface CheckedRequest {
  method: string;
  /** Path and query string as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface CheckResult {
  violations: string[];
  /** The body as parsed (form fields or JSON), for the stand-in to answer from. */
  body: Record<string, unknown>;
  pathParams: Record<string, string>;
}

export interface CheckOptions {
  /**
   * Slack's spec declares the token as a required header named `token`; Slack and its SDK send it as
   * `Authorization: Bearer`. Naming the header here lets a Bearer token satisfy it.
   */
  headerSatisfiedByBearer?: string;
}

/**
 * The provider specs: PULSE_PROVIDER_SPECS, else the copies in test/support/provider-specs (the official files of
 * ../shared/provider-specs, vendored with their licences so a clone tests on its own).
 */
export function providerSpecsDir(): string {
  return process.env.PULSE_PROVIDER_SPECS ?? fileURLToPath(new URL('./provider-specs', import.meta.url));
}

const SECURITY_KIND: Record<string, 'bearer' | 'basic'> = { oauth2: 'bearer', bearer: 'bearer', basic: 'basic' };

export class OpenApiCheck {
  private readonly operations: Operation[];
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly validators = new Map<Schema, ReturnType<Ajv['compile']>>();

  static load(file: string, options: CheckOptions = {}): OpenApiCheck {
    return new OpenApiCheck(JSON.parse(readFileSync(resolve(providerSpecsDir(), file), 'utf8')) as Schema, options);
  }

  constructor(
    private readonly spec: Schema,
    private readonly options: CheckOptions = {},
  ) {
    addFormats(this.ajv);
    // Twilio's own format: E.164, a short code, an alphanumeric sender id, or a channel address (whatsapp:+1...).
    this.ajv.addFormat('phone-number', /^(?:\+[1-9]\d{1,14}|\d{3,8}|(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9 ]{1,11}|[a-z-]+:\S+)$/);
    this.operations = spec.swagger === '2.0' ? this.swaggerOperations() : this.openApiOperations();
  }

  check(request: CheckedRequest): CheckResult {
    const result: CheckResult = { violations: [], body: {}, pathParams: {} };
    const url = new URL(request.url, 'http://stand-in');
    const method = request.method.toLowerCase();
    const operation = this.operations.find((op) => op.method === method && op.pattern.test(url.pathname));
    if (!operation) {
      result.violations.push(`${request.method} ${url.pathname} is not an operation of the spec`);
      return result;
    }
    const match = operation.pattern.exec(url.pathname)!;
    operation.pathNames.forEach((name, i) => (result.pathParams[name] = decodeURIComponent(match[i + 1])));
    const violations = result.violations;

    const scheme = this.authScheme(request.headers.authorization);
    if (operation.security.length > 0 && !operation.security.some((kind) => kind === scheme)) {
      violations.push(`Authorization must use ${operation.security.join(' or ')} (got ${scheme ?? 'none'})`);
    }

    if (operation.consumes.length > 0) {
      const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (!operation.consumes.includes(contentType)) {
        violations.push(`Content-Type "${contentType}" is not one of ${operation.consumes.join(', ')}`);
      } else {
        result.body = this.parseBody(contentType, request.body, violations);
      }
    }

    const sources: Record<ParamLocation, Record<string, unknown>> = {
      path: result.pathParams,
      query: multiMap(url.searchParams),
      header: request.headers as Record<string, unknown>,
      body: result.body,
    };
    for (const param of operation.params) {
      const raw = sources[param.in][param.in === 'header' ? param.name.toLowerCase() : param.name];
      if (raw === undefined) {
        const bearer = param.in === 'header' && param.name === this.options.headerSatisfiedByBearer && scheme === 'bearer';
        if (param.required && !bearer) violations.push(`${param.in} parameter "${param.name}" is required`);
        continue;
      }
      const value = coerce(raw, param.schema);
      const validate = this.validator(param.schema);
      if (!validate(value)) violations.push(...describe(`${param.in} parameter "${param.name}"`, validate.errors));
    }

    if (operation.consumes.length > 0) {
      const declared = new Set(operation.params.filter((p) => p.in === 'body').map((p) => p.name));
      for (const name of Object.keys(result.body)) {
        if (!declared.has(name)) violations.push(`body parameter "${name}" is not declared by the operation`);
      }
      for (const group of operation.conditional) {
        if (!group.some((name) => result.body[name] !== undefined)) violations.push(`one of ${group.join(', ')} is required`);
      }
    }
    return result;
  }

  /** The spec's own example response (Swagger 2 `examples`, or OpenAPI 3's first named example). */
  responseExample(method: string, template: string, status: string): Record<string, unknown> {
    const response = ((this.spec.paths as Record<string, Schema>)[template]?.[method] as Schema | undefined)?.responses as
      | Record<string, Schema>
      | undefined;
    const swagger = (response?.[status]?.examples as Schema | undefined)?.['application/json'];
    const openApi = Object.values(
      (((response?.[status]?.content as Schema | undefined)?.['application/json'] as Schema | undefined)?.examples ?? {}) as Record<string, Schema>,
    )[0]?.value;
    const example = swagger ?? openApi;
    if (example === undefined) throw new Error(`no example for ${method} ${template} ${status} in the spec`);
    return structuredClone(example) as Record<string, unknown>;
  }

  private authScheme(header: string | undefined): 'bearer' | 'basic' | undefined {
    if (header === undefined) return undefined;
    if (/^Bearer \S+$/.test(header)) return 'bearer';
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    if (basic && /^[^:]+:.+$/s.test(Buffer.from(basic[1], 'base64').toString('utf8'))) return 'basic';
    return undefined;
  }

  private parseBody(contentType: string, body: string, violations: string[]): Record<string, unknown> {
    if (contentType === 'application/x-www-form-urlencoded') return multiMap(new URLSearchParams(body));
    if (contentType === 'application/json') {
      try {
        const parsed: unknown = JSON.parse(body);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
      } catch {
        // reported below
      }
      violations.push('body is not a JSON object');
      return {};
    }
    violations.push(`the stand-in cannot parse ${contentType} bodies`);
    return {};
  }

  private validator(schema: Schema): ReturnType<Ajv['compile']> {
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.validators.set(schema, validate);
    }
    return validate;
  }

  private swaggerOperations(): Operation[] {
    const basePath = typeof this.spec.basePath === 'string' ? this.spec.basePath.replace(/\/$/, '') : '';
    const definitions = (this.spec.securityDefinitions ?? {}) as Record<string, { type: string }>;
    return this.eachOperation((method, template, op, pathItem) => {
      const raw = [...asArray(pathItem.parameters), ...asArray(op.parameters)].map((p) => this.deref(p));
      const params = raw.map((p): Param => {
        const { name, in: location, required, ...schema } = p as Schema & { name: string; in: string; required?: boolean };
        return { name, in: location === 'formData' ? 'body' : (location as ParamLocation), required: required === true, schema };
      });
      const hasBody = params.some((p) => p.in === 'body');
      const consumes = hasBody ? asStrings(op.consumes ?? this.spec.consumes) : [];
      const security = asArray(op.security ?? this.spec.security).flatMap((req) =>
        Object.keys(req as Schema).map((name) => SECURITY_KIND[definitions[name]?.type]),
      );
      return { method, template: basePath + template, params, consumes, security, conditional: [] };
    });
  }

  private openApiOperations(): Operation[] {
    const servers = asArray(this.spec.servers) as { url: string }[];
    const serverPath = servers.length > 0 ? new URL(servers[0].url).pathname.replace(/\/$/, '') : '';
    const schemes = ((this.spec.components as Schema | undefined)?.securitySchemes ?? {}) as Record<string, { type: string; scheme?: string }>;
    return this.eachOperation((method, template, op, pathItem) => {
      const params = [...asArray(pathItem.parameters), ...asArray(op.parameters)].map((p): Param => {
        const param = this.deref(p) as { name: string; in: ParamLocation; required?: boolean; schema?: Schema };
        return { name: param.name, in: param.in, required: param.required === true, schema: this.resolveRefs(param.schema ?? {}) };
      });
      const content = ((op.requestBody as Schema | undefined)?.content ?? {}) as Record<string, { schema?: Schema }>;
      const consumes = Object.keys(content);
      const bodySchema = consumes.length > 0 ? (this.resolveRefs(content[consumes[0]].schema ?? {}) as Schema) : {};
      const required = new Set(asStrings(bodySchema.required));
      for (const [name, schema] of Object.entries((bodySchema.properties ?? {}) as Record<string, Schema>)) {
        params.push({ name, in: 'body', required: required.has(name), schema });
      }
      const security = asArray(op.security ?? this.spec.security).flatMap((req) =>
        Object.keys(req as Schema).map((name) => SECURITY_KIND[schemes[name]?.scheme ?? schemes[name]?.type]),
      );
      const conditional = asArray((op['x-twilio'] as Schema | undefined)?.conditional).map((group) => asStrings(group).map(pascalCase));
      return { method, template: serverPath + template, params, consumes, security, conditional };
    });
  }

  private eachOperation(
    build: (method: string, template: string, op: Schema, pathItem: Schema) => Omit<Operation, 'pattern' | 'pathNames'>,
  ): Operation[] {
    const operations: Operation[] = [];
    for (const [template, pathItem] of Object.entries(this.spec.paths as Record<string, Schema>)) {
      for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']) {
        const op = pathItem[method] as Schema | undefined;
        if (!op) continue;
        const operation = build(method, template, op, pathItem);
        const pathNames: string[] = [];
        const source = operation.template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_all, name: string) => {
          pathNames.push(name);
          return '([^/]+)';
        });
        operations.push({ ...operation, pattern: new RegExp(`^${source}$`), pathNames });
      }
    }
    return operations;
  }

  /** Follows one local `$ref`. */
  private deref(node: unknown): Schema {
    const ref = (node as Schema).$ref;
    if (typeof ref !== 'string') return node as Schema;
    const target = ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((at, key) => (at as Schema)[key.replace(/~1/g, '/').replace(/~0/g, '~')], this.spec);
    return this.deref(target);
  }

  /** A copy of a schema with every local `$ref` inlined (request schemas here are small and acyclic). */
  private resolveRefs(node: unknown, depth = 0): Schema {
    if (depth > 32) throw new Error('schema nesting too deep (cyclic $ref?)');
    if (Array.isArray(node)) return node.map((item) => this.resolveRefs(item, depth + 1)) as unknown as Schema;
    if (node === null || typeof node !== 'object') return node as Schema;
    const resolved = this.deref(node);
    return Object.fromEntries(Object.entries(resolved).map(([key, value]) => [key, this.resolveRefs(value, depth + 1)]));
  }
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asStrings(value: unknown): string[] {
  return asArray(value).filter((item): item is string => typeof item === 'string');
}

/** Twilio's conditional groups use snake_case; its form parameters are PascalCase. */
function pascalCase(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_all, _sep, letter: string) => letter.toUpperCase());
}

function multiMap(params: URLSearchParams): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    result[key] = values.length === 1 ? values[0] : values;
  }
  return result;
}

/** Form and header values are strings: read them as the declared type, as the provider's server would. */
function coerce(value: unknown, schema: Schema): unknown {
  if (schema.type === 'array') {
    const items = (schema.items ?? {}) as Schema;
    return (Array.isArray(value) ? value : [value]).map((item) => coerce(item, items));
  }
  if (typeof value !== 'string') return value;
  if (schema.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  if ((schema.type === 'integer' || schema.type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

function describe(subject: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => `${subject}${error.instancePath} ${error.message ?? 'is invalid'}`);
}
