import { readFile } from 'node:fs/promises';
import sqlite3 from 'sqlite3';
import { newPunchId } from '../../core/ids.js';
import { GatewayConfig } from '../../gateway/config.js';
import type { Outbox, PunchToCommit } from '../../gateway/store/outbox.js';
import type { Store } from '../../gateway/store/store.js';

export interface UplinkTestSettings {
  maxPunches?: number;
  maxBytes?: number;
  inFlight?: number;
  ackTimeoutSeconds?: number;
  retention?: Partial<GatewayConfig['retention']>;
}

/** A gateway config with a fast uplink (small time-outs and reconnect delays) for tests. */
export function uplinkGatewayConfig(dataDir: string, url: string, settings: UplinkTestSettings = {}, deviceId = 'gw-up-1'): GatewayConfig {
  return GatewayConfig.parse({
    deviceId,
    siteId: 'mk-01',
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    punch: { debounceSeconds: 0, direction: 'auto' },
    mqtt: {
      url,
      keepaliveSeconds: 5,
      batch: {
        maxPunches: settings.maxPunches ?? 100,
        maxBytes: settings.maxBytes ?? 256 * 1024,
        inFlight: settings.inFlight ?? 4,
        ackTimeoutSeconds: settings.ackTimeoutSeconds ?? 0.3,
      },
      reconnect: { minSeconds: 0.05, maxSeconds: 0.5 },
    },
    retention: { ackedDays: 30, maxPending: 1_000_000, minFreeMegabytes: 0, ...settings.retention },
    clock: { syncCommand: null },
    log: { level: 'silent' },
  });
}

export interface SeedOptions {
  deviceId?: string;
  at?: string;
  synced?: boolean;
  bootId?: string;
  /** Makes uids distinct across calls. */
  offset?: number;
}

/** Commits `count` punches straight into the outbox (unknown badges), in chunks; returns their ids in seq order. */
export async function seedPunches(outbox: Outbox, count: number, options: SeedOptions = {}): Promise<string[]> {
  const ids: string[] = [];
  const at = options.at ?? '2026-11-23T00:59:00.000Z';
  for (let start = 0; start < count; start += 1000) {
    const items: PunchToCommit[] = [];
    for (let index = start; index < Math.min(count, start + 1000); index += 1) {
      const uid = ((options.offset ?? 0) + index).toString(16).toUpperCase().padStart(8, '0');
      items.push({
        credentialKey: `em4100:${uid}`,
        localDay: '2026-11-23',
        bootId: options.bootId ?? 'seed-boot',
        monoMs: 1000 + index,
        punch: {
          id: newPunchId(),
          deviceId: options.deviceId ?? 'gw-up-1',
          siteId: 'mk-01',
          credential: { kind: 'em4100', uid },
          employeeId: null,
          at,
          clock: { synced: options.synced ?? true },
          method: 'badge',
          direction: 'auto',
        },
      });
    }
    const committed = await outbox.commit(items, []);
    ids.push(...committed.map((punch) => punch.id));
  }
  return ids;
}

/** Reads rows with a separate read-only connection, as an outsider would see the file. */
export function queryRows<T extends Record<string, unknown>>(file: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (openError) => {
      if (openError) return reject(openError);
      db.all(sql, params, (error, rows: T[]) => {
        db.close();
        if (error) reject(error);
        else resolve(rows);
      });
    });
  });
}

/** Rows per state, e.g. { pending: 3, acked: 10 }. */
export async function stateCounts(file: string): Promise<Record<string, number>> {
  const rows = await queryRows<{ state: string; n: number }>(file, 'SELECT state, count(*) AS n FROM punches GROUP BY state');
  return Object.fromEntries(rows.map((row) => [row.state, row.n]));
}

/**
 * Writes `count` pending punches in one SQL statement (a million in seconds, where the outbox's
 * commit would take minutes): ids are UUIDv7-shaped from the seq, bodies valid Punch JSON.
 */
export async function bulkPending(store: Store, count: number, deviceId = 'gw-up-1'): Promise<void> {
  const id = "printf('%08x-0000-7000-8000-%012x', i, i)";
  await store.db.transaction(async () => {
    await store.db.run(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO punches (seq, id, credential_key, employee_id, at, local_day, direction, body, clock_synced, boot_id, mono_ms)
       SELECT i, ${id}, printf('em4100:%08X', i), NULL, '2026-11-23T00:59:00.000Z', '2026-11-23', 'auto',
         json_object('id', ${id}, 'deviceId', ?, 'siteId', 'mk-01', 'credential', json_object('kind', 'em4100', 'uid', printf('%08X', i)),
           'employeeId', NULL, 'at', '2026-11-23T00:59:00.000Z', 'clock', json_object('synced', json('true')),
           'method', 'badge', 'direction', 'auto', 'seq', i),
         1, 'seed-boot', i
       FROM n`,
      [count, deviceId],
    );
  });
}

/** Resident memory of a process, from /proc (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const match = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}
