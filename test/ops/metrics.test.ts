// The example alert rules (ops/prometheus/alerts.yml) and the Grafana dashboard (ops/grafana/pulse-dashboard.json)
// may only name metrics the services really serve. The names are not taken from a list: the embedded mesh is
// started, one monitoring-path request is driven through it (so series created on first use exist), and the
// /metrics of all six services are scraped and compared with every metric name the expressions use. Label matchers
// are checked too, where the scrape has samples to compare with.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import type { Mesh } from '../../services/all-in-one/mesh.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/platform/catalog.js';
import { meshClients, metricValue } from '../support/clients.js';
import { until } from '../support/poll.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const alerts = parse(read('ops/prometheus/alerts.yml')) as { groups: { name: string; rules: Rule[] }[] };
const rules = alerts.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read('ops/grafana/pulse-dashboard.json')) as Json;
const panels = (dashboard.panels as Json[]).flatMap((p) => [p, ...(p.panels ?? [])]);
const panelExprs: { where: string; expr: string }[] = panels.flatMap((p) =>
  (p.targets ?? []).map((t: Json) => ({ where: `dashboard panel "${p.title}"`, expr: String(t.expr) })),
);
const variableExprs = (dashboard.templating.list as Json[])
  .filter((v) => v.type === 'query')
  .map((v) => ({ where: `dashboard variable ${v.name}`, expr: String(v.definition ?? v.query?.query ?? v.query) }));
const expressions = [...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })), ...panelExprs, ...variableExprs];

// ---- lenient PromQL reading ----------------------------------------------------------------------------------------

/** Series Prometheus makes itself rather than scraping them. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const METRIC = /\b(?:pulse|process|nodejs)_[a-z0-9_]*[a-z0-9]\b/g;

/** Metric names an expression uses, with the label matchers written right after each. */
function selectors(expr: string): { metric: string; matchers: { label: string; op: string; value: string }[] }[] {
  const found: { metric: string; matchers: { label: string; op: string; value: string }[] }[] = [];
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, (s) => '"'.padEnd(s.length - 1, ' ') + '"');
  for (const match of withoutStrings.matchAll(METRIC)) {
    const after = expr.slice(match.index! + match[0].length);
    const block = /^\{([^}]*)\}/.exec(after)?.[1] ?? '';
    const matchers = [...block.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => ({
      label: m[1],
      op: m[2],
      value: m[3],
    }));
    found.push({ metric: match[0], matchers });
  }
  for (const match of withoutStrings.matchAll(/\b(up)\{/g)) found.push({ metric: match[1], matchers: [] });
  return found;
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const ch of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}

// ---- the files themselves --------------------------------------------------------------------------------------------

describe('ops/prometheus/alerts.yml', () => {
  it('is a valid rule file: named, unique alerts with an expression, a severity, a summary and a description', () => {
    expect(rules.length).toBeGreaterThan(10);
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^Pulse[A-Z][A-Za-z0-9]+$/);
      expect(Object.keys(rule).sort()).toEqual(expect.arrayContaining(['alert', 'annotations', 'expr', 'labels']));
      expect(Object.keys(rule).every((k) => ['alert', 'expr', 'for', 'labels', 'annotations', 'keep_firing_for'].includes(k)), rule.alert).toBe(true);
      expect(balanced(rule.expr), `${rule.alert}: brackets`).toBe(true);
      if (rule.for !== undefined) expect(rule.for, rule.alert).toMatch(/^\d+[smhd]$/);
      expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.description, rule.alert).toBeTruthy();
      // Template variables must be labels the expression keeps.
      for (const [, label] of `${rule.annotations.summary} ${rule.annotations.description}`.matchAll(/\$labels\.(\w+)/g)) {
        const kept = /\bby\s*\(([^)]*)\)/.exec(rule.expr)?.[1].split(',').map((l) => l.trim());
        if (kept) expect(kept, `${rule.alert}: {{ $labels.${label} }}`).toContain(label);
      }
    }
  });

  it('covers dead letters, open breakers, queue lag and depth, delivery p99 and readiness', () => {
    const all = rules.map((r) => r.expr).join('\n');
    expect(all).toContain('outcome="dead_lettered"');
    expect(all).toContain('pulse_dead_letters_total');
    expect(all).toMatch(/pulse_breaker_state\{[^}]*\}\) == 2/);
    expect(all).toContain('pulse_event_consume_lag_seconds_bucket');
    expect(all).toContain('pulse_queue_depth_messages');
    expect(all).toMatch(/histogram_quantile\(0\.99,\s*sum by \([^)]*\) \(rate\(pulse_delivery_latency_seconds_bucket/);
    expect(all).toContain('up{job="pulse"} == 0');
    expect(all).toContain('pulse_bus_connected');
  });

  it('uses the job of the compose scrape config', () => {
    const config = parse(read('ops/prometheus/prometheus.yml')) as Json;
    const jobs = (config.scrape_configs as Json[]).map((j) => j.job_name);
    for (const { expr } of expressions) for (const [, job] of expr.matchAll(/job="([^"]+)"/g)) expect(jobs).toContain(job);
  });
});

describe('ops/grafana/pulse-dashboard.json', () => {
  it('is an importable dashboard: uid, title, unique panel ids, laid out, on a chosen Prometheus data source', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBe('Pulse');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const variables = (dashboard.templating.list as Json[]).map((v) => v.name);
    expect(variables).toEqual(expect.arrayContaining(['datasource', 'service']));
    for (const panel of panels) {
      expect(panel.gridPos, panel.title).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        expect(target.expr, panel.title).toBeTruthy();
        expect(balanced(target.expr), `${panel.title}: brackets`).toBe(true);
      }
    }
  });

  it('shows every platform metric and the delivery metrics the issue asks for', () => {
    const all = panelExprs.map((e) => e.expr).join('\n');
    const platform = [...read('services/platform/metrics.ts').matchAll(/name: '(pulse_[a-z_]+)'/g)].map((m) => m[1]);
    expect(platform.length).toBeGreaterThan(10);
    for (const name of [
      ...platform,
      'pulse_delivery_latency_seconds',
      'pulse_notification_deliveries_final_total',
      'pulse_notifications_accepted_total',
      'pulse_delivery_attempts_total',
      'pulse_dead_letters_total',
      'pulse_delivery_lane_depth_messages',
    ]) {
      expect(all, name).toContain(name);
    }
  });
});

// ---- against the running services ------------------------------------------------------------------------------------

interface Family {
  type: string;
  /** Label names seen on its samples, by service. */
  labels: Map<ServiceName, Set<string>>;
}

/** Metric families of one scrape, by name; histogram and summary sample suffixes are folded into their family. */
function families(text: string, service: ServiceName, into: Map<string, Family>): void {
  const family = (name: string, type = 'untyped') => {
    let f = into.get(name);
    if (!f) into.set(name, (f = { type, labels: new Map() }));
    if (type !== 'untyped') f.type = type;
    return f;
  };
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      family(type[1], type[2]).labels.set(service, family(type[1]).labels.get(service) ?? new Set());
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    let name = sample[1];
    const base = name.replace(/_(bucket|sum|count)$/, '');
    if (base !== name && ['histogram', 'summary'].includes(into.get(base)?.type ?? '')) name = base;
    const f = family(name);
    const labels = f.labels.get(service) ?? new Set<string>();
    for (const [, label] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(label);
    f.labels.set(service, labels);
  }
}

describe('every metric the alerts and the dashboard use is served', () => {
  let mesh: Mesh | undefined;
  const served = new Map<string, Family>();

  beforeAll(async () => {
    // Imported here so the checks above run even while a service is missing.
    const { startMesh } = await import('../../services/all-in-one/mesh.js');
    mesh = await startMesh({
      ports: 'free',
      env: { ...process.env, PULSE_API_TOKENS: undefined, MONGODB_URI: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, LOG_LEVEL: 'silent' },
    });
    const api = meshClients(mesh.urls, mesh.token);
    // One angry message: ingestion -> sentiment -> review -> notification (-> preference) -> delivery -> status.
    await api.ingestion.submitInteraction({
      messageId: 'ops-metrics-1',
      conversationId: 'ops-metrics-conv',
      customerId: 'cust-ops',
      agentId: 'agent-ops',
      author: Author.CUSTOMER,
      text: 'This is terrible, third time I ask and nobody helps. Refund me now or I cancel and call my lawyer!',
    });
    await until(
      'a delivery to reach its final state',
      async () => (await metricValue(mesh!.urls.status, 'pulse_notification_deliveries_final_total', {})) > 0,
      20_000,
    );
    for (const name of SERVICE_NAMES) families(await (await fetch(`${mesh.urls[name]}/metrics`)).text(), name, served);
  }, 60_000);

  afterAll(() => mesh?.stop());

  it('scraped all six services', () => {
    const services = new Set([...served.values()].flatMap((f) => [...f.labels.keys()]));
    expect([...services].sort()).toEqual([...SERVICE_NAMES].sort());
  });

  it.each(expressions.map((e) => [e.where, e.expr] as const))('%s', (_, expr) => {
    const used = selectors(expr);
    expect(used.length, 'names at least one metric').toBeGreaterThan(0);
    for (const { metric, matchers } of used) {
      if (SYNTHETIC.has(metric)) continue;
      const base = metric.replace(/_(bucket|sum|count)$/, '');
      const family = served.get(metric) ?? (['histogram', 'summary'].includes(served.get(base)?.type ?? '') ? served.get(base) : undefined);
      expect(family, `${metric} is served by some service`).toBeDefined();
      if (metric !== base && family === served.get(base)) expect(family!.type, `${metric} is a histogram`).toBe('histogram');
      // Series carry `service` (every registry) and Prometheus adds job and instance.
      const seen = new Set(['service', 'job', 'instance', ...[...family!.labels.values()].flatMap((s) => [...s])]);
      const sampled = [...family!.labels.values()].some((s) => s.size > 0);
      for (const { label, op, value } of matchers) {
        if (sampled) expect(seen, `${metric}{${label}...}: label exists`).toContain(label);
        if (label === 'service' && op === '=') {
          expect(SERVICE_NAMES, `${metric}{service="${value}"}`).toContain(value);
          expect([...family!.labels.keys()], `${metric} is served by ${value}`).toContain(value);
        }
      }
    }
  });
});
