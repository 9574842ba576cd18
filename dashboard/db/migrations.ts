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
  // Accounts and access: users (scrypt password hashes), sessions (only sha256 of the random id
  // is stored), API tokens (only sha256 of the token), and the append-only audit log.
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL,
    -- JSON list of site ids for site-scoped roles; NULL: every site.
    sites TEXT,
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 1,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    password_changed_at TEXT,
    last_login_at TEXT
  );

  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE INDEX sessions_by_user ON sessions(user_id);
  CREATE INDEX sessions_by_expiry ON sessions(expires_at);

  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    sites TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    -- The first characters of the token, to recognise it in a list; never enough to use it.
    hint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,
    last_used_at TEXT,
    revoked_at TEXT
  );

  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before TEXT,
    after TEXT
  );
  CREATE INDEX audit_by_entity ON audit_log(entity, entity_id, id);
  CREATE INDEX audit_by_actor ON audit_log(actor_id, id);
  CREATE INDEX audit_by_time ON audit_log(at, id);
  CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  `,
  // Employees and badges: the employee number is the external id that rosters and punches carry;
  // badge assignments and BLE consents keep their history (revoking or withdrawing sets a time,
  // never deletes); at most one assignment in force per credential, one consent per employee.
  // Device configs remember the hash of what they configure, so unchanged content is not
  // published again; punches can be found by credential (assigning an unknown badge's punches).
  `
  CREATE TABLE employees (
    employee_number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_zh TEXT,
    department TEXT,
    rank TEXT,
    phone TEXT,
    email TEXT,
    -- Calendar days (YYYY-MM-DD), read in each site's time zone; NULL: open-ended.
    active_from TEXT,
    active_until TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    inactive_since TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX employees_by_department ON employees(department, employee_number);

  CREATE TABLE employee_sites (
    employee_number TEXT NOT NULL REFERENCES employees(employee_number) ON DELETE CASCADE,
    site_id TEXT NOT NULL,
    PRIMARY KEY (employee_number, site_id)
  );
  CREATE INDEX employee_sites_by_site ON employee_sites(site_id, employee_number);

  CREATE TABLE badge_assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    employee_number TEXT NOT NULL REFERENCES employees(employee_number),
    credential_kind TEXT NOT NULL,
    credential_uid TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    assigned_by TEXT,
    revoked_at TEXT,
    revoked_by TEXT,
    revoke_reason TEXT
  );
  CREATE UNIQUE INDEX badge_assignments_in_force ON badge_assignments(credential_kind, credential_uid) WHERE revoked_at IS NULL;
  CREATE INDEX badge_assignments_by_employee ON badge_assignments(employee_number, id);
  CREATE INDEX badge_assignments_by_revocation ON badge_assignments(revoked_at);

  CREATE TABLE ble_consents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    employee_number TEXT NOT NULL REFERENCES employees(employee_number),
    recorded_at TEXT NOT NULL,
    recorded_by TEXT,
    withdrawn_at TEXT,
    withdrawn_by TEXT
  );
  CREATE UNIQUE INDEX ble_consents_in_force ON ble_consents(employee_number) WHERE withdrawn_at IS NULL;
  CREATE INDEX ble_consents_by_employee ON ble_consents(employee_number, id);

  -- The content hash is valid only for the version it was taken at (content_hash_version).
  ALTER TABLE device_configs ADD COLUMN content_hash TEXT;
  ALTER TABLE device_configs ADD COLUMN content_hash_version INTEGER;

  CREATE INDEX punches_by_credential ON punches(credential_kind, credential_uid, at);
  `,
  // A config written whole through PUT /devices/{id}/config (an integration managing its own
  // roster) is pinned: the console's config push leaves it alone until DELETE hands it back.
  `
  ALTER TABLE device_configs ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
  `,
  // A device can be disabled from the console (a stolen or retired terminal): the embedded broker
  // refuses its logins and ingest refuses its punches until it is enabled again. NULL: enabled.
  `
  ALTER TABLE devices ADD COLUMN disabled_at TEXT;
  ALTER TABLE devices ADD COLUMN disabled_reason TEXT;
  `,
  // Sites get a postal address (English and Traditional Chinese) and their hands-free setting,
  // pushed to every gateway of the site as presence.handsFree. hands_free is JSON
  // {enabled, punchOutAfterSeconds}; NULL: off, with the default punch-out delay.
  `
  ALTER TABLE sites ADD COLUMN address TEXT;
  ALTER TABLE sites ADD COLUMN address_zh TEXT;
  ALTER TABLE sites ADD COLUMN hands_free TEXT;
  `,
  // "Unknown badges at a site" walked every punch of the site to find the few without an
  // employee (console bench: 10.7 ms a page); only unknown-badge rows pay for this index.
  `
  CREATE INDEX punches_unknown_by_site ON punches(site_id, at, id) WHERE employee_id IS NULL;
  `,
  // Filtering by a rare method (HR looking for make-up punches: method manual) walked every
  // punch along punches_by_time: 330-444 ms at 1,000,000 rows, with ingest waiting behind it.
  `
  CREATE INDEX punches_by_method ON punches(method, at, id);
  `,
  // Alert delivery (dashboard/notifications/, docs/notifications.md). Webhook endpoints keep their
  // signing secret in the clear, since it signs every delivery (the API shows it once, at
  // creation); a deleted endpoint stays, without its secret, so that its deliveries still name
  // it. One notification per event key (enqueue is INSERT .. ON CONFLICT(key) DO NOTHING), one
  // delivery per notification and endpoint or e-mail address, and every attempt in the log
  // (outcome NULL while in flight: found at the next start and retried).
  `
  CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- JSON list of the event kinds it receives; NULL: every kind.
    kinds TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
  );

  CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    employee_number TEXT NOT NULL,
    site_id TEXT,
    work_date TEXT,
    occurred_at TEXT NOT NULL,
    -- The event as received (JSON): what every delivery of it sends.
    event TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX notifications_by_kind ON notifications(kind, id);
  CREATE INDEX notifications_by_employee ON notifications(employee_number, id);
  CREATE INDEX notifications_by_creation ON notifications(created_at);

  CREATE TABLE notification_deliveries (
    id TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    endpoint_id TEXT REFERENCES webhook_endpoints(id),
    address TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'gave-up')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Attempts made before the last replay: the retry budget and the back-off count from here.
    replay_base INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((channel = 'webhook') = (endpoint_id IS NOT NULL)),
    CHECK ((channel = 'email') = (address IS NOT NULL))
  );
  CREATE UNIQUE INDEX notification_deliveries_per_endpoint ON notification_deliveries(notification_id, endpoint_id) WHERE endpoint_id IS NOT NULL;
  CREATE UNIQUE INDEX notification_deliveries_per_address ON notification_deliveries(notification_id, address) WHERE address IS NOT NULL;
  CREATE INDEX notification_deliveries_by_status ON notification_deliveries(status, notification_id);
  CREATE INDEX notification_deliveries_due ON notification_deliveries(next_attempt_at) WHERE status IN ('pending', 'failed');

  CREATE TABLE notification_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL REFERENCES notification_deliveries(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT CHECK (outcome IN ('delivered', 'failed', 'interrupted')),
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER
  );
  CREATE INDEX notification_attempts_by_delivery ON notification_attempts(delivery_id, id);
  CREATE INDEX notification_attempts_open ON notification_attempts(delivery_id) WHERE outcome IS NULL;
  `,
  // Attendance (issue 6): the schedule book in parts (shifts and schedules as validated JSON
  // documents, per-day overrides as rows), the company's rules and holidays, approved leave, and
  // make-up punch requests with their approvals. A request's punch is made in the transaction
  // that approves it.
  `
  CREATE TABLE attendance_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE shifts (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE schedule_overrides (
    employee_number TEXT NOT NULL,
    date TEXT NOT NULL,
    shift_id TEXT,
    site_id TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (employee_number, date)
  );
  CREATE TABLE leave_records (
    id TEXT PRIMARY KEY,
    employee_number TEXT NOT NULL,
    type TEXT NOT NULL,
    from_date TEXT NOT NULL,
    to_date TEXT NOT NULL,
    portion TEXT NOT NULL CHECK (portion IN ('full', 'am', 'pm')),
    status TEXT NOT NULL CHECK (status IN ('approved', 'cancelled')),
    note TEXT,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,
    cancelled_at TEXT,
    cancelled_by TEXT
  );
  CREATE INDEX leave_by_employee ON leave_records(employee_number, from_date);
  CREATE INDEX leave_by_dates ON leave_records(from_date, to_date);
  CREATE TABLE makeup_requests (
    id TEXT PRIMARY KEY,
    employee_number TEXT NOT NULL,
    site_id TEXT NOT NULL,
    at TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending-manager', 'pending-hr', 'approved', 'rejected')),
    needs_hr INTEGER NOT NULL,
    requested_by TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decisions TEXT NOT NULL,
    punch_id TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX makeup_by_status ON makeup_requests(status, requested_at);
  CREATE INDEX makeup_by_employee ON makeup_requests(employee_number, at);
  CREATE INDEX makeup_by_site ON makeup_requests(site_id, requested_at);
  `,
  // Onboarding (issue 7): the department codes an import is checked against (none defined: any
  // name is accepted, as before), console accounts made by an import or HRIS sync linked to
  // their employee (so that a later import changes or disables that account, never another),
  // and HRIS requests remembered by Idempotency-Key for a day, answer included.
  `
  CREATE TABLE departments (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_zh TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  ALTER TABLE users ADD COLUMN employee_number TEXT;
  CREATE UNIQUE INDEX users_by_employee ON users(employee_number) WHERE employee_number IS NOT NULL;
  CREATE TABLE hris_requests (
    client_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (client_id, idempotency_key)
  );
  CREATE INDEX hris_requests_by_age ON hris_requests(created_at);
  `,
  // Integration clients (issue 7, HRIS sync): OAuth 2.0 client credentials made in the console.
  // The secret and the access tokens are kept as SHA-256 only (256-bit random, like API tokens);
  // scopes are permissions (JSON arrays); a revoked client's tokens stop at once (the lookup
  // joins the client). Expired tokens are deleted as new ones are issued.
  `
  CREATE TABLE integration_clients (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    sites TEXT,
    secret_hash TEXT NOT NULL,
    token_lifetime_seconds INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,
    secret_rotated_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
  );
  CREATE TABLE integration_access_tokens (
    id TEXT PRIMARY KEY,
    client_pk TEXT NOT NULL REFERENCES integration_clients(id),
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
  );
  CREATE INDEX integration_tokens_by_client ON integration_access_tokens(client_pk, expires_at);
  CREATE INDEX integration_tokens_by_expiry ON integration_access_tokens(expires_at);
  `,
  // Device enrolment (issue 7): each registration or re-enrolment's bundle, waiting for its one
  // download. Keyed by the SHA-256 of the one-time token, sealed with a key derived from the token
  // (dashboard/enrolment/enrolment-bundles.ts); the bytes are deleted at the download, at expiry
  // or when a newer enrolment replaces them, and the row is kept a while to say which.
  `
  CREATE TABLE device_enrolments (
    token_sha256 TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sealed_bundle BLOB,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    downloaded_at TEXT,
    replaced_at TEXT
  );
  CREATE INDEX device_enrolments_by_device ON device_enrolments(device_id);
  CREATE INDEX device_enrolments_by_expiry ON device_enrolments(expires_at);
  `,
  // The languages a site's kiosk screens show (issue 8), as a JSON list such as ["zh-HK","en"];
  // NULL: English and Traditional Chinese together, the default.
  `
  ALTER TABLE sites ADD COLUMN languages TEXT;
  `,
];

export async function migrateCentral(db: Database): Promise<void> {
  await applyMigrations(db, centralMigrations, 'the central database');
}
