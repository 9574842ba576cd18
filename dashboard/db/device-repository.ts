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
  };
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

  /** Every device's site, light (no status parsing): for watching assignments and grouping by site. */
  async siteAssignments(): Promise<Array<{ id: string; siteId: string }>> {
    return (await this.db.all<{ id: string; site_id: string }>('SELECT id, site_id FROM devices ORDER BY id')).map((row) => ({ id: row.id, siteId: row.site_id }));
  }

  /** Moves a device to another site (its next config is that site's). False when it is not registered. */
  async assignSite(id: string, siteId: string): Promise<boolean> {
    return (await this.db.write('UPDATE devices SET site_id = ? WHERE id = ?', [siteId, id])).changes === 1;
  }

  async recordStatus(id: string, status: DeviceStatus, at: string): Promise<boolean> {
    const result = await this.db.run('UPDATE devices SET online = ?, status = ?, status_at = ?, last_seen = CASE WHEN ? THEN ? ELSE last_seen END WHERE id = ?', [
      status.online ? 1 : 0,
      JSON.stringify(status),
      at,
      status.online ? 1 : 0,
      at,
      id,
    ]);
    return result.changes === 1;
  }

  async markSeen(id: string, at: string): Promise<void> {
    await this.db.run('UPDATE devices SET last_seen = ? WHERE id = ?', [at, id]);
  }
}
