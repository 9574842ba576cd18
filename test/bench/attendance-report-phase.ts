/**
 * One phase of the attendance report bench, in a process of its own, so that its peak RSS is its
 * own (see attendance-report.ts). attendance-report.ts transpiles this file to plain JavaScript
 * whose imports point at the built dashboard in dist/ and runs it with plain `node` (no tsx
 * loader, which alone adds ~35 MiB of RSS): the code measured is the code a dashboard runs.
 * So: import nothing from test/ here, and only dashboard/core/platform modules by relative path.
 *
 * Protocol (IPC): argv[2] is the JSON PhaseSpec. The child loads its modules, records its RSS,
 * samples memory every 100 ms, runs the phase, sends a `result`, and exits when told `exit` (the
 * parent reads the child's CPU time and scheduler figures while it is still alive). The `http`
 * phase sends `listening` once the dashboard is up and waits for `requests-done`.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import ExcelJS from 'exceljs';
import { pino } from 'pino';
import { AttendanceService, type AttendanceQuery, type EmployeeDays } from '../../dashboard/attendance/attendance-service.js';
import { LeaveRepository } from '../../dashboard/attendance/leave-repository.js';
import { ScheduleStore } from '../../dashboard/attendance/schedule-store.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { dailyReport, MONTHLY_TOTALS, totalsReport, type DaysSource } from '../../dashboard/reports/attendance-reports.js';
import { writeCsv, writeXlsx } from '../../dashboard/reports/export/index.js';
import type { ReportRow, ReportTable } from '../../dashboard/reports/report-table.js';
import { startDashboard } from '../../dashboard/server.js';
import { Database, type Row, type SqlValue } from '../../platform/sqlite.js';

export type PhaseName = 'idle' | 'sql-month' | 'compute' | 'monthly-xlsx' | 'daily-xlsx' | 'daily-csv' | 'exceljs-plain' | 'http';

export interface PhaseSpec {
  phase: PhaseName;
  file: string;
  dataDir: string;
  from: string;
  to: string;
  /** People in the report (AttendanceQuery.limit); undefined: everyone. */
  limit?: number;
  /** The export's file (xlsx, csv phases). */
  output?: string;
  /** Rows of the plain exceljs baseline. */
  rows?: number;
  /** The bearer token the http phase's dashboard accepts. */
  apiToken?: string;
  /** The http phase's dashboard log. */
  logFile?: string;
}

/** [ms since the child's start (Date.now based, so comparable with the parent's), rss, heapUsed, external + arrayBuffers] in bytes. */
export type MemorySample = [number, number, number, number];

export interface PhaseResult {
  phase: PhaseName;
  /** RSS right after the modules were loaded (before any work): the memory baseline. */
  rssAfterLoad: number;
  heapAfterLoad: number;
  /** Peak RSS of the whole process (VmHWM); getrusage's maxRSS only for the record: Linux carries it over from the parent across fork and exec, so a child smaller than its parent reports the parent's peak. */
  peakRss: number;
  maxRssRusage: number;
  /** From the 100 ms samples. */
  peakHeapUsed: number;
  peakExternal: number;
  samples: MemorySample[];
  /** Longest gap between two samples: the event loop was busy that long without a break. */
  longestSampleGapMs: number;
  /** The event loop's delay over the whole run (monitorEventLoopDelay, 10 ms resolution), ms. */
  loopDelay: { p50: number; p99: number; max: number };
  /** Date.now() when the child started (samples count from it) and when the work began and ended. */
  startedAt: number;
  /** performance.timeOrigin: about when the process (and V8, whose --trace-gc times count from it) started. */
  timeOrigin: number;
  workStartedAt: number;
  workEndedAt: number;
  elapsedMs: number;
  /** Time spent in the reads connection's queries (awaited one after another). */
  sqlMs?: number;
  sqlQueries?: number;
  /** Time spent producing people's days (SQL + engine), measured around each next() of the service. */
  producerMs?: number;
  people?: number;
  days?: number;
  rows?: number;
  punchesRead?: number;
  bytes?: number;
  statuses?: Record<string, number>;
  /** http phase: the dashboard's RSS once it was listening. */
  rssListening?: number;
  /** http phase: one alert scan (everyone, 4 days) after the requests. */
  alertScanMs?: number;
  cpuUserMs: number;
  cpuSystemMs: number;
}

export type ChildMessage = { type: 'ready'; pid: number } | { type: 'listening'; url: string; apiToken: string } | { type: 'result'; result: PhaseResult } | { type: 'error'; message: string };
export type ParentMessage = { type: 'requests-done' } | { type: 'exit' };

const startedAt = Date.now();
const afterLoad = process.memoryUsage();
const samples: MemorySample[] = [];
const sample = (): void => {
  const memory = process.memoryUsage();
  samples.push([Date.now() - startedAt, memory.rss, memory.heapUsed, memory.external + memory.arrayBuffers]);
};
sample();
const sampler = setInterval(sample, 100);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

/** Resolves with the next message of this type from the parent. */
function nextMessage(type: ParentMessage['type']): Promise<void> {
  return new Promise((resolve) => {
    const listener = (message: ParentMessage): void => {
      if (message.type !== type) return;
      process.off('message', listener);
      resolve();
    };
    process.on('message', listener);
  });
}

/** VmHWM from /proc/self/status, in bytes; undefined off Linux. */
function peakRssOfThisProcess(): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The reads connection, with the time spent in its queries counted (the service awaits each in turn). */
class TimedReads {
  sqlMs = 0;
  queries = 0;
  constructor(private readonly db: Database) {}
  async all<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const started = performance.now();
    try {
      return await this.db.all<T>(sql, params);
    } finally {
      this.sqlMs += performance.now() - started;
      this.queries += 1;
    }
  }
  get<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.db.get<T>(sql, params);
  }
}

interface Counters {
  producerMs: number;
  people: number;
  days: number;
  punches: number;
  statuses: Record<string, number>;
}

/** The service's stream, with the time spent waiting for each person's days counted. */
function timedSource(service: AttendanceService, counters: Counters): DaysSource {
  return (query: AttendanceQuery) =>
    (async function* (): AsyncGenerator<EmployeeDays> {
      const iterator = service.days(query);
      for (;;) {
        const started = performance.now();
        const next = await iterator.next();
        counters.producerMs += performance.now() - started;
        if (next.done) return;
        counters.people += 1;
        counters.days += next.value.days.length;
        for (const day of next.value.days) {
          counters.punches += day.punchIds.length;
          counters.statuses[day.status] = (counters.statuses[day.status] ?? 0) + 1;
        }
        yield next.value;
      }
    })();
}

function countingRows(table: ReportTable, counter: { rows: number }): ReportTable {
  async function* rows(): AsyncGenerator<ReportRow> {
    for await (const row of table.rows) {
      counter.rows += 1;
      yield row;
    }
  }
  return { ...table, rows: rows() };
}

async function openService(spec: PhaseSpec): Promise<{ db: Database; reads: TimedReads; service: AttendanceService }> {
  // As the dashboard does it: a read-only connection for the results, its store and leave on it too.
  const db = await Database.open(spec.file, { readOnly: true });
  await db.exec('PRAGMA busy_timeout = 5000');
  const reads = new TimedReads(db);
  const asDb = reads as unknown as Database;
  return { db, reads, service: new AttendanceService(asDb, new ScheduleStore(asDb), new LeaveRepository(asDb), () => new Date()) };
}

const fileOut = (file: string): Writable => createWriteStream(file);

type Work = Omit<PhaseResult, 'phase' | 'rssAfterLoad' | 'heapAfterLoad' | 'peakRss' | 'maxRssRusage' | 'peakHeapUsed' | 'peakExternal' | 'samples' | 'longestSampleGapMs' | 'loopDelay' | 'startedAt' | 'timeOrigin' | 'workStartedAt' | 'workEndedAt' | 'elapsedMs' | 'cpuUserMs' | 'cpuSystemMs'>;

async function runPhase(spec: PhaseSpec): Promise<Work> {
  const query: AttendanceQuery = { from: spec.from, to: spec.to, ...(spec.limit ? { limit: spec.limit } : {}) };
  switch (spec.phase) {
    case 'idle': {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return {};
    }
    case 'sql-month': {
      // The floor for the service's reads: the same columns (json_extract included) for the same
      // UTC range the service reads (a day before `from` to three after `to`), one query by time.
      const db = await Database.open(spec.file, { readOnly: true });
      try {
        const started = performance.now();
        const fromAt = new Date(Date.parse(`${spec.from}T00:00:00Z`) - 2 * 86_400_000).toISOString();
        const toAt = new Date(Date.parse(`${spec.to}T00:00:00Z`) + 3 * 86_400_000).toISOString();
        const rows = await db.all(
          `SELECT id, employee_id, site_id, at, direction, method, clock_synced,
                  json_extract(body, '$.clock.corrected') AS corrected,
                  CASE WHEN json_extract(body, '$.evidence.v') = 1 THEN json_extract(body, '$.evidence.accepted') END AS accepted,
                  json_extract(body, '$.approvalRef') AS approval_ref
           FROM punches WHERE at >= ? AND at < ?`,
          [fromAt, toAt],
        );
        return { sqlMs: performance.now() - started, sqlQueries: 1, punchesRead: rows.length };
      } finally {
        await db.close();
      }
    }
    case 'compute': {
      const { db, reads, service } = await openService(spec);
      try {
        const counters: Counters = { producerMs: 0, people: 0, days: 0, punches: 0, statuses: {} };
        let worked = 0;
        for await (const { days } of timedSource(service, counters)(query)) for (const day of days) worked += day.workedMinutes;
        if (worked < 0) throw new Error('unreachable');
        return { sqlMs: reads.sqlMs, sqlQueries: reads.queries, producerMs: counters.producerMs, people: counters.people, days: counters.days, punchesRead: counters.punches, statuses: counters.statuses };
      } finally {
        await db.close();
      }
    }
    case 'monthly-xlsx':
    case 'daily-xlsx':
    case 'daily-csv': {
      const { db, reads, service } = await openService(spec);
      try {
        const counters: Counters = { producerMs: 0, people: 0, days: 0, punches: 0, statuses: {} };
        const source = timedSource(service, counters);
        // The titles and language the HTTP routes use.
        const table =
          spec.phase === 'monthly-xlsx'
            ? totalsReport(source, query, MONTHLY_TOTALS, { en: `Monthly attendance ${spec.from.slice(0, 7)}`, zh: `${spec.from.slice(0, 7)} 每月考勤` })
            : dailyReport(source, query, 'both', { en: 'Daily attendance', zh: '每日考勤' });
        const counted = { rows: 0 };
        const output = spec.output ?? '/dev/null';
        const write = spec.phase === 'daily-csv' ? writeCsv : writeXlsx;
        await write(countingRows(table, counted), fileOut(output), { language: 'both' });
        return { sqlMs: reads.sqlMs, sqlQueries: reads.queries, producerMs: counters.producerMs, people: counters.people, days: counters.days, punchesRead: counters.punches, rows: counted.rows, bytes: (await stat(output)).size };
      } finally {
        await db.close();
      }
    }
    case 'exceljs-plain': {
      // The floor for the daily XLSX: exceljs's streaming writer with the same options, the same
      // number of rows of 17 constant cells of the same types, no styles, no per-cell work.
      const output = spec.output ?? '/dev/null';
      const out = fileOut(output);
      const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
      const sheet = workbook.addWorksheet('Report');
      const day = new Date(Date.UTC(2026, 9, 5));
      const cells = ['E00001', 'Chan Tai Man', '陳大文', 'Retail', day, 'site-01', 'Day', 0.375, 0.75, 0.3701, 0.7507, 480, 0, 0, 0, 'Normal 正常', null];
      const rows = spec.rows ?? 0;
      for (let index = 0; index < rows; index += 1) {
        sheet.addRow(cells).commit();
        // Let the zip and the file take what was committed (a loop that never yields would buffer it all).
        if (index % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      }
      sheet.commit();
      await workbook.commit();
      await finished(out).catch(() => undefined);
      return { rows, bytes: (await stat(output)).size };
    }
    case 'http': {
      // The dashboard, in this process, on the seeded data dir; the parent makes the requests.
      const logger = pino({ level: 'warn' }, pino.destination({ dest: spec.logFile ?? '/dev/null', sync: true }));
      // The alert scan (every 60 s by default) would run in the middle of the downloads: it runs
      // once, on its own, after them, and is timed there.
      const config = DashboardConfig.parse({
        dataDir: spec.dataDir,
        http: { host: '127.0.0.1', port: 0 },
        apiToken: spec.apiToken,
        mqtt: { mode: 'embedded', host: '127.0.0.1', port: 0 },
        notifications: { scanSeconds: 3600 },
        log: { level: 'warn' },
      });
      const dashboard = await startDashboard(config, logger, { onFirstAdmin: () => undefined });
      try {
        const rssListening = process.memoryUsage().rss;
        send({ type: 'listening', url: dashboard.url, apiToken: dashboard.apiToken });
        await nextMessage('requests-done');
        const scanStarted = performance.now();
        await dashboard.attendance.alerts.scan();
        return { rssListening, alertScanMs: performance.now() - scanStarted };
      } finally {
        await dashboard.stop();
      }
    }
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as PhaseSpec;
  send({ type: 'ready', pid: process.pid });
  const workStartedAt = Date.now();
  const started = performance.now();
  const work = await runPhase(spec);
  const elapsedMs = performance.now() - started;
  const workEndedAt = Date.now();
  clearInterval(sampler);
  loopDelay.disable();
  sample();
  let longestSampleGapMs = 0;
  for (let index = 1; index < samples.length; index += 1) longestSampleGapMs = Math.max(longestSampleGapMs, (samples[index]?.[0] ?? 0) - (samples[index - 1]?.[0] ?? 0));
  const usage = process.resourceUsage();
  const result: PhaseResult = {
    phase: spec.phase,
    rssAfterLoad: afterLoad.rss,
    heapAfterLoad: afterLoad.heapUsed,
    peakRss: peakRssOfThisProcess() ?? usage.maxRSS * 1024,
    maxRssRusage: usage.maxRSS * 1024,
    peakHeapUsed: Math.max(...samples.map((each) => each[2])),
    peakExternal: Math.max(...samples.map((each) => each[3])),
    samples,
    longestSampleGapMs,
    loopDelay: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    startedAt,
    timeOrigin: performance.timeOrigin,
    workStartedAt,
    workEndedAt,
    elapsedMs,
    cpuUserMs: usage.userCPUTime / 1000,
    cpuSystemMs: usage.systemCPUTime / 1000,
    ...work,
  };
  const exit = nextMessage('exit');
  send({ type: 'result', result });
  await exit;
  process.exit(0);
}

main().catch((error: unknown) => {
  send({ type: 'error', message: (error as Error).stack ?? String(error) });
  setTimeout(() => process.exit(1), 100);
});
