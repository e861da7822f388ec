// The gateway of compose and Tilt (nginx, ops/gateway/), checked statically against the code like the rest of
// test/ops (there is no Docker, Kubernetes or nginx >= 1.25 on these machines): it routes exactly the services of
// catalog.ts to their ports, by the same paths as the gateway of `npm start`, with the same CSP and no CORS.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CONTENT_SECURITY_POLICY } from '../../services/gateway/csp.js';
import { isGrpc, serviceOfPath } from '../../services/gateway/routes.js';
import { SERVICE_NAMES, SERVICES } from '../../services/platform/catalog.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
/** Parsed YAML. */
type Json = any;

describe('ops/gateway/nginx.conf', () => {
  const conf = read('ops/gateway/nginx.conf');
  const directives = conf.replace(/#.*$/gm, '');
  /** The regex of a map entry, as JavaScript runs it (nginx's PCRE syntax here is the same). */
  const mapRegex = (variable: string) => {
    const block = new RegExp(`map \\$\\S+ \\$${variable} \\{([\\s\\S]*?)\\n\\}`).exec(directives)![1];
    return new RegExp(/"~(.*)"/.exec(block)![1]);
  };

  it('listens on 8080 for HTTP/1.1 and h2c alike', () => {
    expect(directives).toMatch(/^\s*listen 8080;$/m);
    expect(directives).toMatch(/^\s*http2 on;$/m);
  });

  it('has an upstream for each service of catalog.ts, at its port', () => {
    const upstreams = [...directives.matchAll(/upstream (\w+) \{ server (\w+):(\d+);/g)].map(([, name, host, port]) => ({ name, host, port: Number(port) }));
    const expected = (suffix: string) => SERVICE_NAMES.map((name) => ({ name: `${name}${suffix}`, host: name, port: SERVICES[name].port }));
    // gRPC has groups of its own: an HTTP/2 connection kept alive for grpc_pass must not serve proxy_pass.
    expect(upstreams).toEqual([...expected(''), ...expected('_grpc')]);
  });

  it('routes by path exactly as the gateway of npm start does', () => {
    const route = mapRegex('pulse_service');
    const paths = [
      ...SERVICE_NAMES.map((name) => `/pulse.${name}.v1.${name[0].toUpperCase()}${name.slice(1)}Service/Method`),
      '/pulse.events.v1.Events/Method',
      '/pulse.review.v2.ReviewService/ListReviews',
      '/pulse.review.v1.ReviewService/ListReviews/extra',
      '/grpc.health.v1.Health/Check',
      '/reviews/rev_1',
    ];
    for (const path of paths) expect(route.exec(path)?.groups?.svc, path).toBe(serviceOfPath(path));
  });

  it('sends gRPC (and only gRPC) upstream over HTTP/2, Connect and gRPC-Web over HTTP/1.1, unbuffered', () => {
    const grpc = mapRegex('pulse_grpc');
    for (const type of ['application/grpc', 'application/grpc+proto', 'application/grpc-web+proto', 'application/grpc-web-text', 'application/connect+json', 'application/json']) {
      expect(grpc.test(type), type).toBe(isGrpc(type));
    }
    expect(directives).toMatch(/location @grpc \{\s*grpc_pass grpc:\/\/\$\{pulse_service\}_grpc;/);
    expect(directives).toMatch(/proxy_pass http:\/\/\$pulse_service;/);
    expect(directives).toMatch(/proxy_buffering off;/);
    expect(directives).toMatch(/proxy_request_buffering off;/);
  });

  it('sends the console\'s CSP on every page, adds no CORS and leaves Authorization to the services', () => {
    const csps = [...directives.matchAll(/add_header Content-Security-Policy "([^"]+)" always;/g)].map((m) => m[1]);
    expect(csps.length).toBeGreaterThan(0);
    for (const csp of csps) expect(csp).toBe(CONTENT_SECURITY_POLICY);
    expect(directives.toLowerCase()).not.toContain('access-control-');
    expect(directives.toLowerCase()).not.toMatch(/proxy_set_header authorization|grpc_set_header authorization/);
    expect(directives).toMatch(/try_files \$uri \/index\.html;/);
  });
});

describe('the gateway image', () => {
  const dockerfile = read('ops/gateway/Dockerfile');
  const ignore = read('ops/gateway/Dockerfile.dockerignore').split('\n').filter((l) => l && !l.startsWith('#'));

  it('builds the console with Vite and serves it with nginx as a non-root user', () => {
    expect(dockerfile).toMatch(/^FROM node:24-bookworm-slim AS console$/m);
    expect(dockerfile).toMatch(/RUN node_modules\/\.bin\/vite build console/);
    expect(dockerfile).toMatch(/^FROM nginxinc\/nginx-unprivileged:[\d.]+-alpine$/m);
    expect(dockerfile).toContain('COPY ops/gateway/nginx.conf /etc/nginx/conf.d/default.conf');
    expect(dockerfile).toContain('COPY --from=console /app/console/dist /usr/share/nginx/html');
  });

  it('its ignore file lets in everything it copies, and not the built console', () => {
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(' '));
    expect(ignore[0]).toBe('*');
    for (const path of copied) expect(ignore, path).toContain(`!${path}${path.includes('.') ? '' : '/'}`);
    expect(ignore).toContain('console/dist/');
  });
});

describe('the gateway in compose and Tilt', () => {
  it('compose: port 8080 on 127.0.0.1, read-only, health-checked, after the six services are healthy', () => {
    const gateway = (parse(read('docker-compose.yml'), { merge: true }) as Json).services.gateway;
    expect(gateway.build).toEqual({ context: '.', dockerfile: 'ops/gateway/Dockerfile' });
    expect(gateway.ports).toEqual(['127.0.0.1:8080:8080']);
    expect(gateway.read_only).toBe(true);
    expect(gateway.cap_drop).toEqual(['ALL']);
    expect(gateway.healthcheck.test.join(' ')).toContain('http://127.0.0.1:8080/healthz');
    expect(Object.keys(gateway.depends_on).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const name of SERVICE_NAMES) expect(gateway.depends_on[name].condition).toBe('service_healthy');
  });

  it('Tilt: a gateway workload of the image the Tiltfile builds, forwarded on 8080, after the services', () => {
    expect(parse(read('tilt/kustomization.yaml')).resources).toContain('gateway');
    expect(parse(read('tilt/gateway/kustomization.yaml')).resources).toEqual(['gateway.yaml']);
    const objects = parseAllDocuments(read('tilt/gateway/gateway.yaml')).map((d) => d.toJSON() as Json);
    const deployment = objects.find((o) => o.kind === 'Deployment');
    const service = objects.find((o) => o.kind === 'Service');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.image).toBe('pulse-gateway');
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    expect(container.readinessProbe.httpGet.path).toBe('/healthz');
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http' }]);
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);

    const tiltfile = read('Tiltfile');
    expect(tiltfile).toMatch(/docker_build\(\s*'pulse-gateway',\s*context='\.',\s*dockerfile='ops\/gateway\/Dockerfile'/);
    const resource = /k8s_resource\(\s*'gateway',([\s\S]*?)\n\)/.exec(tiltfile)![1];
    expect(resource).toContain("port_forwards=['8080:8080']");
    expect(resource).toContain('resource_deps=list(SERVICES.keys())');
  });
});
