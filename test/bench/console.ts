/**
 * The console bench (part of `npm run bench`, `--only console`; see docs/benchmarks.md, "Console"):
 * 1. a central database of 1,000,000 punches, seeded in one statement (console-seed.ts);
 * 2. punch search on it, per query type, first page and a deep page (keyset cursor), through
 *    HTTP (GET /api/v1/punches on the listening port), at the repository (PunchRepository.query)
 *    and, as the floor, the same SQL through a raw sqlite3 connection; EXPLAIN QUERY PLAN for each;
 * 3. the live feed under 200 punches/s from 5 simulated gateways (a child process, console-load.ts):
 *    publish -> SSE event received, with one and with 3 SSE clients, and with one while a console
 *    user pages deep in the list, against the baseline publish -> the ingest commit.
 * Nothing in dashboard/ is changed: the bench opens the seeded file with startDashboard and wraps a
 * few methods of that one dashboard's instances to timestamp them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import sqlite3 from 'sqlite3';
import { z } from 'zod';
import { Punch as PunchSchema, type Punch, type PunchMethod } from '../../core/punch.js';
import { DashboardConfig } from '../../dashboard/config.js';
import type { PunchQuery } from '../../dashboard/db/punch-repository.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import type { SqlValue } from '../../platform/sqlite.js';
import { hashDeviceSecret } from '../../provisioning/device-secrets.js';
import { repoRoot } from '../support/cli.js';
import { prng } from '../support/prng.js';
import type { ChildMessage, LoadGateway, ParentMessage, PhaseData, PhaseRequest } from './console-load.js';
import { SEED_DEVICES_PER_SITE, SEED_EMPLOYEES, SEED_SITES, deviceId, employeeId, seedCentralPunches, siteId, siteOfEmployee, type SeedResult } from './console-seed.js';
import { cpuSnapshot, cpuUse, type CpuSnapshot, type CpuUse } from './cpu-load.js';
import { ms, summarize, summaryHeader, summaryRow, table, type Summary } from './stats.js';

export interface ConsoleOptions {
  dataRoot: string;
  workDir: string;
  /** Punches seeded (default 1,000,000). */
  punches: number;
  /** Parameter sets per query type (each: first page and deep page, three layers). */
  samples: number;
  /** Parameter sets for the rare-method probe (each query walks the whole table). */
  probeSamples: number;
  /** Measured seconds of the live feed with one SSE client, and with `clients` clients. */
  liveSeconds: number;
  live3Seconds: number;
  /** Measured seconds of the live feed with one client while a console user pages deep in the list (0 skips it). */
  busySeconds: number;
  /** Punches per second in all, from `gateways` simulated gateways. */
  rate: number;
  gateways: number;
  clients: number;
  keep: boolean;
  out: (line?: string) => void;
}

const API_TOKEN = 'bench-console-token-0123456789';
const SECRET = 'bench-console-secret-0123456789';
const PAGE = 100;
const DAY = 86_400_000;
/** Midnight in Hong Kong, relative to the UTC midnight of the same date. */
const HK_MIDNIGHT = -8 * 3_600_000;
/** Per query type (both pages), at most about this long is spent sampling; at least MIN_SAMPLES parameter sets are taken. */
const TYPE_TIME_BOX_MS = 2500;
/** The busy live phase: a deep page this long after the previous one's answer. */
const BUSY_GAP_MS = 500;
const MIN_SAMPLES = 5;

const clock = (): number => performance.timeOrigin + performance.now();
const iso = (time: number): string => new Date(time).toISOString();
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const fmt = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');

/** The three layers measured in turn, and (deep pages, raw only) the cursor written as a row value: a what-if. */
type Layer = 'raw' | 'repository' | 'http' | 'rowValue';
const LAYERS: readonly Layer[] = ['raw', 'repository', 'http'];
const ALL_LAYERS: readonly Layer[] = [...LAYERS, 'rowValue'];
const LAYER_LABELS: Record<Layer, string> = {
  raw: 'baseline: raw sqlite3, same SQL',
  repository: 'PunchRepository.query',
  http: 'GET /api/v1/punches (HTTP)',
  rowValue: 'what-if: raw, cursor as (at, id) < (?, ?)',
};

/** One parameter set of a query type: the repository's filter, and who asks over HTTP. */
interface QueryParams {
  filter: Omit<PunchQuery, 'limit' | 'cursor'>;
  /** 'admin': the bootstrap token; otherwise a store-manager token whose sites are `filter.siteIds`. */
  token: string;
  /** The deep page starts at the newest match before this instant (the middle of the query's span). */
  middle: number;
}

interface QueryType {
  key: string;
  label: string;
  params: (sample: number, random: () => number) => QueryParams;
  /** At most this many parameter sets (the probe's queries are slow). */
  samples?: number;
  /** false: first pages only. */
  deep?: boolean;
}

function bareRows(db: sqlite3.Database, sql: string, params: readonly SqlValue[]): Promise<Array<{ body: string; at: string; id: string }>> {
  return new Promise((resolve, reject) => db.all(sql, params, (error: Error | null, rows: Array<{ body: string; at: string; id: string }>) => (error ? reject(error) : resolve(rows))));
}

function openRaw(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (error) => (error ? reject(error) : resolve(db)));
  });
}

/** The columns a filter constrains. */
function filterColumns(filter: QueryParams['filter']): string[] {
  const columns = new Set<string>();
  if (filter.deviceId) columns.add('device_id');
  if (filter.siteId || filter.siteIds) columns.add('site_id');
  if (filter.employeeId || filter.unknown !== undefined) columns.add('employee_id');
  if (filter.method) columns.add('method');
  if (filter.from || filter.to) columns.add('at');
  return [...columns];
}

/**
 * What to flag in a plan: a full table scan; filter columns the index search does not constrain
 * (each row the index yields is then read and tested); a cursor that does not bound the search
 * (every row before it is walked); a sort of the matches.
 */
function planFlags(plan: string[], columns: string[], cursor: boolean): string[] {
  const flags: string[] = [];
  const text = plan.join('; ');
  if (/\bSCAN punches\b(?! USING)/.test(text)) flags.push('FULL TABLE SCAN');
  // The constraints in "SEARCH punches USING INDEX x (site_id=? AND at<?)", row values included.
  const constraints = [...text.matchAll(/USING (?:COVERING )?INDEX \w+ \((.*?)\)(?:;|$)/g)].map((match) => match[1] ?? '').join(' ');
  const residual = columns.filter((column) => !new RegExp(`\\b${column}\\b`).test(constraints));
  if (residual.length) flags.push(`${residual.join(', ')} tested row by row along the index`);
  if (cursor && !/\bat\b/.test(constraints)) flags.push('cursor not an index bound: walks every row before it');
  if (/MULTI-INDEX OR/.test(text)) flags.push('cursor split into a MULTI-INDEX OR: every match before the cursor is read');
  if (/USE TEMP B-TREE FOR ORDER BY/.test(text)) flags.push('temp B-tree sort');
  return flags;
}

/** The repository's cursor condition (last in its WHERE), and the same as a row value: (at, id) < (?, ?). */
const CURSOR_OR = '(at < ? OR (at = ? AND id < ?))';
function rowValueVariant(sql: string, params: readonly SqlValue[]): { sql: string; params: SqlValue[] } | undefined {
  if (!sql.includes(CURSOR_OR) || params.length < 4) return undefined;
  const [at, , id, limit] = params.slice(-4) as [SqlValue, SqlValue, SqlValue, SqlValue];
  return { sql: sql.replace(CURSOR_OR, '(at, id) < (?, ?)'), params: [...params.slice(0, -4), at, id, limit] };
}

/** How many matches lie before the deep page's cursor: the first page's WHERE, and at >= the cursor's instant. */
async function rowsAhead(raw: sqlite3.Database, firstSql: string, firstParams: readonly SqlValue[], cursorAt: string): Promise<number> {
  const match = /^SELECT body, at, id FROM punches\s+(?:WHERE (.*?)\s+)?ORDER BY at DESC, id DESC LIMIT \?$/.exec(firstSql);
  if (!match) return Number.NaN;
  const sql = `SELECT count(*) AS n FROM punches WHERE ${match[1] ? `${match[1]} AND ` : ''}at >= ?`;
  const rows = await new Promise<Array<{ n: number }>>((resolve, reject) => raw.all(sql, [...firstParams.slice(0, -1), cursorAt], (error: Error | null, found: Array<{ n: number }>) => (error ? reject(error) : resolve(found))));
  return rows[0]?.n ?? Number.NaN;
}

interface Cell {
  samples: Record<Layer, number[]>;
  rows: number[];
  bytes: number[];
  /** Rows ahead of the deep page's cursor, for the first parameter set (how deep "deep" was). */
  depth?: number;
  sql?: string;
  plan?: string[];
  flags?: string[];
  rowValuePlan?: string[];
}

interface PageResult {
  layers: Partial<Record<Layer, Summary>>;
  rowsMean: number;
  httpBytesMean: number;
  depth?: number;
  sql?: string;
  plan?: string[];
  flags?: string[];
  rowValuePlan?: string[];
}

export interface QueryTypeResult {
  key: string;
  label: string;
  pages: Record<'first' | 'deep', PageResult | undefined>;
}

async function measureQueries(options: {
  dashboard: Dashboard;
  raw: sqlite3.Database;
  types: QueryType[];
  samples: number;
  failures: string[];
}): Promise<QueryTypeResult[]> {
  const { dashboard, raw, failures } = options;
  const results: QueryTypeResult[] = [];
  // Searches run on the repository's read-only connection (`reads`), not on `dashboard.db`.
  const searchDb = (dashboard.punches as unknown as { reads: object }).reads;
  const target = searchDb as { all: (sql: string, params?: readonly SqlValue[]) => Promise<unknown[]> };
  // The repository's own SQL and parameters, captured on the untimed warm-up call of each parameter set.
  const captureSql = async (query: PunchQuery): Promise<{ sql: string; params: SqlValue[]; ids: string[] }> => {
    const original = target.all;
    let captured: { sql: string; params: SqlValue[] } | undefined;
    target.all = (sql: string, params: readonly SqlValue[] = []) => {
      if (sql.startsWith('SELECT body, at, id FROM punches')) captured = { sql, params: [...params] };
      return original.call(searchDb, sql, params);
    };
    try {
      const page = await dashboard.punches.query(query);
      if (!captured) throw new Error('the repository ran no punch query');
      return { ...captured, ids: page.punches.map((punch) => punch.id) };
    } finally {
      target.all = original;
    }
  };
  for (const type of options.types) {
    const random = prng(0x5eed + type.key.length * 7919 + type.key.charCodeAt(0));
    const newCell = (): Cell => ({ samples: { raw: [], repository: [], http: [], rowValue: [] }, rows: [], bytes: [] });
    const cells: Record<'first' | 'deep', Cell> = { first: newCell(), deep: newCell() };
    const wanted = Math.min(type.samples ?? options.samples, options.samples);
    const started = performance.now();
    for (let sample = 0; sample < wanted; sample += 1) {
      if (sample >= Math.min(MIN_SAMPLES, wanted) && performance.now() - started > TYPE_TIME_BOX_MS) break;
      const params = type.params(sample, random);
      const token = params.token === 'admin' ? API_TOKEN : params.token;
      const pages: Array<['first' | 'deep', string | undefined, string | undefined]> = [['first', undefined, undefined]];
      if (type.deep !== false) {
        // A cursor the server gave out: the newest match before the middle of the span, asked with limit 1.
        const to = params.filter.to !== undefined && Date.parse(params.filter.to) < params.middle ? params.filter.to : iso(params.middle);
        const cursorPage = await dashboard.punches.query({ ...params.filter, to, limit: 1 });
        if (cursorPage.nextCursor && cursorPage.punches[0]) pages.push(['deep', cursorPage.nextCursor, cursorPage.punches[0].at]);
      }
      let firstOfSample: { sql: string; params: SqlValue[] } | undefined;
      for (const [page, pageCursor, cursorAt] of pages) {
        const cell = cells[page];
        const query: PunchQuery = { ...params.filter, limit: PAGE, ...(pageCursor ? { cursor: pageCursor } : {}) };
        // Untimed warm-up on both connections (the dashboard's and the raw one): every layer then
        // meets the same warm caches. It also captures the repository's SQL.
        const { sql, params: sqlParams, ids } = await captureSql(query);
        if (page === 'first') firstOfSample = { sql, params: sqlParams };
        await bareRows(raw, sql, sqlParams);
        const rowValue = rowValueVariant(sql, sqlParams);
        if (cell.sql === undefined) {
          cell.sql = sql;
          cell.plan = (await bareRows(raw, `EXPLAIN QUERY PLAN ${sql}`, sqlParams)).map((row) => (row as unknown as { detail: string }).detail);
          cell.flags = planFlags(cell.plan, filterColumns(params.filter), pageCursor !== undefined);
          if (rowValue) cell.rowValuePlan = (await bareRows(raw, `EXPLAIN QUERY PLAN ${rowValue.sql}`, rowValue.params)).map((row) => (row as unknown as { detail: string }).detail);
          if (page === 'deep' && firstOfSample && cursorAt) cell.depth = await rowsAhead(raw, firstOfSample.sql, firstOfSample.params, cursorAt);
        }
        const search = new URLSearchParams();
        for (const [key, value] of Object.entries(query)) if (key !== 'siteIds' && value !== undefined) search.set(key, String(value));
        const url = `${dashboard.url}/api/v1/punches?${search.toString()}`;
        const rotation = [...LAYERS.slice(sample % LAYERS.length), ...LAYERS.slice(0, sample % LAYERS.length)];
        if (rowValue) rotation.push('rowValue');
        cell.rows.push(ids.length);
        for (const layer of rotation) {
          let got: string[];
          if (layer === 'raw' || layer === 'rowValue') {
            const statement = layer === 'raw' ? { sql, params: sqlParams } : (rowValue as { sql: string; params: SqlValue[] });
            const t0 = performance.now();
            const rows = await bareRows(raw, statement.sql, statement.params);
            cell.samples[layer].push(performance.now() - t0);
            got = rows.slice(0, PAGE).map((row) => row.id);
          } else if (layer === 'repository') {
            const t0 = performance.now();
            const result = await dashboard.punches.query(query);
            cell.samples.repository.push(performance.now() - t0);
            got = result.punches.map((punch) => punch.id);
          } else {
            const t0 = performance.now();
            const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
            const text = await response.text();
            cell.samples.http.push(performance.now() - t0);
            if (response.status !== 200) {
              failures.push(`${type.key} ${page}: HTTP ${response.status}: ${text.slice(0, 200)}`);
              continue;
            }
            cell.bytes.push(Buffer.byteLength(text));
            got = (JSON.parse(text) as { punches: Punch[] }).punches.map((punch) => punch.id);
          }
          if (got.length !== ids.length || got[0] !== ids[0] || got.at(-1) !== ids.at(-1)) {
            failures.push(`${type.key} ${page}: ${layer} returned ${got.length} punches (${got[0]} .. ${got.at(-1)}), the warm-up ${ids.length} (${ids[0]} .. ${ids.at(-1)})`);
          }
        }
      }
    }
    const mean = (values: number[]): number => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN);
    const pageResult = (cell: Cell): PageResult | undefined => {
      if (cell.samples.raw.length === 0) return undefined;
      const layers: Partial<Record<Layer, Summary>> = {};
      for (const layer of ALL_LAYERS) if (cell.samples[layer].length > 0) layers[layer] = summarize(cell.samples[layer]);
      return {
        layers,
        rowsMean: round(mean(cell.rows)),
        httpBytesMean: Math.round(mean(cell.bytes)),
        ...(cell.depth !== undefined ? { depth: cell.depth } : {}),
        ...(cell.sql ? { sql: cell.sql, plan: cell.plan ?? [], flags: cell.flags ?? [] } : {}),
        ...(cell.rowValuePlan ? { rowValuePlan: cell.rowValuePlan } : {}),
      };
    };
    results.push({ key: type.key, label: type.label, pages: { first: pageResult(cells.first), deep: pageResult(cells.deep) } });
  }
  return results;
}

/**
 * The CPU the layers add to a page, measured on one page of the newest punches: what the
 * repository does to the raw rows (JSON.parse and zod Punch.parse per body), and what the route's
 * serializer does (fastify-type-provider-zod: zod safeEncode of the response schema, then
 * JSON.stringify). The schema is rebuilt here as api-routes.ts declares it.
 */
async function serialisationSplit(dashboard: Dashboard, raw: sqlite3.Database): Promise<{ iterations: number; parse: Summary; encode: Summary; stringify: Summary }> {
  const response = z.object({ punches: z.array(PunchSchema), nextCursor: z.string().nullable() });
  const rows = await bareRows(raw, 'SELECT body, at, id FROM punches ORDER BY at DESC, id DESC LIMIT ?', [PAGE]);
  const page = await dashboard.punches.query({ limit: PAGE });
  const iterations = 300;
  const parse: number[] = [];
  const encode: number[] = [];
  const stringify: number[] = [];
  for (let round = 0; round < iterations; round += 1) {
    let t0 = performance.now();
    const punches = rows.map((row) => PunchSchema.parse(JSON.parse(row.body)));
    parse.push(performance.now() - t0);
    t0 = performance.now();
    const encoded = z.safeEncode(response, page);
    encode.push(performance.now() - t0);
    t0 = performance.now();
    JSON.stringify(encoded.data);
    stringify.push(performance.now() - t0);
    if (!encoded.success || punches.length !== page.punches.length) throw new Error('the page did not encode');
  }
  return { iterations, parse: summarize(parse), encode: summarize(encode), stringify: summarize(stringify) };
}

interface Calibration {
  /** child clock - parent clock, ms */
  offsetMs: number;
  /** the best round trip over IPC: the offset is known to within half of it */
  rttMs: number;
}

class LoadProcess {
  private readonly waiters: Array<{ type: ChildMessage['type']; resolve: (message: ChildMessage) => void }> = [];
  private failed: string | undefined;
  onMessage: (message: ChildMessage) => void = () => undefined;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (raw) => {
      const message = raw as ChildMessage;
      if (message.type === 'error') this.failed = message.message;
      this.onMessage(message);
      const index = this.waiters.findIndex((waiter) => waiter.type === message.type || message.type === 'error');
      if (index >= 0) this.waiters.splice(index, 1)[0]?.resolve(message);
    });
    child.on('exit', (code) => {
      this.failed ??= `the load process exited (${code})`;
      for (const waiter of this.waiters.splice(0)) waiter.resolve({ type: 'error', message: this.failed });
    });
  }

  static start(logFile: string): LoadProcess {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'console-load.ts');
    const fd = openSync(logFile, 'w');
    // tsx as a loader of this very node (not the tsx CLI, which would put a second process between).
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', fd, fd, 'ipc'] });
    closeSync(fd);
    return new LoadProcess(child);
  }

  send(message: ParentMessage): void {
    this.child.send(message);
  }

  async next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    if (this.failed) throw new Error(`load process: ${this.failed}`);
    const message = await new Promise<ChildMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load process: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        type,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
      });
    });
    if (message.type === 'error') throw new Error(`load process: ${message.message}`);
    return message as Extract<ChildMessage, { type: T }>;
  }

  async calibrate(rounds = 40): Promise<Calibration> {
    let best: Calibration = { offsetMs: Number.NaN, rttMs: Number.POSITIVE_INFINITY };
    for (let round = 0; round < rounds; round += 1) {
      const t0 = clock();
      this.send({ type: 'ping', t0 });
      const pong = await this.next('pong', 5000);
      const t1 = clock();
      if (t1 - t0 < best.rttMs) best = { offsetMs: pong.tc - (t0 + t1) / 2, rttMs: t1 - t0 };
    }
    return best;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      this.send({ type: 'stop' });
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export interface LivePhaseResult {
  name: string;
  clients: number;
  seconds: number;
  punches: number;
  sends: number;
  achievedRate: number;
  calibration: Calibration;
  /** publish -> SSE event received, every client's every punch */
  publishToReceived: Summary;
  /** publish -> received by the last of the clients (with more than one) */
  publishToLastClient?: Summary;
  /** the baseline: publish -> the ingest commit (the live feed is told right after it) */
  publishToCommit: Summary;
  publishToIngest: Summary;
  ingestToCommit: Summary;
  /** the feed's share: commit -> SSE event received */
  commitToReceived: Summary;
  /** the event's committedAt (server clock, whole ms) -> received */
  committedAtToReceived: Summary;
  /** publish -> the batch's ack at the gateway */
  publishToAck: Summary;
  sendLagMs: PhaseData['sendLagMs'];
  cpu: CpuUse;
  dashboardLoopDelay: { p50: number; p99: number; max: number };
  dropped: number;
  missing: number;
  otherEvents: Record<string, number>;
  /** The background requests' times (the busy phase). */
  background?: Summary;
  /**
   * The busy phase, split by whether a batch reached ingest while a background request was running
   * (between its start and its answer) or not: the same phase, the same machine, so the difference
   * is the wait behind the search on the one connection.
   */
  duringSearch?: { ingestToCommit: Summary; publishToReceived: Summary };
  outsideSearch?: { ingestToCommit: Summary; publishToReceived: Summary };
}

async function livePhase(options: {
  load: LoadProcess;
  dashboard: Dashboard;
  request: PhaseRequest;
  arrivals: Map<string, number>;
  commits: Map<string, number>;
  /** Work the dashboard does during the measured window (a console user paging); returns its request times. */
  background?: (stopped: () => boolean) => Promise<Array<[number, number]>>;
}): Promise<LivePhaseResult> {
  const { load, request, arrivals, commits } = options;
  let stop = false;
  let background: Promise<Array<[number, number]>> | undefined;
  const calibration = await load.calibrate();
  let cpuFrom: CpuSnapshot | undefined;
  let cpu: CpuUse | undefined;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  load.onMessage = (message) => {
    if (message.type === 'window-start') {
      cpuFrom = cpuSnapshot();
      loopDelay.enable();
      background = options.background?.(() => stop);
    } else if (message.type === 'window-end') {
      stop = true;
      loopDelay.disable();
      if (cpuFrom) cpu = cpuUse(cpuFrom, cpuSnapshot());
    }
  };
  load.send(request);
  const { data } = await load.next('phase-done', (request.warmupS + request.seconds + 60) * 1000);
  load.onMessage = () => undefined;
  stop = true;
  const intervals = background ? await background : undefined;
  const searching = (at: number): boolean => (intervals ?? []).some(([from, to]) => at >= from && at <= to);
  const split = { during: { ingestToCommit: [] as number[], publishToReceived: [] as number[] }, outside: { ingestToCommit: [] as number[], publishToReceived: [] as number[] } };
  const toParent = (childTime: number): number => childTime - calibration.offsetMs;
  const batchOf = new Map(data.batchOf);
  const acks = new Map(data.acks);
  const received = data.received.map((list) => new Map(list.map(([id, at, committedAt]) => [id, { at: toParent(at), committedAt }])));
  const publishToReceived: number[] = [];
  const publishToLast: number[] = [];
  const publishToCommit: number[] = [];
  const publishToIngest: number[] = [];
  const ingestToCommit: number[] = [];
  const commitToReceived: number[] = [];
  const committedAtToReceived: number[] = [];
  const publishToAck: number[] = [];
  const ackedBatches = new Set<string>();
  let measured = 0;
  for (const [id, , publishedChild, , inWindow] of data.punches) {
    if (!inWindow) continue;
    measured += 1;
    const published = toParent(publishedChild);
    const batch = batchOf.get(id) ?? '';
    const arrived = arrivals.get(batch);
    const committed = commits.get(id);
    if (arrived !== undefined) publishToIngest.push(arrived - published);
    if (committed !== undefined) publishToCommit.push(committed - published);
    if (arrived !== undefined && committed !== undefined) ingestToCommit.push(committed - arrived);
    const side = intervals && arrived !== undefined ? (searching(arrived) ? split.during : split.outside) : undefined;
    if (side && committed !== undefined && arrived !== undefined) side.ingestToCommit.push(committed - arrived);
    if (!ackedBatches.has(batch)) {
      ackedBatches.add(batch);
      const ack = acks.get(batch);
      if (ack !== undefined && Number.isFinite(ack)) publishToAck.push(toParent(ack) - published);
    }
    let last = Number.NEGATIVE_INFINITY;
    for (const client of received) {
      const event = client.get(id);
      if (!event) continue;
      publishToReceived.push(event.at - published);
      side?.publishToReceived.push(event.at - published);
      if (committed !== undefined) commitToReceived.push(event.at - committed);
      committedAtToReceived.push(event.at - event.committedAt);
      last = Math.max(last, event.at);
    }
    if (received.length > 1 && Number.isFinite(last)) publishToLast.push(last - published);
  }
  const lagValues = loopDelay.count > 0 ? { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 } : { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  return {
    name: request.name,
    clients: request.clients,
    seconds: request.seconds,
    punches: measured,
    sends: data.sends,
    achievedRate: round(measured / ((data.windowEnd - data.windowStart) / 1000)),
    calibration: { offsetMs: round(calibration.offsetMs, 3), rttMs: round(calibration.rttMs, 3) },
    publishToReceived: summarize(publishToReceived),
    ...(received.length > 1 ? { publishToLastClient: summarize(publishToLast) } : {}),
    publishToCommit: summarize(publishToCommit),
    publishToIngest: summarize(publishToIngest),
    ingestToCommit: summarize(ingestToCommit),
    commitToReceived: summarize(commitToReceived),
    committedAtToReceived: summarize(committedAtToReceived),
    publishToAck: summarize(publishToAck),
    sendLagMs: data.sendLagMs,
    cpu: cpu ?? cpuUse(cpuSnapshot(), cpuSnapshot()),
    dashboardLoopDelay: { p50: round(lagValues.p50, 2), p99: round(lagValues.p99, 2), max: round(lagValues.max, 2) },
    dropped: data.dropped,
    missing: data.missing,
    otherEvents: data.otherEvents,
    ...(intervals
      ? {
          background: summarize(intervals.map(([from, to]) => to - from)),
          duringSearch: { ingestToCommit: summarize(split.during.ingestToCommit), publishToReceived: summarize(split.during.publishToReceived) },
          outsideSearch: { ingestToCommit: summarize(split.outside.ingestToCommit), publishToReceived: summarize(split.outside.publishToReceived) },
        }
      : {}),
  };
}

/** The middle of the seeded span: the first punch is at 23:00Z before the first day, the last before 15:00Z of the last. */
function dataMiddle(seed: SeedResult): number {
  return (seed.firstDayMs - 3_600_000 + seed.firstDayMs + (seed.days - 1) * DAY + 15 * 3_600_000) / 2;
}

function queryTypes(seed: SeedResult, managerTokens: Array<{ sites: string[]; token: string }>): { types: QueryType[]; probe: QueryType } {
  const first = seed.firstDayMs;
  const middle = dataMiddle(seed);
  const pick = (random: () => number, n: number): number => Math.floor(random() * n);
  const methods: PunchMethod[] = ['badge', 'ble', 'mobile'];
  const types: QueryType[] = [
    { key: 'newest', label: 'newest punches (no filter)', params: () => ({ filter: {}, token: 'admin', middle }) },
    {
      key: 'site-days',
      label: 'one site, 1-7 days',
      params: (_sample, random) => {
        const days = 1 + pick(random, 7);
        const from = first + pick(random, seed.days - days + 1) * DAY + HK_MIDNIGHT;
        return { filter: { siteId: siteId(pick(random, SEED_SITES)), from: iso(from), to: iso(from + days * DAY) }, token: 'admin', middle: from + (days * DAY) / 2 };
      },
    },
    {
      key: 'device',
      label: 'one device (no time range)',
      params: (_sample, random) => ({ filter: { deviceId: deviceId(pick(random, SEED_SITES), pick(random, SEED_DEVICES_PER_SITE)) }, token: 'admin', middle }),
    },
    {
      key: 'employee-month',
      label: 'one employee, 30 days',
      params: (_sample, random) => {
        const from = first + pick(random, Math.max(1, seed.days - 29)) * DAY + HK_MIDNIGHT;
        return { filter: { employeeId: employeeId(pick(random, SEED_EMPLOYEES)), from: iso(from), to: iso(from + 30 * DAY) }, token: 'admin', middle: from + 15 * DAY };
      },
    },
    {
      key: 'unknown-site',
      label: 'unknown badges at one site',
      params: (_sample, random) => ({ filter: { siteId: siteId(pick(random, SEED_SITES)), unknown: true }, token: 'admin', middle }),
    },
    { key: 'method', label: 'by method (badge, ble, mobile in turn)', params: (sample) => ({ filter: { method: methods[sample % methods.length] as PunchMethod }, token: 'admin', middle }) },
    {
      key: 'manager',
      label: "store manager's 3 sites (token scope)",
      params: (sample) => {
        const scope = managerTokens[sample % managerTokens.length] as { sites: string[]; token: string };
        return { filter: { siteIds: scope.sites }, token: scope.token, middle };
      },
    },
  ];
  const probe: QueryType = { key: 'method-none', label: 'by method, one no punch has (manual)', deep: false, params: () => ({ filter: { method: 'manual' }, token: 'admin', middle }) };
  return { types, probe };
}

export async function runConsole(options: ConsoleOptions): Promise<{ result: Record<string, unknown>; exitCode: number }> {
  const { out } = options;
  const failures: string[] = [];
  const result: Record<string, unknown> = {
    options: { punches: options.punches, samples: options.samples, probeSamples: options.probeSamples, liveSeconds: options.liveSeconds, live3Seconds: options.live3Seconds, busySeconds: options.busySeconds, rate: options.rate, gateways: options.gateways, clients: options.clients },
  };
  const root = await mkdtemp(path.join(options.dataRoot, 'console-'));
  const dataDir = path.join(root, 'dashboard');
  const logFile = path.join(options.workDir, 'console-dashboard.log');
  const destination = pino.destination({ dest: logFile, sync: false, mkdir: true });
  const logger = pino({ level: 'warn' }, destination);
  let dashboard: Dashboard | undefined;
  let raw: sqlite3.Database | undefined;
  let load: LoadProcess | undefined;
  try {
    // 1. The database.
    const seed = await seedCentralPunches(dataDir, options.punches);
    result.seed = { ...seed, seedMs: Math.round(seed.seedMs), countMs: Math.round(seed.countMs), migrateMs: Math.round(seed.migrateMs) };
    out(`console: a central database of ${fmt(seed.punches)} punches (${(seed.bytes / 2 ** 20).toFixed(0)} MiB), seeded in ${(seed.seedMs / 1000).toFixed(1)} s with one INSERT .. SELECT (counted in ${(seed.countMs / 1000).toFixed(1)} s)`);
    out(
      `   ${seed.counts.sites} sites, ${seed.counts.devices} device ids (incl. mobile-api), ${fmt(seed.counts.employees)} employees, ${seed.days} days ${seed.counts.minAt} .. ${seed.counts.maxAt}; ` +
        `${Object.entries(seed.counts.byMethod)
          .sort(([, a], [, b]) => b - a)
          .map(([method, n]) => `${method} ${fmt(n)}`)
          .join(', ')}; unknown badges ${fmt(seed.counts.unknown)}`,
    );

    // 2. Search, on the dashboard's own code path: startDashboard on that data dir.
    const config = DashboardConfig.parse({ dataDir, http: { host: '127.0.0.1', port: 0 }, apiToken: API_TOKEN, mqtt: { mode: 'embedded', host: '127.0.0.1', port: 0 }, log: { level: 'warn' } });
    const startedAt = performance.now();
    dashboard = await startDashboard(config, logger, { onFirstAdmin: () => undefined });
    result.dashboardStartMs = Math.round(performance.now() - startedAt);
    raw = await openRaw(seed.file);
    const random = prng(20261122);
    const managerTokens: Array<{ sites: string[]; token: string }> = [];
    for (let index = 0; index < 6; index += 1) {
      const sites = new Set<string>();
      while (sites.size < 3) sites.add(siteId(Math.floor(random() * SEED_SITES)));
      const { secret } = await dashboard.auth.tokens.create({ name: `bench manager ${index}`, role: 'store-manager', sites: [...sites] }, undefined);
      managerTokens.push({ sites: [...sites].sort(), token: secret });
    }
    const { types, probe } = queryTypes(seed, managerTokens);
    const searchStarted = performance.now();
    const cpuBefore = cpuSnapshot();
    const queries = await measureQueries({ dashboard, raw, types, samples: options.samples, failures });
    const probeResult = options.probeSamples > 0 ? await measureQueries({ dashboard, raw, types: [{ ...probe, samples: options.probeSamples }], samples: options.probeSamples, failures }) : [];
    const searchCpu = cpuUse(cpuBefore, cpuSnapshot());
    const split = await serialisationSplit(dashboard, raw);
    result.search = { types: queries, probe: probeResult[0], cpu: searchCpu, httpSplit: split, elapsedS: round((performance.now() - searchStarted) / 1000) };

    out();
    out(`1. Punch search, pages of ${PAGE}, newest first: each parameter set once untimed, then through the three layers in turn (ms), ${round((performance.now() - searchStarted) / 1000)} s in all`);
    const rows: string[][] = [['', 'n', 'p50', 'p95', 'p99', 'max', 'mean']];
    const overhead: string[][] = [['query, page', 'rows', 'raw p50', 'repo p50', 'HTTP p50', 'repo - raw', 'HTTP - repo', 'HTTP p99', 'HTTP max', 'KiB', 'what-if p50']];
    const plans: string[] = [];
    const nan = summarize([]);
    for (const type of [...queries, ...probeResult]) {
      for (const page of ['first', 'deep'] as const) {
        const cell = type.pages[page];
        if (!cell) continue;
        const name = `${type.label}, ${page === 'first' ? 'first page' : `deep page${cell.depth !== undefined ? ` (${fmt(cell.depth)} rows in)` : ''}`}`;
        rows.push([name, '', '', '', '', '', '']);
        for (const layer of ALL_LAYERS) {
          const summary = cell.layers[layer];
          if (summary) rows.push(summaryRow(`  ${LAYER_LABELS[layer]}`, summary));
        }
        const { raw: rawSummary = nan, repository = nan, http = nan } = cell.layers;
        overhead.push([
          name,
          String(cell.rowsMean),
          ms(rawSummary.p50),
          ms(repository.p50),
          ms(http.p50),
          ms(repository.p50 - rawSummary.p50),
          ms(http.p50 - repository.p50),
          ms(http.p99),
          ms(http.max),
          (cell.httpBytesMean / 1024).toFixed(1),
          cell.layers.rowValue ? ms(cell.layers.rowValue.p50) : '',
        ]);
        plans.push(`   ${`${type.key}, ${page}:`.padEnd(22)} ${(cell.plan ?? []).join('; ')}${cell.flags?.length ? `   <- ${cell.flags.join('; ')}` : ''}`);
        if (cell.rowValuePlan) plans.push(`   ${'  what-if row value:'.padEnd(22)} ${cell.rowValuePlan.join('; ')}`);
      }
    }
    out(table(rows));
    out();
    out('   p50 side by side (ms); "what-if": the raw deep page with its cursor written (at, id) < (?, ?), not a change to the dashboard');
    out(table(overhead));
    out();
    out('   EXPLAIN QUERY PLAN (the SQL of the first parameter set; the what-if on the raw connection only):');
    for (const line of plans) out(line);
    const flagged = [...queries, ...probeResult].flatMap((type) =>
      (['first', 'deep'] as const).flatMap((page) => {
        const cell = type.pages[page];
        return cell?.flags?.length ? [`${type.key} ${page} (raw p50 ${ms(cell.layers.raw?.p50 ?? Number.NaN)} ms): ${cell.flags.join('; ')}`] : [];
      }),
    );
    for (const line of flagged) out(`   FLAG ${line}`);
    out(
      `   where a page of ${PAGE} costs CPU (p50 of ${split.iterations} rounds, ms): JSON.parse + Punch.parse of the bodies (repository) ${ms(split.parse.p50)}; ` +
        `the route's response schema, zod safeEncode (fastify-type-provider-zod) ${ms(split.encode.p50)}; JSON.stringify ${ms(split.stringify.p50)}`,
    );
    out(`   CPU during the search: machine ${searchCpu.machineBusyPct}% / this bench ${searchCpu.oursPct}% / others ${searchCpu.othersPct}% / steal ${searchCpu.stealPct}%`);
    out();

    // 3. The live feed, on the same dashboard and database.
    const gateways: LoadGateway[] = [];
    const secretHash = await hashDeviceSecret(SECRET);
    for (let index = 0; index < options.gateways; index += 1) {
      const site = Math.floor((index * SEED_SITES) / options.gateways);
      const id = deviceId(site, 0);
      await dashboard.devices.register({ id, siteId: siteId(site), secretHash, createdAt: new Date().toISOString() });
      const badges: Array<[string, string]> = [];
      for (let employee = 0; employee < SEED_EMPLOYEES; employee += 1) {
        if (siteOfEmployee(employee) === site) badges.push([employeeId(employee), (0x10000000 + employee).toString(16).toUpperCase()]);
      }
      gateways.push({ id, siteId: siteId(site), secret: SECRET, badges });
    }
    // Timestamps inside the dashboard, by wrapping two methods of this dashboard's instances:
    // a batch reaching ingest (router -> ingest.handle), and the commit (ingest -> liveFeed.committed).
    const arrivals = new Map<string, number>();
    const commits = new Map<string, number>();
    const ingest = dashboard.ingest as unknown as { handle: (deviceId: string, payload: Buffer) => Promise<void> };
    const handle = ingest.handle.bind(dashboard.ingest);
    ingest.handle = (device, payload) => {
      const head = payload.toString('latin1', 0, 48);
      if (head.startsWith('{"batchId":"')) arrivals.set(head.slice(12, 48), clock());
      return handle(device, payload);
    };
    const feed = dashboard.liveFeed as unknown as { committed: (punches: readonly Punch[]) => void };
    const committed = feed.committed.bind(dashboard.liveFeed);
    feed.committed = (punches) => {
      const at = clock();
      for (const punch of punches) commits.set(punch.id, at);
      committed(punches);
    };

    load = LoadProcess.start(path.join(options.workDir, 'console-load.log'));
    load.send({ type: 'setup', brokerUrl: dashboard.brokerUrl, gateways });
    const ready = await load.next('ready', 60_000);
    const base = { type: 'phase' as const, url: dashboard.url, token: API_TOKEN, rate: options.rate, batchShare: 0.02, batchMin: 5, batchMax: 20 };
    const phases: LivePhaseResult[] = [];
    phases.push(await livePhase({ load, dashboard, arrivals, commits, request: { ...base, name: '1 SSE client', clients: 1, warmupS: 2, seconds: options.liveSeconds, seed: 1 } }));
    if (options.clients > 1 && options.live3Seconds > 0) {
      phases.push(await livePhase({ load, dashboard, arrivals, commits, request: { ...base, name: `${options.clients} SSE clients`, clients: options.clients, warmupS: 1, seconds: options.live3Seconds, seed: 2 } }));
    }
    if (options.busySeconds > 0) {
      // One console user paging deep in the unfiltered list (the slowest common request found in
      // part 1) through HTTP, a request every BUSY_GAP_MS after the previous answer: reads on the
      // dashboard's one SQLite connection while ingest writes on it.
      const cursor = (await dashboard.punches.query({ to: iso(dataMiddle(seed)), limit: 1 })).nextCursor;
      const url = `${dashboard.url}/api/v1/punches?limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`;
      const paging = async (stopped: () => boolean): Promise<Array<[number, number]>> => {
        const times: Array<[number, number]> = [];
        while (!stopped()) {
          const t0 = clock();
          const response = await fetch(url, { headers: { authorization: `Bearer ${API_TOKEN}` } });
          await response.text();
          times.push([t0, clock()]);
          if (response.status !== 200) failures.push(`busy phase: HTTP ${response.status}`);
          await sleep(BUSY_GAP_MS);
        }
        return times;
      };
      phases.push(
        await livePhase({ load, dashboard, arrivals, commits, background: paging, request: { ...base, name: `1 SSE client, a deep page every ${BUSY_GAP_MS} ms`, clients: 1, warmupS: 1, seconds: options.busySeconds, seed: 3 } }),
      );
    }
    const after = await load.calibrate();
    result.live = { gateways: gateways.map((gateway) => gateway.id), connectMs: Math.round(ready.connectMs), phases, calibrationAfter: after, punchesCentrally: await dashboard.punches.count() };
    for (const phase of phases) {
      if (phase.missing > 0) failures.push(`live feed (${phase.name}): ${phase.missing} punch events never reached a client`);
      if (phase.dropped > 0) failures.push(`live feed (${phase.name}): the feed dropped ${phase.dropped} events for a slow client`);
    }

    out(`2. Live feed: ${options.gateways} gateways (mqtt.js, device secrets, embedded Aedes) publishing ${options.rate} punches/s in all (Poisson; 98 % single taps, 2 % batches of 5-20), SSE over real HTTP; gateways and SSE clients in a child process (ms)`);
    const liveRows: string[][] = [summaryHeader];
    for (const phase of phases) {
      liveRows.push([`${phase.name}: ${fmt(phase.punches)} punches in ${phase.seconds} s (${phase.achievedRate}/s)`, '', '', '', '', '', '']);
      liveRows.push(summaryRow('  publish -> SSE event received', phase.publishToReceived));
      if (phase.publishToLastClient) liveRows.push(summaryRow(`  publish -> received by the last of ${phase.clients}`, phase.publishToLastClient));
      if (phase.background) liveRows.push(summaryRow('  (the deep pages themselves, HTTP)', phase.background));
      if (phase.duringSearch && phase.outsideSearch) {
        liveRows.push(summaryRow('  batch reached ingest during a deep page: -> commit', phase.duringSearch.ingestToCommit));
        liveRows.push(summaryRow('    ... and publish -> SSE event received', phase.duringSearch.publishToReceived));
        liveRows.push(summaryRow('  batch reached ingest between deep pages: -> commit', phase.outsideSearch.ingestToCommit));
        liveRows.push(summaryRow('    ... and publish -> SSE event received', phase.outsideSearch.publishToReceived));
      }
      liveRows.push(summaryRow('  baseline: publish -> ingest commit', phase.publishToCommit));
      liveRows.push(summaryRow('    publish -> ingest.handle (MQTT)', phase.publishToIngest));
      liveRows.push(summaryRow('    ingest.handle -> commit', phase.ingestToCommit));
      liveRows.push(summaryRow('  the feed: commit -> SSE event received', phase.commitToReceived));
      liveRows.push(summaryRow('  committedAt (whole ms) -> received', phase.committedAtToReceived));
      liveRows.push(summaryRow('  publish -> ack at the gateway', phase.publishToAck));
    }
    out(table(liveRows));
    for (const phase of phases) {
      out(
        `   ${phase.name}: CPU machine ${phase.cpu.machineBusyPct}% / this bench (dashboard + load) ${phase.cpu.oursPct}% / others ${phase.cpu.othersPct}% / steal ${phase.cpu.stealPct}%; ` +
          `dashboard event-loop delay p99 ${ms(phase.dashboardLoopDelay.p99)} ms, max ${ms(phase.dashboardLoopDelay.max)} ms; send lag p99 ${ms(phase.sendLagMs.p99)} ms; ` +
          `clock offset ${ms(phase.calibration.offsetMs)} ms (+-${ms(phase.calibration.rttMs / 2)}); dropped ${phase.dropped}, missing ${phase.missing}`,
      );
    }
    out(`   clock offset after the phases ${ms(after.offsetMs)} ms (+-${ms(after.rttMs / 2)}); ${fmt(await dashboard.punches.count())} punches in the central table now`);
    out();
  } finally {
    await load?.stop();
    if (raw) await new Promise<void>((resolve) => (raw as sqlite3.Database).close(() => resolve()));
    await dashboard?.stop();
    destination.flushSync();
    if (!options.keep) await rm(root, { recursive: true, force: true });
  }
  for (const failure of failures) out(`FAILURE: ${failure}`);
  result.failures = failures;
  return { result, exitCode: failures.length > 0 ? 1 : 0 };
}
