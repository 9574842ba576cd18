import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Database } from './sqlite.js';

export type Synchronous = 'full' | 'normal' | 'off';

/** Why a data dir or database could not be opened; `stage` says which, for the caller's wording. */
export class DurableSqliteError extends Error {
  override name = 'DurableSqliteError';
  constructor(
    readonly stage: 'data-dir' | 'database',
    readonly target: string,
    readonly reason: string,
  ) {
    super(`${target}: ${reason}`);
  }
}

/**
 * Opens `dataDir/fileName` for durable writes: creates the dir, checks it is writable, WAL with the
 * given `synchronous` (FULL: a commit returns only after the WAL is fsynced, so whatever is
 * confirmed afterwards survives a power cut; see TESTING.md), a busy timeout, then `migrate`.
 */
export async function openDurableSqlite(options: {
  dataDir: string;
  fileName: string;
  synchronous: Synchronous;
  migrate: (db: Database) => Promise<unknown>;
}): Promise<{ db: Database; file: string }> {
  const { dataDir } = options;
  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new DurableSqliteError('data-dir', dataDir, (error as Error).message);
  }
  const file = path.join(dataDir, options.fileName);
  try {
    const db = await Database.open(file);
    await db.exec('PRAGMA journal_mode = WAL');
    await db.exec(`PRAGMA synchronous = ${options.synchronous.toUpperCase()}`);
    await db.exec('PRAGMA foreign_keys = ON');
    await db.exec('PRAGMA busy_timeout = 5000');
    await options.migrate(db);
    return { db, file };
  } catch (error) {
    throw new DurableSqliteError('database', file, (error as Error).message);
  }
}
