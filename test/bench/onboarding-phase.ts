/**
 * One phase of the onboarding bench (test/bench/onboarding.ts), in a process of its own so that its
 * peak RSS (VmHWM) is its own. Prints one JSON line: {phase, timings: {name: ms}, rssBeforeMiB,
 * peakRssMiB}. `rssBeforeMiB` is the peak after the set-up (modules loaded, dashboard started),
 * before anything measured ran.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from 'csv-parse/sync';
import { DashboardConfig } from '../../dashboard/config.js';
import { openCentralDb } from '../../dashboard/db/central-db.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { validateEmployeeFile } from '../../provisioning/employee-import/validate-rows.js';
import { pino } from 'pino';
import { wifiOnlyPolicy } from '../support/site-policy.js';

const [phase, dir, fileArg, sitesArg] = process.argv.slice(2);
const SITES = Number(sitesArg ?? 50);
const siteIds = Array.from({ length: SITES }, (_, i) => `shop-${String(i).padStart(3, '0')}`);

function peakMiB(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

async function timed<T>(timings: Record<string, number>, name: string, work: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  const result = await work();
  timings[name] = performance.now() - started;
  return result;
}

async function dashboardWithSites(): Promise<{ dashboard: Dashboard; token: string }> {
  const token = 'bench-onboarding-token-0123456789';
  const dashboard = await startDashboard(
    DashboardConfig.parse({ dataDir: path.join(dir!, phase!), apiToken: token, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, log: { level: 'warn' } }),
    pino({ level: 'warn' }),
    { onFirstAdmin: () => undefined },
  );
  for (const id of siteIds) await dashboard.sites.put({ id, name: id, nameZh: null, timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy(id), beacons: [] }, new Date());
  return { dashboard, token };
}

async function main(): Promise<void> {
  const timings: Record<string, number> = {};
  let rssBefore = 0;
  const bytes = await readFile(fileArg!);
  switch (phase) {
    case 'csv-parse': {
      rssBefore = peakMiB();
      await timed(timings, 'csv-parse alone', () => parse(bytes.toString('utf8'), { relax_column_count: true }) as unknown);
      break;
    }
    case 'validate': {
      rssBefore = peakMiB();
      const result = await timed(timings, 'validate every row', () => validateEmployeeFile(bytes, { knownDepartments: null, knownSites: new Set(siteIds), badgeHolder: () => undefined, mistakableHolder: () => undefined }));
      if (result.errors.length > 0) throw new Error(`the bench file has errors: ${JSON.stringify(result.errors.slice(0, 3))}`);
      break;
    }
    case 'raw-insert': {
      const { db } = await openCentralDb(path.join(dir!, phase));
      const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
      const rows = (parse(text, { relax_column_count: true }) as string[][]).slice(1);
      rssBefore = peakMiB();
      const at = new Date().toISOString();
      await timed(timings, 'raw INSERTs, one transaction', () =>
        db.transaction(async () => {
          for (const row of rows) {
            await db.run("INSERT INTO employees (employee_number, name, status, created_at, updated_at) VALUES (?, ?, 'active', ?, ?)", [row[0]!, row[1]!, at, at]);
            await db.run('INSERT INTO employee_sites (employee_number, site_id) VALUES (?, ?)', [row[0]!, row[8]!]);
            const [kind, uid] = row[9]!.split(':');
            await db.run('INSERT INTO badge_assignments (employee_number, credential_kind, credential_uid, assigned_at, assigned_by) VALUES (?, ?, ?, ?, ?)', [row[0]!, kind!, uid!, at, 'bench']);
          }
        }),
      );
      await db.close();
      break;
    }
    case 'import': {
      const { dashboard, token } = await dashboardWithSites();
      const post = (url: string) =>
        dashboard.http.inject({ method: 'POST', url: `/api/v1${url}`, payload: bytes, headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' } });
      rssBefore = peakMiB();
      const preview = await timed(timings, 'preview over HTTP (read, check, plan)', () => post('/employee-imports/preview'));
      if (preview.statusCode !== 200) throw new Error(`preview: ${preview.statusCode} ${preview.body.slice(0, 300)}`);
      const commit = await timed(timings, 'commit over HTTP (all new)', () => post('/employee-imports'));
      if (commit.statusCode !== 200) throw new Error(`commit: ${commit.statusCode} ${commit.body.slice(0, 300)}`);
      const again = await timed(timings, 'commit the same file again (all unchanged)', () => post('/employee-imports'));
      if ((again.json() as { counts: { unchanged: number } }).counts.unchanged === 0) throw new Error('the second commit changed rows');
      await dashboard.stop();
      break;
    }
    case 'hris': {
      const { dashboard, token } = await dashboardWithSites();
      const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
      const rows = (parse(text, { relax_column_count: true }) as string[][]).slice(1);
      const records = (suffix: string) =>
        rows.map((row) => {
          const [kind, uid] = row[9]!.split(':');
          return { employeeNumber: row[0]!, name: `${row[1]!}${suffix}`, sites: [row[8]!], badges: [{ kind: kind!, uid: uid! }] };
        });
      const sync = (body: unknown) =>
        dashboard.http.inject({ method: 'POST', url: '/api/v1/hris/employees', payload: JSON.stringify(body), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
      rssBefore = peakMiB();
      for (const [name, body] of [
        ['HRIS upsert, all new', { records: records('') }],
        ['HRIS upsert, every name changed', { records: records(' Jr') }],
        ['HRIS upsert, nothing changed', { records: records(' Jr') }],
      ] as const) {
        const answer = await timed(timings, name, () => sync(body));
        if (answer.statusCode !== 200) throw new Error(`${name}: ${answer.statusCode} ${answer.body.slice(0, 300)}`);
      }
      await dashboard.stop();
      break;
    }
    default:
      throw new Error(`unknown phase ${phase}`);
  }
  process.stdout.write(`${JSON.stringify({ phase, timings, rssBeforeMiB: rssBefore, peakRssMiB: peakMiB() })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
