import type { Database } from './sqlite.js';

/**
 * Applies the migrations a database has not had yet, each in its own transaction;
 * `PRAGMA user_version` counts the applied ones. A database newer than this software is refused
 * rather than touched. Returns the schema version now in force.
 */
export async function applyMigrations(db: Database, migrations: readonly string[], what: string): Promise<number> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  const current = row?.user_version ?? 0;
  if (current > migrations.length) {
    throw new Error(`${what} is at schema version ${current}, newer than this software (${migrations.length}); refusing to touch it`);
  }
  for (let version = current; version < migrations.length; version += 1) {
    await db.transaction(async () => {
      await db.exec(migrations[version] ?? '');
      await db.exec(`PRAGMA user_version = ${version + 1}`);
    });
  }
  return migrations.length;
}
