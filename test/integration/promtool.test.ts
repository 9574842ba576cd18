import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { createMetricsRegistry } from '../../platform/metrics.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import { repoRoot } from '../support/cli.js';
import { testLogger } from '../support/logger.js';
import { requireCommand } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

/**
 * The PromQL we publish and the metrics we serve, checked by Prometheus' own promtool (Debian
 * package `prometheus`): the alerting rules (provisioning/prometheus/punchgate-alerts.yml) and
 * their unit tests, every query of docs/metrics.md and of the Grafana dashboard
 * (docs/grafana/punchgate-fleet.json), and the /metrics of a real dashboard and gateway.
 */

const ALERT_RULES = 'provisioning/prometheus/punchgate-alerts.yml';
const ALERT_TESTS = 'test/fixtures/prometheus/punchgate-alerts.test.yml';
const METRICS_DOC = 'docs/metrics.md';
const GRAFANA_DASHBOARD = 'docs/grafana/punchgate-fleet.json';

/**
 * What `promtool check metrics` says of the dashboard's /metrics with prom-client's process
 * metrics (as `punchgate dashboard` serves it): three gauges of prom-client's own named `_total`.
 * Not ours to rename; none of our metrics may appear here.
 */
const PROM_CLIENT_LINT = [
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_resources_total non-counter metrics should not have "_total" suffix',
];

const execFileAsync = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs promtool with `args` (no shell) in the repo root, `input` on its stdin; resolves with its exit code whatever it is. */
async function promtool(args: string[], input = ''): Promise<Run> {
  requireCommand('promtool', 'prometheus');
  const pending = execFileAsync('promtool', args, { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
  pending.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await pending;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const shown = (run: Run): string => `promtool exited ${run.code}:\n${run.stdout}${run.stderr}`;

/** A query found in a document, and where. */
interface Query {
  where: string;
  expr: string;
}

/** Every line of the doc's ```promql blocks. */
function promqlBlocks(doc: string): Query[] {
  const queries: Query[] = [];
  const lines = doc.split('\n');
  let inBlock = false;
  lines.forEach((line, index) => {
    if (!inBlock) {
      inBlock = line.trim() === '```promql';
      return;
    }
    if (line.trim().startsWith('```')) {
      inBlock = false;
      return;
    }
    if (line.trim() !== '') queries.push({ where: `${METRICS_DOC}:${index + 1}`, expr: line.trim() });
  });
  return queries;
}

/** The backticked PromQL of the "Other useful queries" table (`| question | PromQL |`), with its `\|` unescaped. */
function queryTable(doc: string): Query[] {
  const lines = doc.split('\n');
  const header = lines.findIndex((line) => /^\|\s*question\s*\|\s*PromQL\s*\|$/.test(line.trim()));
  if (header < 0) return [];
  const queries: Query[] = [];
  for (let index = header + 2; index < lines.length && lines[index]!.trim().startsWith('|'); index += 1) {
    const row = /^\|\s*(.+?)\s*\|\s*`(.+)`\s*\|$/.exec(lines[index]!.trim());
    if (!row) throw new Error(`${METRICS_DOC}:${index + 1}: a row of the queries table without a backticked query: ${lines[index]}`);
    queries.push({ where: `${METRICS_DOC}:${index + 1} (${row[1]})`, expr: row[2]!.replaceAll('\\|', '|') });
  }
  return queries;
}

/** Every target's `expr` in a Grafana dashboard's JSON, rows and nested panels included. */
function grafanaTargets(dashboard: unknown): Query[] {
  const queries: Query[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, `${where}[${index}]`));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const object = node as Record<string, unknown>;
    if (Array.isArray(object.targets)) {
      object.targets.forEach((target, index) => {
        const expr = (target as { expr?: unknown } | null)?.expr;
        if (typeof expr === 'string') queries.push({ where: `${GRAFANA_DASHBOARD} ${where}.targets[${index}] (${String(object.title ?? 'untitled')})`, expr });
      });
    }
    for (const [key, value] of Object.entries(object)) if (key !== 'targets') walk(value, `${where}.${key}`);
  };
  walk(dashboard, '$');
  return queries;
}

/** A rules file (JSON is YAML) recording each query as `punchgate:doc_query_N`. */
function recordingRules(queries: readonly Query[]): string {
  return JSON.stringify({ groups: [{ name: 'punchgate-doc-queries', rules: queries.map((query, index) => ({ record: `punchgate:doc_query_${index + 1}`, expr: query.expr })) }] }, null, 2);
}

/** Metric names served, from the `# TYPE` lines of an exposition (a histogram's `_bucket`, `_count` and `_sum` too). */
function servedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${name}${suffix}`);
  }
  return names;
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'punchgate-promtool-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('promtool: the alerting rules', () => {
  it(`${ALERT_RULES} is a valid Prometheus rules file, lint included`, async () => {
    const run = await promtool(['check', 'rules', '--lint=all', '--lint-fatal', ALERT_RULES]);
    expect(run.code, shown(run)).toBe(0);
    expect(run.stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  it('fire on the series the dashboard exports, with their labels and summary, and not before their `for:` or under their threshold (promtool test rules)', async () => {
    const run = await promtool(['test', 'rules', ALERT_TESTS]);
    expect(run.code, shown(run)).toBe(0);
    expect(run.stdout).toMatch(/SUCCESS/);
  });

  it('are the fleet alerts, each tested both firing and not firing; the rule docs/metrics.md quotes is quoted as it is', async () => {
    const rules = await readFile(path.join(repoRoot, ALERT_RULES), 'utf8');
    const tests = await readFile(path.join(repoRoot, ALERT_TESTS), 'utf8');
    // docs/metrics.md quotes a rule: as it is in the file.
    const doc = await readFile(path.join(repoRoot, METRICS_DOC), 'utf8');
    const excerpt = /^An excerpt[^\n]*\n\n```yaml\n([\s\S]*?)```$/m.exec(doc.slice(doc.indexOf('## Alerting rules')))?.[1];
    expect(excerpt, `no yaml excerpt under "## Alerting rules" in ${METRICS_DOC}`).toBeDefined();
    expect(rules, `the excerpt in ${METRICS_DOC} is not in ${ALERT_RULES}`).toContain(excerpt);
    const alerts = [...rules.matchAll(/^\s*- alert: (\S+)\s*$/gm)].map((match) => match[1]!);
    expect(alerts.sort()).toEqual(['DashboardBrokerDown', 'PunchIngestFailing', 'StoreAllTerminalsOffline', 'StoreTerminalBehind', 'StoreTerminalOffline', 'StoreTerminalSilent']);
    const cases = [...tests.matchAll(/^\s*alertname: (\S+)\s*\n\s*exp_alerts:(.*)$/gm)].map((match) => ({ alert: match[1]!, fires: match[2]!.trim() !== '[]' }));
    for (const alert of alerts) {
      expect(cases.some((test) => test.alert === alert && test.fires), `${alert}: no case where it fires in ${ALERT_TESTS}`).toBe(true);
      expect(cases.some((test) => test.alert === alert && !test.fires), `${alert}: no case where it must not fire in ${ALERT_TESTS}`).toBe(true);
    }
  });
});

describe('promtool: the PromQL of docs/metrics.md and the Grafana dashboard', () => {
  let queries: Query[];
  beforeAll(async () => {
    const doc = await readFile(path.join(repoRoot, METRICS_DOC), 'utf8');
    const grafana = JSON.parse(await readFile(path.join(repoRoot, GRAFANA_DASHBOARD), 'utf8')) as unknown;
    queries = [...promqlBlocks(doc), ...queryTable(doc), ...grafanaTargets(grafana)];
  });

  it('finds every query: the promql blocks line by line, the "Other useful queries" table, every Grafana target', async () => {
    const doc = await readFile(path.join(repoRoot, METRICS_DOC), 'utf8');
    const grafana = JSON.parse(await readFile(path.join(repoRoot, GRAFANA_DASHBOARD), 'utf8')) as unknown;
    // As many as there are today, at least: a change of layout that loses queries must fail here.
    expect(promqlBlocks(doc).length).toBeGreaterThanOrEqual(13);
    expect(queryTable(doc).length).toBeGreaterThanOrEqual(12);
    expect(grafanaTargets(grafana).length).toBeGreaterThanOrEqual(10);
    // The table's escaped pipe is unescaped, and nothing is left half-extracted.
    expect(queries.map((query) => query.expr)).toContain('sum by (result) (increase(punchgate_gateway_taps_total{result=~"unknown|revoked"}[1h]))');
    for (const query of queries) expect(query.expr, query.where).not.toMatch(/^`|`$|\\\|/);
  });

  it('parses every one of them (promtool check rules, each query as a recording rule); a failure names the query', async () => {
    const file = path.join(scratch, 'doc-queries.yml');
    await writeFile(file, recordingRules(queries));
    const run = await promtool(['check', 'rules', file]);
    if (run.code !== 0) {
      // Which ones: each query alone, so that the message names every failing one and why.
      const failures: string[] = [];
      for (const [index, query] of queries.entries()) {
        const single = path.join(scratch, `doc-query-${index + 1}.yml`);
        await writeFile(single, recordingRules([query]));
        const alone = await promtool(['check', 'rules', single]);
        if (alone.code !== 0) failures.push(`${query.where}: ${query.expr}\n  ${`${alone.stdout}${alone.stderr}`.trim().replaceAll('\n', '\n  ')}`);
      }
      expect.fail(`PromQL that Prometheus cannot parse:\n${failures.join('\n') || shown(run)}`);
    }
    expect(run.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});

describe("promtool: a real dashboard's and gateway's /metrics", () => {
  let dir: string;
  let dashboard: Dashboard | undefined;
  let gateway: Gateway | undefined;
  const logger = testLogger();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-promtool-metrics-'));
    // With prom-client's process metrics, as `punchgate dashboard` serves them.
    dashboard = await startDashboard(
      DashboardConfig.parse({ dataDir: path.join(dir, 'dashboard'), http: { host: '127.0.0.1', port: 0 }, mqtt: { mode: 'embedded', host: '127.0.0.1', port: 0 } }),
      logger,
      { onFirstAdmin: () => undefined, metrics: createMetricsRegistry({ processMetrics: true }) },
    );
    const secret = newDeviceSecret();
    const createdAt = new Date().toISOString();
    await dashboard.devices.register({ id: 'gw-1', siteId: 'mk-01', secretHash: await hashDeviceSecret(secret), createdAt });
    await dashboard.devices.register({ id: 'gw-2', siteId: 'mk-01', secretHash: await hashDeviceSecret(newDeviceSecret()), createdAt });
    // A gateway connected to it, with a reader whose port is missing (so reader series exist) and no radios.
    gateway = await startGateway(
      GatewayConfig.parse({
        deviceId: 'gw-1',
        siteId: 'mk-01',
        dataDir: path.join(dir, 'gateway'),
        readers: [{ id: 'door', path: path.join(dir, 'no-such-tty'), protocol: 'punchgate' }],
        http: { port: 0 },
        mqtt: { url: dashboard.brokerUrl, password: secret, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
        clock: { syncCommand: null },
        presence: { ble: { scan: false, advertise: false }, wifi: { enabled: false } },
      }),
      logger,
      { uplink: { statusMinIntervalMs: 0 } },
    );
    await waitFor('gw-1 online at the dashboard', async () => (await dashboard!.devices.get('gw-1'))?.online === true, 20_000);
    // Requests for the latency histogram to have series: a route, an unmatched URL, a refusal.
    const auth = { authorization: `Bearer ${dashboard.apiToken}` };
    expect((await fetch(`${dashboard.url}/api/v1/devices`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${dashboard.url}/no/such/page`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${dashboard.url}/metrics`)).status).toBe(401);
  });

  afterAll(async () => {
    await gateway?.stop();
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const dashboardExposition = async (): Promise<string> => {
    const response = await fetch(`${dashboard!.url}/metrics`, { headers: { authorization: `Bearer ${dashboard!.apiToken}` } });
    expect(response.status).toBe(200);
    return response.text();
  };
  const gatewayExposition = async (): Promise<string> => {
    const response = await fetch(`${gateway!.url}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };
  const lintLines = (run: Run): string[] =>
    `${run.stdout}${run.stderr}`
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');

  it("the gateway's passes promtool check metrics without a problem", async () => {
    const exposition = await gatewayExposition();
    expect(exposition).toContain('punchgate_gateway_reader_state{reader="door",state="ready"} 0');
    const run = await promtool(['check', 'metrics'], exposition);
    expect(lintLines(run)).toEqual([]);
    expect(run.code, shown(run)).toBe(0);
  });

  it("the dashboard's has no problem with our metrics; its only lint findings are prom-client's three nodejs_active_*_total gauges", async () => {
    const exposition = await dashboardExposition();
    expect(exposition).toContain('punchgate_dashboard_device_online{device_id="gw-1",site_id="mk-01"} 1');
    expect(exposition).toMatch(/^punchgate_dashboard_http_request_duration_seconds_bucket\{/m);
    expect(exposition).toMatch(/^nodejs_active_handles_total /m);
    const run = await promtool(['check', 'metrics'], exposition);
    const lines = lintLines(run);
    expect(lines.filter((line) => !line.startsWith('nodejs_') && !line.startsWith('process_'))).toEqual([]);
    expect(lines.sort()).toEqual(PROM_CLIENT_LINT);
    // 3: lint problems only; 1 would be an exposition promtool cannot parse.
    expect(run.code, shown(run)).toBe(3);
  });

  it('serves every metric that the queries of docs/metrics.md, the Grafana dashboard and the alerting rules use', async () => {
    const served = new Set([...servedNames(await dashboardExposition()), ...servedNames(await gatewayExposition())]);
    const doc = await readFile(path.join(repoRoot, METRICS_DOC), 'utf8');
    const grafana = JSON.parse(await readFile(path.join(repoRoot, GRAFANA_DASHBOARD), 'utf8')) as unknown;
    const rules = await readFile(path.join(repoRoot, ALERT_RULES), 'utf8');
    const queries = [...promqlBlocks(doc), ...queryTable(doc), ...grafanaTargets(grafana), ...[...rules.matchAll(/^\s*expr: (.+)$/gm)].map((match) => ({ where: ALERT_RULES, expr: match[1]! }))];
    const unknown = queries.flatMap((query) => [...query.expr.matchAll(/\bpunchgate_[a-z0-9_]+/g)].map((match) => match[0]).filter((name) => !served.has(name)).map((name) => `${query.where}: ${name} in ${query.expr}`));
    expect(unknown).toEqual([]);
    expect(queries.length).toBeGreaterThanOrEqual(13 + 12 + 10 + 6);
  });
});
