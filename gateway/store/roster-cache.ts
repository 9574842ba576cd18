import { createHash } from 'node:crypto';
import { CredentialKind, credentialKey } from '../../core/credential.js';
import type { RosterEntry } from '../../core/roster.js';
import type { Database } from '../../platform/sqlite.js';

export interface RosterSource {
  /** Where this roster came from: `file:/etc/punchgate/roster.json`, later `dashboard:v42`. */
  source: string;
}

/** The last good roster, kept on disk so that a gateway that boots offline still knows its staff. */
export class RosterCache {
  constructor(private readonly db: Database) {}

  static fingerprint(entries: readonly RosterEntry[]): string {
    return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
  }

  /** Replaces the whole roster in one transaction: readers never see half of an update. */
  async replace(entries: readonly RosterEntry[], origin: RosterSource): Promise<void> {
    await this.db.transaction(() => writeRoster(this.db, entries, origin));
  }

  async load(): Promise<RosterEntry[]> {
    const rows = await this.db.all<{ kind: string; uid: string; employee_id: string; name: string; status: string; ble_consent_at: string | null }>(
      'SELECT kind, uid, employee_id, name, status, ble_consent_at FROM roster ORDER BY credential_key',
    );
    return rows.map((row) => ({
      credential: { kind: CredentialKind.parse(row.kind), uid: row.uid },
      employeeId: row.employee_id,
      name: row.name,
      status: row.status === 'revoked' ? 'revoked' : 'active',
      ...(row.ble_consent_at ? { bleConsentAt: row.ble_consent_at } : {}),
    }));
  }

  async fingerprint(): Promise<string | undefined> {
    const row = await this.db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'roster.fingerprint'");
    return row?.value;
  }
}

/**
 * The roster rows and their meta, written inside a transaction the caller holds (RosterCache.replace,
 * or a pushed config that replaces the roster together with its own meta).
 */
export async function writeRoster(db: Database, entries: readonly RosterEntry[], origin: RosterSource): Promise<void> {
  await db.run('DELETE FROM roster');
  for (const entry of entries) {
    await db.run('INSERT INTO roster (credential_key, kind, uid, employee_id, name, status, ble_consent_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      credentialKey(entry.credential),
      entry.credential.kind,
      entry.credential.uid,
      entry.employeeId,
      entry.name,
      entry.status,
      entry.bleConsentAt ?? null,
    ]);
  }
  const meta: Array<[string, string]> = [
    ['roster.source', origin.source],
    ['roster.fingerprint', RosterCache.fingerprint(entries)],
    ['roster.updatedAt', new Date().toISOString()],
  ];
  for (const [key, value] of meta) {
    await db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [key, value]);
  }
}
