import { DurableSqliteError, openDurableSqlite } from '../../platform/durable-sqlite.js';
import type { Database } from '../../platform/sqlite.js';
import { migrateCentral } from './migrations.js';

export class CentralDbError extends Error {
  override name = 'CentralDbError';
}

/** Opens (and migrates) the central SQLite database in the data dir. */
export async function openCentralDb(dataDir: string): Promise<{ db: Database; file: string }> {
  try {
    // FULL: an ack tells a gateway it may forget a punch, so the commit must be on disk first.
    return await openDurableSqlite({ dataDir, fileName: 'dashboard.sqlite', synchronous: 'full', migrate: migrateCentral });
  } catch (error) {
    if (!(error instanceof DurableSqliteError)) throw error;
    throw new CentralDbError(
      error.stage === 'data-dir' ? `data dir ${error.target} is not a writable directory: ${error.reason}` : `cannot open the central database ${error.target}: ${error.reason}`,
    );
  }
}
