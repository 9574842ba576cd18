import type { RosterEntry } from '../../core/roster.js';
import type { Database } from '../../platform/sqlite.js';
import { writeRoster } from './roster-cache.js';

/** Meta keys of the last good pushed config. */
export const PUSHED_CONFIG_KEY = 'config.pushed';
export const PUSHED_VERSION_KEY = 'config.version';

export interface StoredPushedConfig {
  version: number;
  /** The snapshot as it was pushed (JSON text), validated again when loaded. */
  json: string;
}

/** The last good config pushed by the dashboard, kept so that a gateway that restarts offline runs it. */
export class ConfigCache {
  constructor(private readonly db: Database) {}

  /** The version of the pushed config in force, 0 when none was ever applied. */
  async version(): Promise<number> {
    const row = await this.db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [PUSHED_VERSION_KEY]);
    const version = row ? Number(row.value) : 0;
    return Number.isSafeInteger(version) && version > 0 ? version : 0;
  }

  async load(): Promise<StoredPushedConfig | undefined> {
    const version = await this.version();
    if (version === 0) return undefined;
    const row = await this.db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [PUSHED_CONFIG_KEY]);
    return row ? { version, json: row.value } : undefined;
  }

  /**
   * Stores a validated snapshot in one transaction: the roster table replaced, the snapshot and its
   * version in meta. A crash or a disk error leaves the previous config whole.
   */
  async save(config: { version: number; json: string; roster: readonly RosterEntry[] }): Promise<void> {
    await this.db.transaction(async () => {
      await writeRoster(this.db, config.roster, { source: `dashboard:v${config.version}` });
      const upsert = 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value';
      await this.db.run(upsert, [PUSHED_CONFIG_KEY, config.json]);
      await this.db.run(upsert, [PUSHED_VERSION_KEY, String(config.version)]);
    });
  }
}
