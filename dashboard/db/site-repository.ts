import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BeaconRegistration, BeaconRegistrations } from '../../core/beacon/beacon-registry.js';
import { SiteLocationPolicy } from '../../core/location/index.js';
import type { Database } from '../../platform/sqlite.js';

/**
 * Sites: a name in English and Traditional Chinese, a time zone, the location policy that mobile
 * punches are verified against (`core/location`), and the site's rotating beacons (`core/beacon`),
 * whose keys are secrets: they are stored here and never leave through the API (see
 * {@link keyFingerprint} and {@link toSiteView}).
 */

export interface Site {
  id: string;
  name: string;
  nameZh: string | null;
  timeZone: string;
  policy: SiteLocationPolicy;
  beacons: BeaconRegistration[];
  createdAt: string;
  updatedAt: string;
}

export interface SiteWrite {
  id: string;
  name: string;
  nameZh: string | null;
  timeZone: string;
  policy: SiteLocationPolicy;
  /** The site's beacons; `undefined` keeps the stored ones (none for a new site). */
  beacons: BeaconRegistration[] | undefined;
}

interface SiteRow {
  id: string;
  name: string;
  name_zh: string | null;
  time_zone: string;
  policy: string;
  beacons: string;
  created_at: string;
  updated_at: string;
  [column: string]: string | number | null;
}

export class SiteCursorError extends Error {
  override name = 'SiteCursorError';
}

/** A beacon key of another site that a write would reuse: `index` is the position in the written list. */
export interface BeaconKeyConflict {
  index: number;
  field: 'identityKey';
  otherSiteId: string;
}

export class BeaconKeyConflictError extends Error {
  override name = 'BeaconKeyConflictError';
  constructor(readonly conflicts: BeaconKeyConflict[]) {
    super(
      conflicts
        .map((c) => `beacons[${c.index}].${c.field}: already used by a beacon of site ${c.otherSiteId}; each EID beacon needs its own key`)
        .join('; '),
    );
  }
}

/**
 * A key's public stand-in: `sha256:` and the first 16 hex digits of SHA-256 over the 16 key
 * bytes. Enough to tell keys apart and to check which key a gateway holds, useless for computing
 * beacon ids.
 */
export function keyFingerprint(keyHex: string): string {
  return `sha256:${createHash('sha256').update(Buffer.from(keyHex, 'hex')).digest('hex').slice(0, 16).toUpperCase()}`;
}

/** A beacon as the API shows it: everything but the key, which is replaced by its fingerprint. */
export const BeaconView = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('eid'),
    siteId: z.string(),
    gatewayId: z.string().optional(),
    identityKeyFingerprint: z.string(),
    rotationExponent: z.number().int(),
    epochUnixSeconds: z.number().int(),
  }),
  z.object({
    kind: z.literal('ibeacon-minor'),
    siteId: z.string(),
    siteKeyFingerprint: z.string(),
    rotationExponent: z.number().int(),
    uuid: z.string(),
    major: z.number().int(),
  }),
]);
export type BeaconView = z.infer<typeof BeaconView>;

export const SiteView = z.object({
  id: z.string(),
  name: z.string(),
  nameZh: z.string().nullable(),
  timeZone: z.string(),
  /** The stored `SiteLocationPolicy` (normalised: BSSIDs upper-case, defaults filled in). */
  policy: z.record(z.string(), z.unknown()),
  beacons: z.array(BeaconView),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SiteView = z.infer<typeof SiteView>;

export function toBeaconView(beacon: BeaconRegistration): BeaconView {
  if (beacon.kind === 'eid') {
    const { identityKey, ...rest } = beacon;
    return { ...rest, identityKeyFingerprint: keyFingerprint(identityKey) };
  }
  const { siteKey, ...rest } = beacon;
  return { ...rest, siteKeyFingerprint: keyFingerprint(siteKey) };
}

export function toSiteView(site: Site): SiteView {
  return {
    id: site.id,
    name: site.name,
    nameZh: site.nameZh,
    timeZone: site.timeZone,
    policy: { ...site.policy },
    beacons: site.beacons.map(toBeaconView),
    createdAt: site.createdAt,
    updatedAt: site.updatedAt,
  };
}

function toSite(row: SiteRow): Site {
  // Stored values were validated on write; parsing again applies the current defaults and shapes.
  return {
    id: row.id,
    name: row.name,
    nameZh: row.name_zh,
    timeZone: row.time_zone,
    policy: SiteLocationPolicy.parse(JSON.parse(row.policy)),
    beacons: BeaconRegistrations.parse(JSON.parse(row.beacons)),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify([id])).toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
  } catch {
    // fall through
  }
  throw new SiteCursorError('cursor is not one this server gave out');
}

/** The central site table. */
export class SiteRepository {
  constructor(private readonly db: Database) {}

  /**
   * Creates or replaces a site in one transaction, bumping the site revision so that beacon
   * resolvers are rebuilt. Refuses (BeaconKeyConflictError, nothing written) an EID identity key
   * another site's beacon already uses: the resolver could not tell the two apart.
   */
  async put(
    site: SiteWrite,
    now: Date,
    /** Runs in the same transaction, after the write (e.g. the audit row); `before` is the site as it was. */
    alsoInTransaction?: (change: { before: Site | undefined; after: Site }) => Promise<void>,
  ): Promise<{ site: Site; created: boolean }> {
    const at = now.toISOString();
    return this.db.transaction(async () => {
      const existing = await this.db.get<SiteRow>('SELECT * FROM sites WHERE id = ?', [site.id]);
      const beacons = site.beacons ?? (existing ? BeaconRegistrations.parse(JSON.parse(existing.beacons)) : []);
      await this.checkKeysUnique(site.id, beacons);
      const row: SiteRow = {
        id: site.id,
        name: site.name,
        name_zh: site.nameZh,
        time_zone: site.timeZone,
        policy: JSON.stringify(site.policy),
        beacons: JSON.stringify(beacons),
        created_at: existing?.created_at ?? at,
        updated_at: at,
      };
      await this.db.run(
        `INSERT INTO sites (id, name, name_zh, time_zone, policy, beacons, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, name_zh = excluded.name_zh, time_zone = excluded.time_zone,
           policy = excluded.policy, beacons = excluded.beacons, updated_at = excluded.updated_at`,
        [row.id, row.name, row.name_zh, row.time_zone, row.policy, row.beacons, row.created_at, row.updated_at],
      );
      await this.db.run('UPDATE site_revision SET revision = revision + 1 WHERE id = 1');
      const written = toSite(row);
      await alsoInTransaction?.({ before: existing ? toSite(existing) : undefined, after: written });
      return { site: written, created: !existing };
    });
  }

  private async checkKeysUnique(siteId: string, beacons: readonly BeaconRegistration[]): Promise<void> {
    const mine = new Map<string, number>();
    beacons.forEach((beacon, index) => {
      if (beacon.kind === 'eid') mine.set(beacon.identityKey, index);
    });
    if (mine.size === 0) return;
    const conflicts: BeaconKeyConflict[] = [];
    for (const other of await this.db.all<{ id: string; beacons: string }>('SELECT id, beacons FROM sites WHERE id <> ? ORDER BY id', [siteId])) {
      for (const beacon of BeaconRegistrations.parse(JSON.parse(other.beacons))) {
        const index = beacon.kind === 'eid' ? mine.get(beacon.identityKey) : undefined;
        if (index !== undefined) conflicts.push({ index, field: 'identityKey', otherSiteId: other.id });
      }
    }
    if (conflicts.length > 0) throw new BeaconKeyConflictError(conflicts.sort((a, b) => a.index - b.index));
  }

  async get(id: string): Promise<Site | undefined> {
    const row = await this.db.get<SiteRow>('SELECT * FROM sites WHERE id = ?', [id]);
    return row ? toSite(row) : undefined;
  }

  /** Sites in id order, keyset-paged; `ids` limits the list to these (a site-scoped principal's reach). */
  async list(query: { limit: number; cursor?: string; ids?: readonly string[] }): Promise<{ sites: Site[]; nextCursor: string | null }> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (after !== undefined) (where.push('id > ?'), params.push(after));
    if (query.ids) (where.push(query.ids.length ? `id IN (${query.ids.map(() => '?').join(', ')})` : '0'), params.push(...query.ids));
    const rows = await this.db.all<SiteRow>(`SELECT * FROM sites ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`, [...params, query.limit + 1]);
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { sites: page.map(toSite), nextCursor: rows.length > query.limit && last ? encodeCursor(last.id) : null };
  }

  /** Bumped by every site write, in the same transaction. */
  async revision(): Promise<number> {
    return (await this.db.get<{ revision: number }>('SELECT revision FROM site_revision WHERE id = 1'))?.revision ?? 0;
  }

  /**
   * A fingerprint of every site's stored row (SHA-256 of its name, time zone, policy and beacons),
   * by site id: whoever derives something from sites can tell which ones changed.
   */
  async contentFingerprints(): Promise<Map<string, string>> {
    const rows = await this.db.all<SiteRow>('SELECT * FROM sites ORDER BY id');
    return new Map(
      rows.map((row) => [row.id, createHash('sha256').update(JSON.stringify([row.name, row.name_zh, row.time_zone, row.policy, row.beacons])).digest('hex')]),
    );
  }

  /** Every site's beacons, for one resolver that knows them all, with the revision they belong to. */
  async allBeacons(): Promise<{ revision: number; beacons: BeaconRegistration[] }> {
    // Two reads; a write between them only makes the next check see a newer revision and rebuild.
    const revision = await this.revision();
    const rows = await this.db.all<{ beacons: string }>('SELECT beacons FROM sites ORDER BY id');
    return { revision, beacons: rows.flatMap((row) => BeaconRegistrations.parse(JSON.parse(row.beacons))) };
  }
}
