/**
 * The console bench's central database: N punches (default 1,000,000) written by one
 * INSERT .. SELECT over a recursive CTE in one transaction, into a database whose schema the
 * dashboard's own migrations made (openCentralDb). The dashboard then opens the file as it is.
 *
 * The shape (see docs/benchmarks.md, "Console"):
 * - 50 sites `site-01` .. `site-50`, 4 gateways each (`gw-001` .. `gw-200`), and the mobile API's
 *   pseudo device `mobile-api`: 201 device ids;
 * - 5,000 employees `E00001` .. `E05000`, 100 per site, each punching at their own site;
 * - 60 days ending at the last UTC midnight, punches spread over 07:00-23:00 Hong Kong time;
 * - methods: 85 % badge (em4100), 10 % ble (ble-tag, hands-free, in/out), 5 % mobile (device
 *   `mobile-api`, credential `mobile` = hex of the employee id, as the mobile desk stores it);
 * - 2 % of the badge punches are of unknown badges (employee null, 500 distinct uids);
 * - ids are UUIDv7-shaped (48-bit milliseconds first), as gateways make them, so the primary key
 *   and `(at, id)` grow at their ends like in production.
 * Bodies are the JSON a stored Punch has (keys in the schema's order), so Punch.parse accepts them.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sqlite3 from 'sqlite3';
import { openCentralDb } from '../../dashboard/db/central-db.js';

export const SEED_SITES = 50;
export const SEED_DEVICES_PER_SITE = 4;
export const SEED_EMPLOYEES = 5000;
export const SEED_DAYS = 60;
export const SEED_UNKNOWN_UIDS = 500;
/** The working day in UTC: 07:00-23:00 in Hong Kong is 23:00 (the day before) to 15:00 UTC. */
const DAY_OPENS_MS = -3_600_000;
const WORKING_MS = 16 * 3_600_000;

export const siteId = (index: number): string => `site-${String(index + 1).padStart(2, '0')}`;
export const deviceId = (site: number, slot: number): string => `gw-${String(site * SEED_DEVICES_PER_SITE + slot + 1).padStart(3, '0')}`;
export const employeeId = (index: number): string => `E${String(index + 1).padStart(5, '0')}`;
/** The site an employee works at (100 per site). */
export const siteOfEmployee = (index: number): number => Math.floor(index / (SEED_EMPLOYEES / SEED_SITES));

export interface SeedResult {
  file: string;
  punches: number;
  /** The first and last day's UTC midnight (ms): the data covers [firstDayMs - 1 h, lastDayMs + 15 h]. */
  firstDayMs: number;
  days: number;
  /** The INSERT .. SELECT, in one transaction, and switching back to WAL. */
  seedMs: number;
  /** The counts below (index-only queries). */
  countMs: number;
  migrateMs: number;
  bytes: number;
  counts: { byMethod: Record<string, number>; unknown: number; devices: number; sites: number; employees: number; minAt: string; maxAt: string };
}

function all<T>(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => db.all(sql, params, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve(rows))));
}
const exec = (db: sqlite3.Database, sql: string): Promise<void> => new Promise((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
const run = (db: sqlite3.Database, sql: string, params: unknown[]): Promise<void> =>
  new Promise((resolve, reject) => db.run(sql, params, (error: Error | null) => (error ? reject(error) : resolve())));

/**
 * The columns of row I (an SQL expression for the row number, 0-based). Everything is computed in
 * the recursive CTE's own columns: a column of a recursive CTE is evaluated once per row, whereas
 * a column of a plain CTE is inlined into every place that uses it (and so computed again).
 * Three Weyl sequences (I times a large odd constant, mod 2^32) stand in for randomness.
 */
function rowColumns(I: string, perDay: number, firstDayMs: number): string {
  const hA = `((${I} * 2654435761) % 4294967296)`;
  const hB = `((${I} * 2246822519) % 4294967296)`;
  const hC = `((${I} * 3266489917) % 4294967296)`;
  const emp = `((${hA} >> 10) % ${SEED_EMPLOYEES})`;
  const site = `(${emp} / ${SEED_EMPLOYEES / SEED_SITES})`;
  const m = `((${hB} >> 8) % 100)`;
  const unknown = `(${m} < 85 AND (${hC} >> 8) % 100 < 2)`;
  const tms = `(${firstDayMs} + (${I} / ${perDay}) * 86400000 + ${DAY_OPENS_MS} + (${I} % ${perDay}) * ${WORKING_MS} / ${perDay} + (${hC} >> 4) % 3000)`;
  const method = `CASE WHEN ${m} < 85 THEN 'badge' WHEN ${m} < 95 THEN 'ble' ELSE 'mobile' END`;
  return [
    I,
    `printf('%08x-%04x-7%03x-%x%03x-%012x', ${tms} >> 16, ${tms} & 65535, (${hA} >> 4) & 4095, 8 + (${hB} & 3), (${hC} >> 12) & 4095, ${I})`,
    `strftime('%Y-%m-%dT%H:%M:%fZ', ${tms} / 1000.0, 'unixepoch')`,
    `printf('site-%02d', ${site} + 1)`,
    `CASE WHEN ${m} >= 95 THEN 'mobile-api' ELSE printf('gw-%03d', ${site} * ${SEED_DEVICES_PER_SITE} + (${hB} >> 20) % ${SEED_DEVICES_PER_SITE} + 1) END`,
    `CASE WHEN ${unknown} THEN NULL ELSE printf('E%05d', ${emp} + 1) END`,
    `CASE WHEN ${m} < 85 THEN 'em4100' WHEN ${m} < 95 THEN 'ble-tag' ELSE 'mobile' END`,
    // em4100 10000000 + n for employee n; F0000000 + k for the unknown badges; ble-tags C0FFEE000000 + n.
    `CASE WHEN ${unknown} THEN printf('%08X', 4026531840 + (${hC} >> 16) % ${SEED_UNKNOWN_UIDS}) WHEN ${m} < 85 THEN printf('%08X', 268435456 + ${emp}) WHEN ${m} < 95 THEN printf('%012X', 211109455577088 + ${emp}) ELSE hex(printf('E%05d', ${emp} + 1)) END`,
    method,
    `CASE WHEN ${m} < 85 THEN 'auto' WHEN ${I} % 2 = 0 THEN 'in' ELSE 'out' END`,
  ].join(',\n      ');
}

/** Creates DATADIR/dashboard.sqlite with the dashboard's schema and `count` punches. */
export async function seedCentralPunches(dataDir: string, count: number, now = new Date()): Promise<SeedResult> {
  const migrateStarted = performance.now();
  const { db: central, file } = await openCentralDb(dataDir);
  await central.close();
  const migrateMs = performance.now() - migrateStarted;
  const lastMidnight = new Date(now);
  lastMidnight.setUTCHours(0, 0, 0, 0);
  const firstDayMs = lastMidnight.getTime() - SEED_DAYS * 86_400_000;
  const perDay = Math.ceil(count / SEED_DAYS);
  const started = performance.now();
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (error) => (error ? reject(error) : resolve(opened)));
  });
  try {
    // Bulk load: no journal, no syncs, a large cache; the dashboard reopens it in WAL with FULL.
    await exec(db, 'PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;');
    await exec(db, 'BEGIN');
    await run(
      db,
      `WITH RECURSIVE n(i, id, at, site, device, employee, kind, uid, method, direction) AS (
         SELECT ${rowColumns('0', perDay, firstDayMs)}
         UNION ALL
         SELECT ${rowColumns('(i + 1)', perDay, firstDayMs)} FROM n WHERE i + 1 < ?
       )
       INSERT INTO punches (id, device_id, site_id, employee_id, credential_kind, credential_uid, at, direction, method, seq, clock_synced, body, received_at)
       SELECT id, device, site, employee, kind, uid, at, direction, method, i + 1, 1,
         json_object('id', id, 'deviceId', device, 'siteId', site, 'credential', json_object('kind', kind, 'uid', uid), 'employeeId', employee,
           'at', at, 'clock', json_object('synced', json('true')), 'method', method, 'direction', direction, 'seq', i + 1),
         at
       FROM n`,
      [count],
    );
    await exec(db, 'COMMIT');
    await exec(db, 'PRAGMA journal_mode = WAL');
    const seedMs = performance.now() - started;
    const countStarted = performance.now();
    // Index-only counts (no full read of the table): the credential kind stands for the method here
    // (em4100 = badge, ble-tag = ble, mobile = mobile); unknown badges through punches_by_employee.
    const methodOf: Record<string, string> = { em4100: 'badge', 'ble-tag': 'ble', mobile: 'mobile' };
    const byKind = await all<{ kind: string; n: number }>(db, 'SELECT credential_kind AS kind, count(*) AS n FROM punches GROUP BY credential_kind');
    const [unknown] = await all<{ n: number }>(db, 'SELECT count(*) AS n FROM punches WHERE employee_id IS NULL');
    const [summary] = await all<{ devices: number; sites: number; employees: number; minAt: string; maxAt: string }>(
      db,
      // Index-only: each distinct count walks one index.
      `SELECT (SELECT count(DISTINCT device_id) FROM punches) AS devices, (SELECT count(DISTINCT site_id) FROM punches) AS sites,
              (SELECT count(DISTINCT employee_id) FROM punches) AS employees, (SELECT min(at) FROM punches) AS minAt, (SELECT max(at) FROM punches) AS maxAt`,
    );
    const [size] = await all<{ bytes: number }>(db, 'SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()');
    const countMs = performance.now() - countStarted;
    return {
      file,
      punches: count,
      firstDayMs,
      days: SEED_DAYS,
      seedMs,
      countMs,
      migrateMs,
      bytes: size?.bytes ?? 0,
      counts: {
        byMethod: Object.fromEntries(byKind.map((row) => [methodOf[row.kind] ?? row.kind, row.n])),
        unknown: unknown?.n ?? 0,
        devices: summary?.devices ?? 0,
        sites: summary?.sites ?? 0,
        employees: summary?.employees ?? 0,
        minAt: summary?.minAt ?? '',
        maxAt: summary?.maxAt ?? '',
      },
    };
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

export const centralFile = (dataDir: string): string => path.join(dataDir, 'dashboard.sqlite');
