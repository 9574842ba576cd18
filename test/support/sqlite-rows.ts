import sqlite3 from 'sqlite3';

/** Reads rows through a separate read-only connection: what another process would see on disk. */
export function rowsOf(file: string, sql: string): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (openError) => {
      if (openError) return reject(openError);
      db.all(sql, (error, rows: Array<Record<string, unknown>>) => {
        db.close();
        if (error) reject(error);
        else resolve(rows);
      });
    });
  });
}
