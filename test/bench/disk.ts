import { randomUUID } from 'node:crypto';
import { closeSync, fdatasyncSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sqlite3 from 'sqlite3';
import { migrations } from '../../gateway/store/migrations.js';

const BLOCK = 4096;

/**
 * The disk's own durable-write latency: `count` times (write 4 KiB, fdatasync), synchronous
 * system calls, no thread pool in between.
 * - `append`: each block at the end of a fresh file, so every fdatasync also commits a size change
 *   (an ext4 journal commit), like a WAL that is still growing;
 * - `overwrite`: blocks rewritten in place in a preallocated 4 MiB file, like a WAL that restarts
 *   from its beginning after a checkpoint.
 */
export function fsyncLatencies(dir: string, count: number, mode: 'append' | 'overwrite'): number[] {
  const file = path.join(dir, `fsync-${mode}.bin`);
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(BLOCK, 0x5a);
  const region = 1024;
  try {
    if (mode === 'overwrite') {
      const big = Buffer.alloc(BLOCK * region, 0);
      writeSync(fd, big, 0, big.length, 0);
      fsyncSync(fd);
    }
    const samples: number[] = [];
    for (let index = 0; index < count; index += 1) {
      block.writeUInt32LE(index, 0);
      const offset = mode === 'append' ? index * BLOCK : (index % region) * BLOCK;
      const start = performance.now();
      writeSync(fd, block, 0, BLOCK, offset);
      fdatasyncSync(fd);
      samples.push(performance.now() - start);
    }
    return samples;
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

function open(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, (error) => (error ? reject(error) : resolve(db)));
  });
}

function exec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
}

function run(db: sqlite3.Database, sql: string, params: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (error: Error | null) => (error ? reject(error) : resolve())));
}

function get(db: sqlite3.Database, sql: string, params: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => db.get(sql, params, (error: Error | null, row: unknown) => (error ? reject(error) : resolve(row))));
}

function close(db: sqlite3.Database): Promise<void> {
  return new Promise((resolve, reject) => db.close((error) => (error ? reject(error) : resolve())));
}

/** A punch body of the size the gateway stores (~330 bytes of JSON). */
function punchBody(id: string, seq: number, uid: string): string {
  return JSON.stringify({
    id,
    deviceId: 'bench-gw',
    siteId: 'bench-site',
    credential: { kind: 'mifare', uid },
    employeeId: `B${String(seq).padStart(5, '0')}`,
    at: new Date().toISOString(),
    clock: { synced: true },
    method: 'badge',
    direction: 'in',
    seq,
  });
}

/**
 * The baseline: one raw INSERT (autocommit, so one transaction) per sample with the node sqlite3
 * module the gateway uses, WAL and synchronous=FULL as the gateway sets them, into a fresh file
 * with the gateway's own schema (the punches table and its indexes), rows of the same size. What
 * it leaves out is everything the gateway adds around the commit: serial I/O, the bridge
 * protocol, the desk's roster look-up and per-day count, BEGIN/COMMIT as separate calls, logging.
 */
export class RawInsertBaseline {
  private next = 0;

  private constructor(
    private readonly db: sqlite3.Database,
    private readonly file: string,
  ) {}

  static async open(dir: string): Promise<RawInsertBaseline> {
    const file = path.join(dir, 'baseline.sqlite');
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    const db = await open(file);
    await exec(db, 'PRAGMA journal_mode = WAL');
    await exec(db, 'PRAGMA synchronous = FULL');
    await exec(db, migrations[0] ?? '');
    return new RawInsertBaseline(db, file);
  }

  /** `count` inserts, one at a time; the latency of each (call -> callback). */
  async measure(count: number): Promise<number[]> {
    const sql = 'INSERT INTO punches (id, credential_key, employee_id, at, local_day, direction, body) VALUES (?, ?, ?, ?, ?, ?, ?)';
    const samples: number[] = [];
    for (let done = 0; done < count; done += 1) {
      const index = this.next++;
      const id = randomUUID();
      const uid = (0xb0000000 + index).toString(16).toUpperCase();
      const params = [id, `mifare:${uid}`, `B${String(index).padStart(5, '0')}`, new Date().toISOString(), '2026-01-01', 'in', punchBody(id, index + 1, uid)];
      const start = performance.now();
      await run(this.db, sql, params);
      samples.push(performance.now() - start);
    }
    return samples;
  }

  /**
   * Not the baseline, a yardstick: the same row written the way the punch desk writes one tap
   * (SELECT the person's count for the day, BEGIN IMMEDIATE, INSERT, COMMIT: four calls, six
   * thread-pool round trips instead of two), to tell the cost of that call pattern from the rest.
   */
  async measureDeskShaped(count: number): Promise<number[]> {
    const samples: number[] = [];
    for (let done = 0; done < count; done += 1) {
      const index = this.next++;
      const id = randomUUID();
      const uid = (0xb0000000 + index).toString(16).toUpperCase();
      const employee = `B${String(index).padStart(5, '0')}`;
      const start = performance.now();
      await get(this.db, 'SELECT count(*) AS n FROM punches WHERE employee_id = ? AND local_day = ?', [employee, '2026-01-01']);
      await exec(this.db, 'BEGIN IMMEDIATE');
      await run(this.db, 'INSERT INTO punches (id, credential_key, employee_id, at, local_day, direction, body) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        id,
        `mifare:${uid}`,
        employee,
        new Date().toISOString(),
        '2026-01-01',
        'in',
        punchBody(id, index + 1, uid),
      ]);
      await exec(this.db, 'COMMIT');
      samples.push(performance.now() - start);
    }
    return samples;
  }

  async close(): Promise<void> {
    await close(this.db);
    for (const suffix of ['', '-wal', '-shm']) rmSync(this.file + suffix, { force: true });
  }
}
