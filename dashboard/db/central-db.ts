import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Database } from '../../platform/sqlite.js';
import { migrateCentral } from './migrations.js';

export class CentralDbError extends Error {
  override name = 'CentralDbError';
}

/** Opens (and migrates) the central SQLite database in the data dir. */
export async function openCentralDb(dataDir: string): Promise<{ db: Database; file: string }> {
  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new CentralDbError(`data dir ${dataDir} is not a writable directory: ${(error as Error).message}`);
  }
  const file = path.join(dataDir, 'dashboard.sqlite');
  try {
    const db = await Database.open(file);
    // An ack tells a gateway it may forget a punch: the commit must be on disk before it is sent.
    await db.exec('PRAGMA journal_mode = WAL');
    await db.exec('PRAGMA synchronous = FULL');
    await db.exec('PRAGMA busy_timeout = 5000');
    await migrateCentral(db);
    return { db, file };
  } catch (error) {
    throw new CentralDbError(`cannot open the central database ${file}: ${(error as Error).message}`);
  }
}
