import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { Database } from '../../platform/sqlite.js';
import { migrate } from './migrations.js';
import { Outbox } from './outbox.js';
import { RosterCache } from './roster-cache.js';

export type Synchronous = 'full' | 'normal' | 'off';

export class StoreError extends Error {
  override name = 'StoreError';
}

/** The gateway's SQLite file: the punch outbox, the roster cache and small settings. */
export class Store {
  private constructor(
    readonly db: Database,
    readonly file: string,
    readonly outbox: Outbox,
    readonly roster: RosterCache,
  ) {}

  static async open(options: { dataDir: string; synchronous: Synchronous; logger: Logger }): Promise<Store> {
    const { dataDir, logger } = options;
    try {
      await mkdir(dataDir, { recursive: true });
      await access(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (error) {
      throw new StoreError(`data dir ${dataDir} is not a writable directory: ${(error as Error).message}`);
    }
    const file = path.join(dataDir, 'gateway.sqlite');
    let db: Database;
    try {
      db = await Database.open(file);
      // WAL + FULL: a commit returns only after the WAL is fsynced, so a punch that was confirmed
      // to a person survives a power cut. NORMAL would lose the last commits (see TESTING.md).
      await db.exec('PRAGMA journal_mode = WAL');
      await db.exec(`PRAGMA synchronous = ${options.synchronous.toUpperCase()}`);
      await db.exec('PRAGMA foreign_keys = ON');
      await db.exec('PRAGMA busy_timeout = 5000');
      await migrate(db);
    } catch (error) {
      throw new StoreError(`cannot open the store ${file}: ${(error as Error).message}`);
    }
    if (options.synchronous !== 'full') {
      logger.warn({ synchronous: options.synchronous }, 'storage.synchronous is not "full": confirmed punches can be lost in a power cut');
    }
    const outbox = await Outbox.open(db);
    return new Store(db, file, outbox, new RosterCache(db));
  }

  async getMeta(key: string): Promise<string | undefined> {
    const row = await this.db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
    return row?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
