import { decodeCursor, encodeCursor, keysetPage } from './keyset-cursor.js';
import { z } from 'zod';
import { DeviceStatus } from '../../core/messages.js';
import type { Database } from '../../platform/sqlite.js';

export const DeviceRecord = z.object({
  id: z.string(),
  siteId: z.string(),
  name: z.string().nullable(),
  createdAt: z.string(),
  online: z.boolean(),
  lastSeen: z.string().nullable(),
  status: DeviceStatus.nullable(),
  statusAt: z.string().nullable(),
  /** False once disabled in the console: the broker refuses its logins, ingest its punches. */
  enabled: z.boolean(),
  disabledAt: z.string().nullable(),
  disabledReason: z.string().nullable(),
});
export type DeviceRecord = z.infer<typeof DeviceRecord>;

interface DeviceRow {
  id: string;
  site_id: string;
  name: string | null;
  created_at: string;
  online: number;
  last_seen: string | null;
  status: string | null;
  status_at: string | null;
  disabled_at: string | null;
  disabled_reason: string | null;
  [column: string]: string | number | null;
}

export class DeviceExistsError extends Error {
  override name = 'DeviceExistsError';
}

function toRecord(row: DeviceRow): DeviceRecord {
  const status = row.status ? DeviceStatus.safeParse(JSON.parse(row.status)) : undefined;
  return {
    id: row.id,
    siteId: row.site_id,
    name: row.name,
    createdAt: row.created_at,
    online: row.online === 1,
    lastSeen: row.last_seen,
    status: status?.success ? status.data : null,
    statusAt: row.status_at,
    enabled: row.disabled_at === null,
    disabledAt: row.disabled_at,
    disabledReason: row.disabled_reason,
  };
}

/** What the console may change about a device; fields left out stay as they are. */
export interface DeviceChange {
  /** null clears the name. */
  name?: string | null;
  siteId?: string;
  /** Disabling needs a time; `reason` says why (shown to the console and in ingest's refusals). */
  disabled?: { at: string; reason: string | null } | null;
}

export interface DeviceListQuery {
  siteId?: string;
  /** Only devices at these sites (a site-scoped principal's reach); an empty list matches none. */
  siteIds?: readonly string[];
  limit: number;
  /** Opaque cursor from the previous page (the last device id). */
  cursor?: string;
}




/** The device registry: who may connect, and what each gateway last said about itself. */
export class DeviceRepository {
  constructor(private readonly db: Database) {}

  async register(device: { id: string; siteId: string; name?: string; secretHash: string; createdAt: string }): Promise<void> {
    const existing = await this.db.get('SELECT id FROM devices WHERE id = ?', [device.id]);
    if (existing) throw new DeviceExistsError(`device ${device.id} is already registered`);
    await this.db.run('INSERT INTO devices (id, site_id, name, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)', [
      device.id,
      device.siteId,
      device.name ?? null,
      device.secretHash,
      device.createdAt,
    ]);
  }

  /** Replaces a device's secret (re-enrolment of a replaced box). */
  async setSecretHash(id: string, secretHash: string): Promise<boolean> {
    return (await this.db.run('UPDATE devices SET secret_hash = ? WHERE id = ?', [secretHash, id])).changes === 1;
  }

  async secretHash(id: string): Promise<string | undefined> {
    return (await this.db.get<{ secret_hash: string }>('SELECT secret_hash FROM devices WHERE id = ?', [id]))?.secret_hash;
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const row = await this.db.get<DeviceRow>('SELECT * FROM devices WHERE id = ?', [id]);
    return row ? toRecord(row) : undefined;
  }

  async list(): Promise<DeviceRecord[]> {
    return (await this.db.all<DeviceRow>('SELECT * FROM devices ORDER BY id')).map(toRecord);
  }

  /** Devices in id order, keyset-paged, optionally at some sites. */
  async page(query: DeviceListQuery): Promise<{ devices: DeviceRecord[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: string[] = [];
    if (query.siteId !== undefined) (where.push('site_id = ?'), params.push(query.siteId));
    if (query.siteIds) (where.push(query.siteIds.length ? `site_id IN (${query.siteIds.map(() => '?').join(', ')})` : '0'), params.push(...query.siteIds));
    if (query.cursor !== undefined) (where.push('id > ?'), params.push(decodeCursor(query.cursor, 'string')[0]));
    const rows = await this.db.all<DeviceRow>(`SELECT * FROM devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`, [...params, query.limit + 1]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.id]);
    return { devices: page.map(toRecord), nextCursor };
  }

  /**
   * Renames, moves and enables/disables a device with plain statements: run it INSIDE the
   * caller's `db.transaction` (with its audit row). False when the device is not registered.
   */
  async updateInTransaction(id: string, change: DeviceChange): Promise<boolean> {
    const sets: string[] = [];
    const params: Array<string | null> = [];
    if (change.name !== undefined) (sets.push('name = ?'), params.push(change.name));
    if (change.siteId !== undefined) (sets.push('site_id = ?'), params.push(change.siteId));
    if (change.disabled !== undefined) {
      sets.push('disabled_at = ?', 'disabled_reason = ?');
      params.push(change.disabled?.at ?? null, change.disabled?.reason ?? null);
    }
    if (sets.length === 0) return (await this.db.get('SELECT id FROM devices WHERE id = ?', [id])) !== undefined;
    return (await this.db.run(`UPDATE devices SET ${sets.join(', ')} WHERE id = ?`, [...params, id])).changes === 1;
  }

  /**
   * What the broker needs at a device's login: its secret hash and whether it is enabled;
   * undefined when it is not registered.
   */
  async login(id: string): Promise<{ secretHash: string; enabled: boolean } | undefined> {
    const row = await this.db.get<{ secret_hash: string; disabled_at: string | null }>('SELECT secret_hash, disabled_at FROM devices WHERE id = ?', [id]);
    return row ? { secretHash: row.secret_hash, enabled: row.disabled_at === null } : undefined;
  }

  /** Every device's site, light (no status parsing): for watching assignments and grouping by site. */
  async siteAssignments(): Promise<Array<{ id: string; siteId: string }>> {
    return (await this.db.all<{ id: string; site_id: string }>('SELECT id, site_id FROM devices ORDER BY id')).map((row) => ({ id: row.id, siteId: row.site_id }));
  }

  /** Moves a device to another site (its next config is that site's). False when it is not registered. */
  async assignSite(id: string, siteId: string): Promise<boolean> {
    return (await this.db.write('UPDATE devices SET site_id = ? WHERE id = ?', [siteId, id])).changes === 1;
  }

  /** The config version last published to each device (the config publisher's table), in one read: for lists of many devices. */
  async publishedConfigVersions(): Promise<Map<string, { version: number; publishedAt: string }>> {
    const rows = await this.db.all<{ device_id: string; version: number; published_at: string }>('SELECT device_id, version, published_at FROM device_configs');
    return new Map(rows.map((row) => [row.device_id, { version: row.version, publishedAt: row.published_at }]));
  }

  /**
   * Records a device's status. The last will is a bare `{online: false}`: it is merged into the
   * last full status (SQLite's json_patch), so an offline terminal still shows its last backlog,
   * config version and clock, which is what the facilities team needs to judge it.
   */
  async recordStatus(id: string, status: DeviceStatus, at: string): Promise<boolean> {
    const bare = Object.keys(status).length === 1 && status.online === false;
    const result = await this.db.run(
      `UPDATE devices SET online = ?, status = CASE WHEN ? AND status IS NOT NULL THEN json_patch(status, ?) ELSE ? END, status_at = ?,
         last_seen = CASE WHEN ? THEN ? ELSE last_seen END WHERE id = ?`,
      [status.online ? 1 : 0, bare ? 1 : 0, JSON.stringify(status), JSON.stringify(status), at, status.online ? 1 : 0, at, id],
    );
    return result.changes === 1;
  }

  async markSeen(id: string, at: string): Promise<void> {
    await this.db.run('UPDATE devices SET last_seen = ? WHERE id = ?', [at, id]);
  }
}
