import type { Logger } from 'pino';
import { DurableSqliteError, openDurableSqlite, type Synchronous } from '../../platform/durable-sqlite.js';
import type { Database } from '../../platform/sqlite.js';
import { migrate } from './migrations.js';
import { Outbox } from './outbox.js';
import { RosterCache } from './roster-cache.js';

export type { Synchronous };

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

  /**
   * `role: 'uplink'` opens the second connection, whose writes only record what the server said
   * (re-done after a loss by sending again), so a relaxed `synchronous` there is no warning.
   */
  static async open(options: { dataDir: string; synchronous: Synchronous; logger: Logger; role?: 'desk' | 'uplink' }): Promise<Store> {
    const { logger } = options;
    let opened: { db: Database; file: string };
    try {
      opened = await openDurableSqlite({ dataDir: options.dataDir, fileName: 'gateway.sqlite', synchronous: options.synchronous, migrate });
    } catch (error) {
      if (!(error instanceof DurableSqliteError)) throw error;
      throw new StoreError(
        error.stage === 'data-dir' ? `data dir ${error.target} is not a writable directory: ${error.reason}` : `cannot open the store ${error.target}: ${error.reason}`,
      );
    }
    const { db, file } = opened;
    if (options.synchronous !== 'full' && options.role !== 'uplink') {
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
