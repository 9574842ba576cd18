/**
 * The attendance report bench (part of `npm run bench`, `--only attendance-report`; see
 * docs/benchmarks.md, "Attendance: monthly report"), for issue 6: "Monthly report for 5,000
 * employees x 31 days computed and exported to XLSX: time and peak memory; exports stream rather
 * than build everything in memory."
 *
 * 1. A central database (attendance-report-seed.ts): 5,000 people, 50 sites, day/night/rotation
 *    schedules, leave, a month of punches.
 * 2. Each phase in a child process of its own (attendance-report-phase.ts, run with plain node on
 *    the built dashboard in dist/), so that its peak RSS (VmHWM) is its own, with its memory
 *    sampled every 100 ms:
 *    - baselines: the process with the modules loaded and nothing done (memory floor); the month's
 *      punches read by one SQL query (the floor for computing); exceljs's streaming writer
 *      writing as many rows of constant cells (the floor for the daily XLSX);
 *    - computing only: AttendanceService.days for everyone over the month;
 *    - the monthly report (totals per person) to XLSX; the daily report (a row per person per day)
 *      to XLSX, with fewer people too (peak RSS must not grow with the rows), and to CSV;
 *    - over HTTP: the dashboard in the child, GET /api/v1/reports/daily?..&format=xlsx and
 *      /reports/monthly?..&format=xlsx streamed to a file by this process; then one alert scan.
 * Nothing in dashboard/ or core/ is changed.
 */
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { addDays } from '../../core/attendance/index.js';
import { repoRoot } from '../support/cli.js';
import type { ChildMessage, MemorySample, ParentMessage, PhaseResult, PhaseSpec } from './attendance-report-phase.js';
import { seedAttendance, type ReportSeedResult } from './attendance-report-seed.js';
import { cpuSnapshot, cpuUse, type CpuUse } from './cpu-load.js';
import { schedOf } from './sched.js';
import { ms, summarize, table, type Summary } from './stats.js';

export interface AttendanceReportOptions {
  dataRoot: string;
  workDir: string;
  /** People (default 5000). */
  employees: number;
  /** Days from the first of `month` (default 31). */
  days: number;
  /** YYYY-MM (default: the last complete month with 31 days). */
  month: string;
  /** People in the smaller daily XLSX run that shows whether peak RSS grows with the rows (0 skips it). */
  smallEmployees: number;
  /** Run the children under node --cpu-prof, profiles into this dir. */
  profileDir?: string;
  keep: boolean;
  out: (line?: string) => void;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const MIB = 2 ** 20;
const API_TOKEN = 'bench-attendance-report-token-0123456789';

/** The last month with 31 days that is over (the month before this one, or earlier). */
export function defaultReportMonth(now = new Date()): string {
  let year = now.getUTCFullYear();
  let month = now.getUTCMonth(); // the previous month, 1-based
  for (;;) {
    if (month === 0) {
      year -= 1;
      month = 12;
    }
    if (new Date(Date.UTC(year, month, 0)).getUTCDate() === 31) return `${year}-${String(month).padStart(2, '0')}`;
    month -= 1;
  }
}

/** Sources the measured code is built from: dist/ must not be older than any of them. */
const MEASURED_SOURCES = ['core/attendance', 'dashboard/attendance', 'dashboard/reports', 'dashboard/http/report-routes.ts', 'dashboard/server.ts', 'platform/sqlite.ts'];

async function staleDistFiles(): Promise<string[]> {
  const stale: string[] = [];
  const check = (relative: string): void => {
    const source = path.join(repoRoot, relative);
    const built = path.join(repoRoot, 'dist', relative.replace(/\.ts$/, '.js'));
    let builtMs: number;
    try {
      builtMs = statSync(built).mtimeMs;
    } catch {
      stale.push(`${relative} (not built)`);
      return;
    }
    if (statSync(source).mtimeMs > builtMs) stale.push(relative);
  };
  const walk = async (relative: string): Promise<void> => {
    if (relative.endsWith('.ts')) return check(relative);
    for (const entry of await readdir(path.join(repoRoot, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) check(child);
    }
  };
  for (const relative of MEASURED_SOURCES) await walk(relative);
  return stale;
}

/**
 * attendance-report-phase.ts as plain JavaScript whose `../../` imports point at dist/, written
 * under test-artifacts/bench/ (so that node finds exceljs and pino in the repository's
 * node_modules). Throws when dist/ is missing or older than the sources it was built from.
 */
export async function preparePhaseScript(): Promise<string> {
  const stale = await staleDistFiles();
  if (stale.length > 0) throw new Error(`dist/ is older than the sources it measures (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}): run npm run build (npm run bench does)`);
  const sourceFile = path.join(here, 'attendance-report-phase.ts');
  const { outputText } = ts.transpileModule(await readFile(sourceFile, 'utf8'), {
    fileName: sourceFile,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, sourceMap: false },
  });
  const script = outputText.replace(/(\bfrom\s*)'\.\.\/\.\.\/([^']+)'/g, (_match, lead: string, rest: string) => {
    const built = path.join(repoRoot, 'dist', rest);
    statSync(built);
    return `${lead}'${pathToFileURL(built).href}'`;
  });
  if (/'\.\.?\//.test(script)) throw new Error('attendance-report-phase.ts imports something other than ../../ modules: the transpiled script could not load it');
  const dir = path.join(repoRoot, 'test-artifacts', 'bench');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `.attendance-report-phase-${process.pid}.mjs`);
  await writeFile(file, script);
  return file;
}

export interface Download {
  url: string;
  status: number;
  /** From the request to the response's headers, and to the first byte of the body. */
  headersMs: number;
  firstByteMs: number;
  totalMs: number;
  bytes: number;
  startedAt: number;
  endedAt: number;
  /** The dashboard's peak RSS among the samples taken during this request. */
  peakRssDuring?: number;
  magicOk: boolean;
}

/** GET `url`, streaming the body to `file` (with backpressure), timed. */
async function download(url: string, token: string, file: string): Promise<Download> {
  const startedAt = Date.now();
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const headersMs = performance.now() - started;
  let firstByteMs = Number.NaN;
  let bytes = 0;
  let head = Buffer.alloc(0);
  const out = createWriteStream(file);
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (bytes === 0) firstByteMs = performance.now() - started;
      if (head.length < 4) head = Buffer.concat([head, Buffer.from(value.subarray(0, 4))]);
      bytes += value.byteLength;
      if (!out.write(value)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  const totalMs = performance.now() - started;
  return { url, status: response.status, headersMs, firstByteMs, totalMs, bytes, startedAt, endedAt: Date.now(), magicOk: head.subarray(0, 2).toString('latin1') === 'PK' };
}

/** What --trace-gc printed: each full (mark-compact) collection's heap before and after, and how many scavenges. */
export interface GcTrace {
  /** [ms since V8 started, heap before MiB, heap after MiB]: "after" is the live heap at that moment. */
  majors: Array<[number, number, number]>;
  scavenges: number;
}

/** Reads --trace-gc lines ("[pid:0x..]  1234 ms: Mark-Compact 180.3 (200.1) -> 95.2 (210.0) MB, ..."). */
function parseGcTrace(text: string): GcTrace {
  const trace: GcTrace = { majors: [], scavenges: 0 };
  for (const line of text.split('\n')) {
    const major = /\s(\d+) ms: Mark-Compact[^\d]*([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(line);
    if (major) trace.majors.push([Number(major[1]), Number(major[2]), Number(major[3])]);
    else if (/ ms: Scavenge/.test(line)) trace.scavenges += 1;
  }
  return trace;
}

/** The largest live heap (after a full GC) while the phase worked, and how many full GCs it had. */
export function liveHeapDuringWork(result: PhaseResult, gc: GcTrace): { majors: number; maxLiveMiB: number | undefined; lastLiveMiB: number | undefined } {
  const from = result.workStartedAt - result.timeOrigin;
  const to = result.workEndedAt - result.timeOrigin;
  const during = gc.majors.filter(([at]) => at >= from && at <= to);
  return { majors: during.length, maxLiveMiB: during.length ? Math.max(...during.map((each) => each[2])) : undefined, lastLiveMiB: during[during.length - 1]?.[2] };
}

/**
 * Another user's request every `everyMs` until stopped: GET / (the console's redirect: no database
 * work, so its time is the dashboard's event loop). [Date.now() at the start, ms to the answer] (NaN: failed).
 */
function userProbe(url: string, everyMs: number): { stop(): Promise<Array<[number, number]>> } {
  const samples: Array<[number, number]> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      const started = performance.now();
      try {
        const response = await fetch(`${url}/`, { redirect: 'manual' });
        await response.arrayBuffer();
        samples.push([at, response.status === 302 ? performance.now() - started : Number.NaN]);
      } catch {
        samples.push([at, Number.NaN]);
      }
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

export interface ChildRun {
  result: PhaseResult;
  /** --trace-gc of the child. */
  gc: GcTrace;
  /** The machine's CPU while the child lived: all of it, this bench (parent + child), others, steal. */
  cpu: CpuUse;
  /** The child's time waiting for a CPU while runnable (others, or the other core's work). */
  runQueueWaitMs?: number;
  wallMs: number;
  downloads?: Download[];
}

/** Runs one phase in a child process (see attendance-report-phase.ts for the protocol). */
export async function runPhaseChild(
  script: string,
  spec: PhaseSpec,
  options: { logFile: string; profileDir?: string; onListening?: (url: string, token: string) => Promise<Download[]> },
): Promise<ChildRun> {
  const fd = openSync(options.logFile, 'a');
  const nodeArgs = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${spec.phase}${spec.limit ? `-${spec.limit}` : ''}.cpuprofile`] : [];
  const started = performance.now();
  const cpuBefore = cpuSnapshot();
  // --trace-gc prints a line per collection on stdout: read here for the live heap after each full GC.
  const child = spawn(process.execPath, ['--trace-gc', ...nodeArgs, script, JSON.stringify(spec)], { cwd: repoRoot, stdio: ['ignore', 'pipe', fd, 'ipc'] });
  closeSync(fd);
  const stdout: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const send = (message: ParentMessage): void => {
    child.send(message);
  };
  let downloads: Download[] | undefined;
  const outcome = await new Promise<{ result: PhaseResult; cpu: CpuUse; runQueueWaitMs?: number }>((resolve, reject) => {
    child.on('message', (raw) => {
      const message = raw as ChildMessage;
      if (message.type === 'listening') {
        if (!options.onListening) return reject(new Error('the child is listening, but nobody is there to make the requests'));
        options
          .onListening(message.url, message.apiToken)
          .then((done) => {
            downloads = done;
            send({ type: 'requests-done' });
          })
          .catch((error: unknown) => {
            child.kill('SIGKILL');
            reject(error instanceof Error ? error : new Error(String(error)));
          });
      } else if (message.type === 'result') {
        // The child waits for 'exit': its CPU and scheduler figures are read while it still lives.
        const cpu = cpuUse(cpuBefore, cpuSnapshot());
        const sched = schedOf(child.pid ?? 0);
        resolve({ result: message.result, cpu, ...(sched ? { runQueueWaitMs: sched.waitNs / 1e6 } : {}) });
      } else if (message.type === 'error') {
        reject(new Error(`phase ${spec.phase} failed: ${message.message}`));
      }
    });
    void exited.then((code) => reject(new Error(`phase ${spec.phase}: the child exited (${code}) before its result; see ${options.logFile}`)));
  });
  try {
    send({ type: 'exit' });
  } catch {
    // gone already
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  const result = outcome.result;
  for (const each of downloads ?? []) {
    const during = result.samples.filter(([at]) => at + result.startedAt >= each.startedAt && at + result.startedAt <= each.endedAt).map((sample) => sample[1]);
    if (during.length > 0) each.peakRssDuring = Math.max(...during);
  }
  return { ...outcome, gc: parseGcTrace(Buffer.concat(stdout).toString('utf8')), wallMs: performance.now() - started, ...(downloads ? { downloads } : {}) };
}

const mib = (bytes: number | undefined): string => (bytes === undefined || !Number.isFinite(bytes) ? '-' : (bytes / MIB).toFixed(1));
const seconds = (ms: number | undefined): string => (ms === undefined || !Number.isFinite(ms) ? '-' : (ms / 1000).toFixed(ms < 10_000 ? 2 : 1));
const fmt = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? '-' : Math.round(value).toLocaleString('en-US'));

/** RSS at each tenth of the work (the sample nearest to it), MiB: a flat tail is a stream. */
function rssCurve(result: PhaseResult): number[] {
  const from = result.workStartedAt - result.startedAt;
  const to = result.workEndedAt - result.startedAt;
  const work = result.samples.filter(([at]) => at >= from && at <= to);
  if (work.length === 0) return [];
  const points: number[] = [];
  for (let tenth = 1; tenth <= 10; tenth += 1) {
    const at = from + ((to - from) * tenth) / 10;
    let best: MemorySample = work[0] as MemorySample;
    for (const sample of work) if (Math.abs(sample[0] - at) < Math.abs(best[0] - at)) best = sample;
    points.push(Math.round(best[1] / MIB));
  }
  return points;
}

interface PhaseRow {
  key: string;
  label: string;
  run: ChildRun;
}

export async function runAttendanceReport(options: AttendanceReportOptions): Promise<{ result: Record<string, unknown>; exitCode: number }> {
  const { out } = options;
  const failures: string[] = [];
  const from = `${options.month}-01`;
  const to = addDays(from, options.days - 1);
  const result: Record<string, unknown> = { options: { employees: options.employees, days: options.days, month: options.month, from, to, smallEmployees: options.smallEmployees } };
  const root = await mkdtemp(path.join(options.dataRoot, 'attendance-report-'));
  const dataDir = path.join(root, 'dashboard');
  const outputs = path.join(root, 'exports');
  await mkdir(outputs, { recursive: true });
  const logFile = path.join(options.workDir, 'attendance-report-children.log');
  if (options.profileDir) await mkdir(options.profileDir, { recursive: true });
  let script: string | undefined;
  try {
    script = await preparePhaseScript();
    const seed: ReportSeedResult = await seedAttendance(dataDir, { employees: options.employees, from, days: options.days });
    result.seed = { ...seed, migrateMs: Math.round(seed.migrateMs), setupMs: Math.round(seed.setupMs), punchSeedMs: Math.round(seed.punchSeedMs) };
    out(
      `attendance report: ${fmt(seed.employees)} people at ${seed.sites} sites, ${seed.days} days ${seed.from} .. ${seed.to}, ${fmt(seed.punches)} punches ` +
        `(${Object.entries(seed.punchesByKind)
          .map(([kind, n]) => `${kind} ${fmt(n)}`)
          .join(', ')}), ${seed.leaveRecords} leave records, holidays ${seed.holidays.join(' ') || 'none'}`,
    );
    out(`   seeded in ${seconds(seed.setupMs + seed.migrateMs + seed.punchSeedMs)} s (punches: one INSERT .. SELECT, ${seconds(seed.punchSeedMs)} s); dashboard.sqlite ${mib(seed.bytes)} MiB`);

    const base: Omit<PhaseSpec, 'phase'> = { file: seed.file, dataDir, from, to };
    const phases: PhaseRow[] = [];
    const run = async (key: string, label: string, spec: PhaseSpec, onListening?: (url: string, token: string) => Promise<Download[]>): Promise<ChildRun> => {
      const child = await runPhaseChild(script as string, spec, { logFile, ...(options.profileDir ? { profileDir: options.profileDir } : {}), ...(onListening ? { onListening } : {}) });
      phases.push({ key, label, run: child });
      out(`   ${label}: ${seconds(child.result.elapsedMs)} s, peak RSS ${mib(child.result.peakRss)} MiB`);
      return child;
    };
    const people = options.employees;
    const personDays = people * options.days;

    const idle = await run('baseline-load', '(iii) baseline: modules loaded, nothing done (1 s)', { ...base, phase: 'idle' });
    const sql = await run('baseline-sql', '(f.i) baseline: the punches, one SQL query by time', { ...base, phase: 'sql-month' });
    const compute = await run('compute', '(a) compute: AttendanceService.days, everyone', { ...base, phase: 'compute' });
    const monthly = await run('monthly-xlsx', '(b) monthly report (totals) -> XLSX', { ...base, phase: 'monthly-xlsx', output: path.join(outputs, 'monthly.xlsx') });
    const small = options.smallEmployees > 0 && options.smallEmployees < people ? options.smallEmployees : 0;
    const dailySmall = small ? await run('daily-xlsx-small', `(c) daily report -> XLSX, ${fmt(small)} people`, { ...base, phase: 'daily-xlsx', limit: small, output: path.join(outputs, 'daily-small.xlsx') }) : undefined;
    const daily = await run('daily-xlsx', `(c) daily report -> XLSX, ${fmt(people)} people`, { ...base, phase: 'daily-xlsx', output: path.join(outputs, 'daily.xlsx') });
    const csv = await run('daily-csv', '(d) daily report -> CSV', { ...base, phase: 'daily-csv', output: path.join(outputs, 'daily.csv') });
    const plain = await run('baseline-exceljs', '(f.ii) baseline: exceljs WorkbookWriter, constant cells', { ...base, phase: 'exceljs-plain', rows: daily.result.rows ?? personDays, output: path.join(outputs, 'plain.xlsx') });
    // Another user meanwhile: GET / every 200 ms, for 2 s before the downloads and during them.
    let probes: Array<[number, number]> = [];
    const http = await run('http', '(e) over HTTP: the dashboard in the child', { ...base, phase: 'http', apiToken: API_TOKEN, logFile: path.join(options.workDir, 'attendance-report-dashboard.log') }, async (url, token) => {
      const probe = userProbe(url, 200);
      try {
        await sleep(2000);
        return [
          await download(`${url}/api/v1/reports/daily?from=${from}&to=${to}&format=xlsx`, token, path.join(outputs, 'http-daily.xlsx')),
          await download(`${url}/api/v1/reports/monthly?month=${options.month}&format=xlsx`, token, path.join(outputs, 'http-monthly.xlsx')),
        ];
      } finally {
        probes = await probe.stop();
      }
    });

    // Checks: every phase covered everyone, every export has its rows, HTTP delivered whole files.
    const expect = (ok: boolean, what: string): void => {
      if (!ok) failures.push(what);
    };
    expect(compute.result.people === people && compute.result.days === personDays, `compute: ${compute.result.people} people / ${compute.result.days} days, expected ${people} / ${personDays}`);
    expect(monthly.result.rows === people, `monthly XLSX: ${monthly.result.rows} rows, expected ${people}`);
    expect(daily.result.rows === personDays, `daily XLSX: ${daily.result.rows} rows, expected ${personDays}`);
    expect(csv.result.rows === personDays, `daily CSV: ${csv.result.rows} rows, expected ${personDays}`);
    if (dailySmall) expect(dailySmall.result.rows === small * options.days, `daily XLSX (${small} people): ${dailySmall.result.rows} rows, expected ${small * options.days}`);
    for (const each of http.downloads ?? []) expect(each.status === 200 && each.magicOk && each.bytes > 0, `HTTP ${each.url}: status ${each.status}, ${each.bytes} bytes${each.magicOk ? '' : ', not a zip'}`);
    const [httpDaily, httpMonthly] = http.downloads ?? [];
    // The same report as (c) in-process: the same size within 2 % (zip timestamps and deflate differ a little).
    if (httpDaily && daily.result.bytes) expect(Math.abs(httpDaily.bytes - daily.result.bytes) / daily.result.bytes < 0.02, `HTTP daily XLSX is ${httpDaily.bytes} bytes, the in-process one ${daily.result.bytes}`);

    // The report.
    out();
    out(`Attendance report, ${fmt(people)} people x ${options.days} days: each phase in its own process (plain node on dist/), peak RSS = VmHWM at its end`);
    const rows: string[][] = [['phase', 's', 'peak RSS MiB', 'peak - loaded MiB', 'heap peak MiB', 'rows', 'file MiB', 'rows/s', 'loop delay p99 / max ms', 'CPU machine/ours/others/steal %', 'run-queue wait s']];
    for (const { label, run: child } of phases) {
      const r = child.result;
      const rowsDone = r.rows ?? r.days ?? r.punchesRead;
      rows.push([
        label,
        seconds(r.elapsedMs),
        mib(r.peakRss),
        mib(r.peakRss - r.rssAfterLoad),
        mib(r.peakHeapUsed),
        fmt(rowsDone),
        r.bytes === undefined ? '' : mib(r.bytes),
        rowsDone === undefined || r.phase === 'idle' || r.phase === 'http' ? '' : fmt(rowsDone / (r.elapsedMs / 1000)),
        `${fmt(r.loopDelay.p99)} / ${fmt(r.loopDelay.max)}`,
        `${child.cpu.machineBusyPct} / ${child.cpu.oursPct} / ${child.cpu.othersPct} / ${child.cpu.stealPct}`,
        child.runQueueWaitMs === undefined ? '-' : seconds(child.runQueueWaitMs),
      ]);
    }
    out(table(rows));

    out();
    out('Where the time goes (SQL: the reads connection\'s queries; engine: the rest of producing people\'s days; report + writer: the rest)');
    const split: string[][] = [['phase', 'total s', 'SQL s', 'queries', 'engine s', 'report rows + writer s', 'punches read']];
    for (const { label, run: child } of phases) {
      const r = child.result;
      if (r.producerMs === undefined) continue;
      split.push([label, seconds(r.elapsedMs), seconds(r.sqlMs), fmt(r.sqlQueries), seconds(r.producerMs - (r.sqlMs ?? 0)), seconds(r.elapsedMs - r.producerMs), fmt(r.punchesRead)]);
    }
    split.push(['(f.i) baseline: one SQL query by time', seconds(sql.result.elapsedMs), seconds(sql.result.sqlMs), '1', '', '', fmt(sql.result.punchesRead)]);
    out(table(split));

    out();
    out('Does the daily XLSX stream? Peak RSS against rows, and RSS (MiB) at each tenth of the work');
    const streaming: string[][] = [['run', 'rows', 'file MiB', 'peak RSS MiB', 'peak - loaded MiB', 'heap peak MiB', 'full GCs', 'live heap after them, max MiB', 'RSS at 10 % .. 100 % of the work']];
    for (const [label, child] of [
      [`daily XLSX, ${fmt(small)} people`, dailySmall],
      [`daily XLSX, ${fmt(people)} people`, daily],
      ['daily CSV', csv],
      ['exceljs alone, constant cells', plain],
      ['monthly XLSX', monthly],
      ['compute only', compute],
    ] as const) {
      if (!child) continue;
      const r = child.result;
      const live = liveHeapDuringWork(r, child.gc);
      streaming.push([label, fmt(r.rows ?? r.days), r.bytes === undefined ? '' : mib(r.bytes), mib(r.peakRss), mib(r.peakRss - r.rssAfterLoad), mib(r.peakHeapUsed), String(live.majors), live.maxLiveMiB === undefined ? '-' : live.maxLiveMiB.toFixed(1), rssCurve(r).join(' ')]);
    }
    out(table(streaming));
    if (dailySmall) {
      const growth = (daily.result.peakRss - dailySmall.result.peakRss) / MIB;
      const perRow = (daily.result.peakRss - dailySmall.result.peakRss) / Math.max(1, (daily.result.rows ?? 0) - (dailySmall.result.rows ?? 0));
      const liveSmall = liveHeapDuringWork(dailySmall.result, dailySmall.gc);
      const liveFull = liveHeapDuringWork(daily.result, daily.gc);
      out(
        `   ${fmt(daily.result.rows)} rows against ${fmt(dailySmall.result.rows)}: peak RSS ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB (${perRow.toFixed(0)} bytes per extra row); ` +
          `live heap after full GCs at most ${liveFull.maxLiveMiB?.toFixed(1) ?? '-'} against ${liveSmall.maxLiveMiB?.toFixed(1) ?? '-'} MiB`,
      );
      result.streaming = {
        smallRows: dailySmall.result.rows,
        smallPeakRss: dailySmall.result.peakRss,
        smallMaxLiveHeapMiB: liveSmall.maxLiveMiB,
        rows: daily.result.rows,
        peakRss: daily.result.peakRss,
        maxLiveHeapMiB: liveFull.maxLiveMiB,
        growthMiB: Math.round(growth * 10) / 10,
        bytesPerExtraRow: Math.round(perRow),
      };
    }

    out();
    out('Over HTTP (the dashboard in the child; this process downloads, streaming to a file)');
    const httpRows: string[][] = [['request', 'status', 'headers ms', 'first byte ms', 'total s', 'MiB', 'dashboard peak RSS during it, MiB']];
    for (const each of http.downloads ?? []) httpRows.push([each.url.replace(/^https?:\/\/[^/]+/, ''), String(each.status), fmt(each.headersMs), fmt(each.firstByteMs), seconds(each.totalMs), mib(each.bytes), mib(each.peakRssDuring)]);
    out(table(httpRows));
    const probeSummary = (fromAt: number, toAt: number): Summary => summarize(probes.filter(([at, took]) => at >= fromAt && at < toAt && Number.isFinite(took)).map(([, took]) => took));
    const probeRows: string[][] = [['another user: GET / (no database work) every 200 ms', 'n', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'failed']];
    const firstDownload = http.downloads?.[0];
    const windows: Array<[string, number, number]> = [['before the downloads (2 s)', probes[0]?.[0] ?? 0, firstDownload?.startedAt ?? 0], ...(http.downloads ?? []).map((each): [string, number, number] => [`during ${each.url.replace(/^https?:\/\/[^/]+\/api\/v1/, '').replace(/\?.*/, '')}`, each.startedAt, each.endedAt])];
    const probeResult: Record<string, Summary> = {};
    for (const [label, fromAt, toAt] of windows) {
      const summary = probeSummary(fromAt, toAt);
      probeResult[label] = summary;
      probeRows.push([label, String(summary.n), ms(summary.p50), ms(summary.p95), ms(summary.p99), ms(summary.max), String(probes.filter(([at, took]) => at >= fromAt && at < toAt && !Number.isFinite(took)).length)]);
    }
    result.userProbe = probeResult;
    out(table(probeRows));
    out(
      `   dashboard RSS: ${mib(http.result.rssAfterLoad)} MiB with its modules loaded, ${mib(http.result.rssListening)} MiB listening, peak ${mib(http.result.peakRss)} MiB; ` +
        `then one alert scan (everyone, 4 days): ${seconds(http.result.alertScanMs)} s`,
    );
    if (httpDaily && httpMonthly) out(`   daily over HTTP vs in-process (c): ${seconds(httpDaily.totalMs)} s vs ${seconds(daily.result.elapsedMs)} s; monthly: ${seconds(httpMonthly.totalMs)} s vs ${seconds(monthly.result.elapsedMs)} s`);

    const statuses = compute.result.statuses ?? {};
    out();
    out(`   day statuses (compute): ${Object.entries(statuses).sort(([, a], [, b]) => b - a).map(([status, n]) => `${status} ${fmt(n)}`).join(', ')}`);
    const busiest = Math.max(...phases.map((phase) => phase.run.cpu.othersPct + phase.run.cpu.stealPct));
    if (busiest > 10) out(`   WARNING: other processes (or the hypervisor) took up to ${busiest.toFixed(0)} % of the machine during a phase: times include their contention`);
    for (const failure of failures) out(`FAILURE: ${failure}`);
    result.phases = Object.fromEntries(phases.map(({ key, label, run: child }) => [key, { label, ...child, liveHeap: liveHeapDuringWork(child.result, child.gc) }]));
    result.idleRss = idle.result.peakRss;
  } finally {
    if (script) await rm(script, { force: true });
    if (!options.keep) await rm(root, { recursive: true, force: true });
    else out(`kept: ${root}`);
  }
  return { result, exitCode: failures.length > 0 ? 1 : 0 };
}

