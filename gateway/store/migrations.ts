import { applyMigrations } from '../../platform/migrate.js';
import type { Database } from '../../platform/sqlite.js';

/**
 * Schema history of the gateway store, applied in order; `PRAGMA user_version` holds how many
 * have run. Never edit a released migration: add a new one.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE punches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    credential_key TEXT NOT NULL,
    employee_id TEXT,
    at TEXT NOT NULL,
    local_day TEXT NOT NULL,
    direction TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'acked', 'rejected')),
    reject_reason TEXT,
    acked_at TEXT
  );
  CREATE INDEX punches_by_state ON punches(state, seq);
  CREATE INDEX punches_by_person_day ON punches(employee_id, local_day, seq);
  CREATE INDEX punches_by_credential_day ON punches(credential_key, local_day, seq);

  -- Taps that were refused (revoked badges): evidence for HR, never attendance.
  CREATE TABLE refused_taps (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    reader_id TEXT NOT NULL,
    credential_key TEXT NOT NULL,
    employee_id TEXT,
    reason TEXT NOT NULL
  );

  CREATE TABLE roster (
    credential_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    uid TEXT NOT NULL,
    employee_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked'))
  );

  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // Clock trust: unsynced punches keep the boot they were taken in and the monotonic clock
  // (CLOCK_MONOTONIC, since boot) so their time can be corrected once the wall clock syncs.
  `
  ALTER TABLE punches ADD COLUMN clock_synced INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE punches ADD COLUMN boot_id TEXT;
  ALTER TABLE punches ADD COLUMN mono_ms REAL;
  CREATE INDEX punches_unsynced ON punches(boot_id, seq) WHERE clock_synced = 0;
  `,
  // Retention prunes acknowledged punches by the time of their ack; without this index each prune
  // would walk every acknowledged row to find the few that are old enough.
  `
  CREATE INDEX punches_acked_at ON punches(acked_at) WHERE state = 'acked';
  `,
  // BLE tags punch hands-free only for people whose consent is recorded (PDPO opt-in).
  `
  ALTER TABLE roster ADD COLUMN ble_consent_at TEXT;
  `,
];

export function migrate(db: Database): Promise<number> {
  return applyMigrations(db, migrations, 'the gateway store');
}
