import { applyMigrations } from '../../platform/migrate.js';
import type { Database } from '../../platform/sqlite.js';

/** Schema history of the central database; `PRAGMA user_version` counts the applied entries. */
export const centralMigrations: readonly string[] = [
  `
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    name TEXT,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    online INTEGER NOT NULL DEFAULT 0,
    last_seen TEXT,
    status TEXT,
    status_at TEXT
  );

  CREATE TABLE punches (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    site_id TEXT NOT NULL,
    employee_id TEXT,
    credential_kind TEXT NOT NULL,
    credential_uid TEXT NOT NULL,
    at TEXT NOT NULL,
    direction TEXT NOT NULL,
    method TEXT NOT NULL,
    seq INTEGER NOT NULL,
    clock_synced INTEGER NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL
  );
  CREATE INDEX punches_by_time ON punches(at, id);
  CREATE INDEX punches_by_device ON punches(device_id, at, id);
  CREATE INDEX punches_by_site ON punches(site_id, at, id);
  CREATE INDEX punches_by_employee ON punches(employee_id, at, id);

  CREATE TABLE device_configs (
    device_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    published_at TEXT NOT NULL
  );
  `,
];

export async function migrateCentral(db: Database): Promise<void> {
  await applyMigrations(db, centralMigrations, 'the central database');
}
