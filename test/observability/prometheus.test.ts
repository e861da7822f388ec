// The metrics in a real Prometheus (module v0.316.0 from tools/prometheus/go.mod), and the alert rules
// checked and unit-tested by promtool:
//   - `promtool check rules` accepts ops/prometheus/alerts.yml, and `promtool test rules` passes
//     ops/prometheus/alerts.test.yml, which must test every alert: firing on a sick series, silent otherwise;
//   - Prometheus runs with the project's own scrape configuration (ops/prometheus/prometheus.yml, the one compose
//     mounts), rendered for loopback by replacing only the compose host names and the rule file's path, and scrapes
//     the six services running as processes on RabbitMQ while load flows (chat messages, bot requests to a Slack
//     stand-in that now and then fails, notifications beyond a user's rate limit, invalid calls, and once a queue
//     deleted under it so that events go unroutable);
//   - every query of the Grafana dashboard (and its `service` variable) then runs without error and returns series,
//     and every alert rule evaluates without error against the real series.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { freePort } from '../../services/all-in-one/process-mesh.js';
import { SERVICE_NAMES, SERVICES } from '../../services/platform/catalog.js';
import { type IsolatedMesh, startIsolatedMesh } from '../mesh/support.js';
import { describeBroker } from '../support/broker.js';
import { type MeshClients, meshClients, metricValue } from '../support/clients.js';
import { until } from '../support/poll.js';
import { type SlackStandIn, startSlackStandIn } from '../support/slack-standin.js';
import { rabbitmqctl } from '../support/vhost.js';
import { describeWithTools, getJson, ROOT, runTool, startTool, type ToolProcess } from './tools.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const CONFIG = 'ops/prometheus/prometheus.yml';
const RULES = 'ops/prometheus/alerts.yml';
const RULE_TESTS = 'ops/prometheus/alerts.test.yml';
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

const alertNames: string[] = (parse(read(RULES)) as Json).groups.flatMap((g: Json) => g.rules.map((r: Json) => r.alert));

describeWithTools('the alert rules, checked and unit-tested by promtool', ['promtool'], () => {
  it('promtool check rules accepts alerts.yml', async () => {
    const { code, output } = await runTool('promtool', ['check', 'rules', RULES]);
    expect(code, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${alertNames.length} rules found`);
  });

  it('alerts.test.yml tests every alert: firing on a sick series, silent before its `for` or on a healthy one', () => {
    const tests = (parse(read(RULE_TESTS)) as Json).tests as Json[];
    const cases = tests.flatMap((t) => t.alert_rule_test as Json[]);
    expect(alertNames.length).toBeGreaterThan(0);
    for (const alert of alertNames) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${alert} is shown firing`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${alert} is shown silent`).toBe(true);
    }
    expect(new Set(cases.map((c) => c.alertname))).toEqual(new Set(alertNames)); // no test of an alert that is gone
  });

  it('promtool test rules passes alerts.test.yml', async () => {
    const { code, output } = await runTool('promtool', ['test', 'rules', RULE_TESTS], 60_000);
    expect(code, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('promtool test rules fails when an alert misbehaves (the tests can fail)', async () => {
    // The same tests against rules whose thresholds are out of reach: every firing expectation must fail.
    const dir = mkdtempSync(join(tmpdir(), 'pulse-rules-'));
    try {
      const numbers = /([<>]=?|==)\s*(-?\d+(\.\d+)?)\s*$/gm; // the comparison that ends each expression
      writeFileSync(join(dir, 'alerts.yml'), read(RULES).replace(numbers, (_, op: string) => `${op} 1e12`));
      writeFileSync(join(dir, 'alerts.test.yml'), read(RULE_TESTS));
      const { code, output } = await runTool('promtool', ['test', 'rules', join(dir, 'alerts.test.yml')], 60_000);
      expect(code).not.toBe(0);
      for (const alert of alertNames) expect(output, `${alert} still fires with an unreachable threshold`).toContain(`alertname: ${alert}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithTools('the Grafana dashboard against a real Prometheus scraping the mesh', ['prometheus', 'promtool'], () => {
  describeBroker('Prometheus with the compose scrape configuration, six service processes, load flowing', () => {
    let dir = '';
    let prometheus: ToolProcess;
    let origin = '';
    let slack: SlackStandIn;
    let env: IsolatedMesh;
    let load: Load;

    beforeAll(async () => {
      slack = await startSlackStandIn();
      env = await startIsolatedMesh({
        SLACK_BOT_TOKEN: 'xoxb-prometheus-test',
        SLACK_API_URL: `${slack.origin}/api`,
        NOTIFICATION_RETRY_BASE_MS: '200',
        NOTIFICATION_RETRY_MAX_DELAY_MS: '1000',
        // A user may get one notification every ten seconds, so the load runs into the limit.
        NOTIFICATION_RATE_USER_PER_SECOND: '0.1',
        NOTIFICATION_RATE_USER_BURST: '1',
      });
      load = startLoad(meshClients(env.mesh.urls, env.mesh.token), slack);

      dir = mkdtempSync(join(tmpdir(), 'pulse-prometheus-'));
      writeFileSync(join(dir, 'prometheus.yml'), loopbackConfig(env.mesh.ports));
      const port = await freePort();
      origin = `http://127.0.0.1:${port}`;
      const { code, output } = await runTool('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(code, output).toBe(0);
      prometheus = await startTool(
        'prometheus',
        [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
        { ready: async () => (await fetch(`${origin}/-/ready`)).ok },
      );
    }, 180_000);

    afterAll(async () => {
      await load?.stop();
      await prometheus?.stop();
      await env?.stop();
      await slack?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('renders the compose configuration for loopback by replacing the targets and the rule file path only', () => {
      const original = parse(read(CONFIG)) as Json;
      const rendered = parse(loopbackConfig(env.mesh.ports)) as Json;
      expect(rendered.scrape_configs[0].static_configs[0].targets).toEqual(SERVICE_NAMES.map((name) => `127.0.0.1:${env.mesh.ports[name]}`));
      expect(rendered.rule_files).toEqual([join(ROOT, RULES)]);
      original.scrape_configs[0].static_configs[0].targets = rendered.scrape_configs[0].static_configs[0].targets;
      original.rule_files = rendered.rule_files;
      expect(rendered).toEqual(original);
    });

    it('scrapes all six services, and every dashboard query runs and returns series', async () => {
      const targets = await until(
        'all six targets up',
        async () => {
          const { data } = await getJson<Json>(`${origin}/api/v1/targets?state=active`);
          return data.activeTargets.length === SERVICE_NAMES.length && data.activeTargets.every((t: Json) => t.health === 'up') && data.activeTargets;
        },
        { timeout: 60_000, interval: 1_000 },
      );
      expect(new Set(targets.map((t: Json) => t.labels.job))).toEqual(new Set(['pulse']));

      // The `service` variable: label_values(pulse_rpc_server_requests_total, service).
      const variable = await until(
        'the service variable lists six services',
        async () => {
          const { data } = await getJson<{ data: string[] }>(`${origin}/api/v1/label/service/values?match[]=pulse_rpc_server_requests_total`);
          if (data.length !== SERVICE_NAMES.length) throw new Error(`services with RPC series: ${data.join(', ')}`);
          return data;
        },
        { timeout: 60_000, interval: 1_000 },
      );
      expect(variable).toEqual([...SERVICE_NAMES].sort());

      // One unroutable event, as when a consumer's queue goes missing: the only queue bound for
      // customer.interaction.new is deleted under load (sentiment declares it again a second later), and chat messages
      // sent meanwhile come back from the broker, counted by ingestion.
      const api = meshClients(env.mesh.urls, env.mesh.token);
      const unroutable = () => metricValue(env.mesh.urls.ingestion, 'pulse_events_unroutable_total', { routing_key: 'customer.interaction.new' });
      for (let attempt = 1; attempt <= 3 && (await unroutable()) === 0; attempt++) {
        await rabbitmqctl('delete_queue', '-p', env.vhost, 'pulse.sentiment.interactions');
        const burst = Array.from({ length: 10 }, (_, n) => `unroutable-${attempt}-${n}-${Date.now().toString(36)}`);
        await Promise.allSettled(burst.map((id) => api.ingestion.submitInteraction({ messageId: id, conversationId: id, customerId: 'c', text: 'Hello' })));
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      expect(await unroutable(), 'an unroutable event counted').toBeGreaterThan(0);

      // The panels, as Grafana sends them with "All" services selected: $service -> .* (the variable's allValue),
      // $__rate_interval -> 1m (four scrape intervals of 15 s, Grafana's floor for it).
      const queries = dashboardQueries().map((q) => ({ ...q, expr: q.expr.replaceAll('$service', '.*').replaceAll('$__rate_interval', '1m') }));
      expect(queries.length).toBeGreaterThan(30);
      const empty = new Map(queries.map((q) => [q.expr, q]));
      await until(
        'series for every dashboard query',
        async () => {
          for (const q of [...empty.values()]) {
            const res = await fetch(`${origin}/api/v1/query?query=${encodeURIComponent(q.expr)}`);
            const body = (await res.json()) as Json;
            if (body.status !== 'success') throw new Error(`${q.where}: ${body.errorType} ${body.error}`); // reported at the timeout
            if (body.data.result.length > 0) empty.delete(q.expr);
          }
          return empty.size === 0;
        },
        { timeout: 120_000, interval: 2_000 },
      ).catch((err) => {
        throw new Error(`${err.message}\nstill without series:\n${[...empty.values()].map((q) => `  ${q.where}: ${q.expr}`).join('\n')}`);
      });
      console.log(`Prometheus: ${queries.length} dashboard queries answered with series; load sent ${JSON.stringify(load.counts)}`);
    }, 300_000);

    it('evaluates every alert rule of alerts.yml without error against the real series', async () => {
      const rules = await until(
        'every rule evaluated',
        async () => {
          const { data } = await getJson<Json>(`${origin}/api/v1/rules?type=alert`);
          const all: Json[] = data.groups.flatMap((g: Json) => g.rules);
          return all.length === alertNames.length && all.every((r) => r.lastEvaluation && !r.lastEvaluation.startsWith('0001')) && all;
        },
        { timeout: 60_000, interval: 1_000 },
      );
      expect(rules.map((r: Json) => r.name).sort()).toEqual([...alertNames].sort());
      for (const rule of rules) expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({ rule: rule.name, health: 'ok', error: '' });
    }, 90_000);
  });
});

/** ops/prometheus/prometheus.yml with each compose target (`<service>:<port>`) on loopback and the rule file path local. */
function loopbackConfig(ports: Record<string, number>): string {
  let text = read(CONFIG);
  const swap = (from: string, to: string) => {
    expect(text.split(from).length - 1, `"${from}" appears once in ${CONFIG}`).toBe(1);
    text = text.replace(from, to);
  };
  for (const name of SERVICE_NAMES) swap(`- ${name}:${SERVICES[name].port}`, `- 127.0.0.1:${ports[name]}`);
  swap('/etc/prometheus/alerts.yml', join(ROOT, RULES));
  return text;
}

function dashboardQueries(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(read('ops/grafana/pulse-dashboard.json')) as Json;
  const panels: Json[] = dashboard.panels.flatMap((p: Json) => [p, ...(p.panels ?? [])]);
  return panels.flatMap((p) => (p.targets ?? []).map((t: Json) => ({ where: `panel "${p.title}"`, expr: String(t.expr) })));
}

interface Load {
  counts: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Traffic until stopped (at most four minutes): chat messages (every other one angry, so review cases and their
 * notifications follow), bot requests to sales (Slack), with Slack failing now and then (retries, dead letters),
 * notifications to one user beyond its rate limit, invalid calls (errors by code), and reads on every service.
 */
function startLoad(api: MeshClients, slack: SlackStandIn): Load {
  const counts: Record<string, number> = { calls: 0, failed: 0 };
  const run = Date.now().toString(36);
  let stopped = false;
  const call = async (what: string, request: () => Promise<unknown>) => {
    counts.calls++;
    counts[what] = (counts[what] ?? 0) + 1;
    await request().catch(() => counts.failed++);
  };
  const done = (async () => {
    const end = Date.now() + 240_000;
    for (let i = 0; !stopped && Date.now() < end; i++) {
      const id = `${run}-${i}`;
      await call('chat', () =>
        api.ingestion.submitInteraction({
          messageId: `load-${id}`,
          conversationId: `load-conv-${i % 7}`,
          customerId: `load-customer-${i % 11}`,
          author: Author.CUSTOMER,
          text: i % 2 ? 'This is the worst service ever, I am furious and want a refund now!' : 'Thanks, that answered my question.',
        }),
      );
      if (i % 4 === 0) {
        if (i % 16 === 4) slack.misbehave({ kind: 'status', status: 503 });
        if (i % 16 === 12) slack.misbehave({ kind: 'platform', error: 'channel_not_found' });
        await call('assistance', () => api.ingestion.requestAssistance({ requestId: `load-req-${id}`, topic: 'sales', description: 'Asks for a volume discount', botId: 'bot-load' }));
      }
      if (i % 3 === 0) {
        await call('notification', () =>
          api.notification.sendNotification({
            idempotencyKey: `load/${id}`,
            recipient: { target: { case: 'userId', value: 'load-user' } },
            notificationType: 'load.check',
            priority: Priority.HIGH,
            content: { title: 'Load check' },
          }),
        );
      }
      if (i % 5 === 0) await call('invalid', () => api.ingestion.submitInteraction({ messageId: '', conversationId: 'c', customerId: 'c', text: 'x' }));
      if (i % 2 === 0) {
        // What reviewers and dashboards read, so every service serves RPCs too.
        await call('reads', () => api.status.listInbox({ userId: 'reviewers' }));
        await call('reads', () => api.review.listReviews({ pageSize: 10 }));
        await call('reads', () => api.sentiment.getConversationSentiment({ conversationId: `load-conv-${i % 7}` }));
        await call('reads', () => api.preference.listTopicRoutes({}));
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  })();
  return {
    counts,
    async stop() {
      stopped = true;
      await done;
    },
  };
}
