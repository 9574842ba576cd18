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
  // 2: sites with their location policy and beacons; the replay memory of mobile punches; the
  // sequence counter of punches the server makes itself (mobile punches, device "mobile-api").
  `
  CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_zh TEXT,
    time_zone TEXT NOT NULL DEFAULT 'Asia/Hong_Kong',
    policy TEXT NOT NULL,
    beacons TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  -- One row: bumped in the same transaction as every site write, so that every process holding
  -- a beacon resolver built from the sites can tell that it is stale.
  CREATE TABLE site_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
  );
  INSERT INTO site_revision (id, revision) VALUES (1, 0);

  -- Replay memory (PDPO: neither the beacon id nor the employee id is kept in the clear, only
  -- sha256 of both, and only until the resolver would refuse the id anyway).
  CREATE TABLE beacon_sightings (
    sighting TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
  );
  CREATE INDEX beacon_sightings_by_expiry ON beacon_sightings(expires_at);

  CREATE TABLE punch_sequences (
    device_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
  );
  `,
];

export async function migrateCentral(db: Database): Promise<void> {
  await applyMigrations(db, centralMigrations, 'the central database');
}
