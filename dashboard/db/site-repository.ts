import { decodeCursor, encodeCursor, keysetPage } from './keyset-cursor.js';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BeaconRegistration, BeaconRegistrations } from '../../core/beacon/beacon-registry.js';
import { factorsOf, SiteLocationPolicy } from '../../core/location/index.js';
import { SiteLanguages, type SiteLanguage } from '../../core/config-snapshot.js';
import type { Database } from '../../platform/sqlite.js';

/**
 * Sites: a name and an address in English and Traditional Chinese, a time zone, the location
 * policy that mobile punches are verified against (`core/location`), the hands-free setting its
 * gateways run with (`core/presence-settings.ts`), and the site's rotating beacons
 * (`core/beacon`), whose keys are secrets: they are stored here and never leave through the API
 * (see {@link keyFingerprint} and {@link toSiteView}).
 */

/** Beacons one site may register (a site has a few gateways, each with one EID beacon, plus its iBeacon). */
export const MAX_SITE_BEACONS = 64;

/**
 * Hands-free punching with staff BLE tags at a site's gateways (docs/presence.md): off unless
 * turned on, and even then only for tags whose holder's consent is recorded. Pushed to every
 * gateway of the site as the config snapshot's `presence.handsFree`.
 */
export const SiteHandsFree = z
  .object({
    enabled: z.boolean({ error: 'must be true or false' }).default(false),
    /** All of a person's tags away this long punches them out (at the time they were last heard). */
    punchOutAfterSeconds: z
      .int({ error: 'must be a whole number of seconds' })
      .min(60, 'must be at least 60 seconds (a shorter wait punches people out whenever their tag drops out for a moment)')
      .max(86_400, 'may be at most 86400 seconds (24 hours)')
      .default(600),
  })
  .strict();
export type SiteHandsFree = z.output<typeof SiteHandsFree>;

/** A site's hands-free setting until one is chosen: off, punching out after 10 minutes away. */
export const HANDS_FREE_OFF: Readonly<SiteHandsFree> = Object.freeze({ enabled: false, punchOutAfterSeconds: 600 });

export interface Site {
  id: string;
  name: string;
  nameZh: string | null;
  /** The postal address in English and in Traditional Chinese; null: not given. */
  address: string | null;
  addressZh: string | null;
  timeZone: string;
  policy: SiteLocationPolicy;
  handsFree: SiteHandsFree;
  beacons: BeaconRegistration[];
  /** The kiosk screens' languages, in order; null: both at once (the default). */
  languages: SiteLanguage[] | null;
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
  /** `undefined` keeps the stored address (none for a new site). */
  address?: string | null;
  addressZh?: string | null;
  /** `undefined` keeps the stored setting (off for a new site). */
  handsFree?: SiteHandsFree;
  /** `undefined` keeps the stored languages (the default for a new site); null resets to the default. */
  languages?: SiteLanguage[] | null;
}

interface SiteRow {
  id: string;
  name: string;
  name_zh: string | null;
  address: string | null;
  address_zh: string | null;
  time_zone: string;
  policy: string;
  hands_free: string | null;
  beacons: string;
  languages: string | null;
  created_at: string;
  updated_at: string;
  [column: string]: string | number | null;
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

export class SiteNotFoundError extends Error {
  override name = 'SiteNotFoundError';
  constructor(readonly siteId: string) {
    super(`site ${siteId} does not exist`);
  }
}

/** A beacon added one at a time whose key some registered beacon already uses (this site's or another's). */
export class BeaconKeyInUseError extends Error {
  override name = 'BeaconKeyInUseError';
  constructor(
    readonly field: 'identityKey' | 'siteKey',
    readonly holder: { siteId: string; beaconId: string },
  ) {
    super(`already used by beacon ${holder.beaconId} of site ${holder.siteId}; each beacon needs a key of its own`);
  }
}

/** Adding a beacon to a site that already has {@link MAX_SITE_BEACONS}. */
export class BeaconLimitError extends Error {
  override name = 'BeaconLimitError';
  constructor(readonly siteId: string) {
    super(`site ${siteId} already has ${MAX_SITE_BEACONS} beacons, the most a site may register; remove one first`);
  }
}

/** No beacon of the site has this id (or key fingerprint). */
export class BeaconNotFoundError extends Error {
  override name = 'BeaconNotFoundError';
  constructor(
    readonly siteId: string,
    readonly ref: string,
  ) {
    super(`site ${siteId} has no beacon ${ref}`);
  }
}

/** A key fingerprint that names several beacons of the site (an iBeacon key registered twice): use the id. */
export class BeaconAmbiguousError extends Error {
  override name = 'BeaconAmbiguousError';
  constructor(
    readonly ref: string,
    readonly ids: string[],
  ) {
    super(`${ref} is the key of several beacons (${ids.join(', ')}); remove one by its id`);
  }
}

/** Removing the last beacon of a site whose location rule counts BLE. */
export class LastBleBeaconError extends Error {
  override name = 'LastBleBeaconError';
  constructor(readonly siteId: string) {
    super(`site ${siteId} counts BLE in its location rule, so it must keep at least one beacon; change the rule first`);
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

/** The secret key of a beacon (the EID identity key, or the iBeacon site key). */
export function beaconKey(beacon: BeaconRegistration): string {
  return beacon.kind === 'eid' ? beacon.identityKey : beacon.siteKey;
}

/**
 * A beacon's id at its site: `eid-` or `ibm-` and 16 hex digits of SHA-256 over what makes the
 * beacon itself (the kind and key; for an iBeacon also its uuid and major). Stable for as long as
 * the beacon is registered, the same in every answer, and, like the fingerprint, useless for
 * computing beacon ids. `DELETE /sites/{siteId}/beacons/{beaconId}` takes it.
 */
export function beaconId(beacon: BeaconRegistration): string {
  const material = beacon.kind === 'eid' ? `eid|${beacon.identityKey}` : `ibeacon-minor|${beacon.siteKey}|${beacon.uuid}|${beacon.major}`;
  return `${beacon.kind === 'eid' ? 'eid' : 'ibm'}-${createHash('sha256').update(material).digest('hex').slice(0, 16)}`;
}

/** A beacon as the API shows it: everything but the key, which is replaced by its fingerprint. */
export const BeaconView = z.discriminatedUnion('kind', [
  z.object({
    id: z.string(),
    kind: z.literal('eid'),
    siteId: z.string(),
    gatewayId: z.string().optional(),
    identityKeyFingerprint: z.string(),
    rotationExponent: z.number().int(),
    epochUnixSeconds: z.number().int(),
  }),
  z.object({
    id: z.string(),
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
  address: z.string().nullable(),
  addressZh: z.string().nullable(),
  timeZone: z.string(),
  /** The stored `SiteLocationPolicy` (normalised: BSSIDs upper-case, defaults filled in). */
  policy: z.record(z.string(), z.unknown()),
  handsFree: z.object({ enabled: z.boolean(), punchOutAfterSeconds: z.number().int() }),
  beacons: z.array(BeaconView),
  /** The kiosk screens' languages, in order; null: English and Traditional Chinese together. */
  languages: z.array(z.string()).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SiteView = z.infer<typeof SiteView>;

export function toBeaconView(beacon: BeaconRegistration): BeaconView {
  const id = beaconId(beacon);
  if (beacon.kind === 'eid') {
    const { identityKey, ...rest } = beacon;
    return { id, ...rest, identityKeyFingerprint: keyFingerprint(identityKey) };
  }
  const { siteKey, ...rest } = beacon;
  return { id, ...rest, siteKeyFingerprint: keyFingerprint(siteKey) };
}

export function toSiteView(site: Site): SiteView {
  return {
    id: site.id,
    name: site.name,
    nameZh: site.nameZh,
    address: site.address,
    addressZh: site.addressZh,
    timeZone: site.timeZone,
    policy: { ...site.policy },
    handsFree: { ...site.handsFree },
    beacons: site.beacons.map(toBeaconView),
    languages: site.languages ? [...site.languages] : null,
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
    address: row.address ?? null,
    addressZh: row.address_zh ?? null,
    timeZone: row.time_zone,
    policy: SiteLocationPolicy.parse(JSON.parse(row.policy)),
    handsFree: row.hands_free ? SiteHandsFree.parse(JSON.parse(row.hands_free)) : { ...HANDS_FREE_OFF },
    beacons: BeaconRegistrations.parse(JSON.parse(row.beacons)),
    languages: row.languages ? SiteLanguages.parse(JSON.parse(row.languages)) : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
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
      const handsFree = site.handsFree === undefined ? (existing?.hands_free ?? null) : JSON.stringify(SiteHandsFree.parse(site.handsFree));
      const row: SiteRow = {
        id: site.id,
        name: site.name,
        name_zh: site.nameZh,
        address: site.address === undefined ? (existing?.address ?? null) : site.address,
        address_zh: site.addressZh === undefined ? (existing?.address_zh ?? null) : site.addressZh,
        time_zone: site.timeZone,
        policy: JSON.stringify(site.policy),
        hands_free: handsFree,
        beacons: JSON.stringify(beacons),
        languages: site.languages === undefined ? (existing?.languages ?? null) : site.languages === null ? null : JSON.stringify(SiteLanguages.parse(site.languages)),
        created_at: existing?.created_at ?? at,
        updated_at: at,
      };
      await this.db.run(
        `INSERT INTO sites (id, name, name_zh, address, address_zh, time_zone, policy, hands_free, beacons, languages, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, name_zh = excluded.name_zh, address = excluded.address,
           address_zh = excluded.address_zh, time_zone = excluded.time_zone, policy = excluded.policy,
           hands_free = excluded.hands_free, beacons = excluded.beacons, languages = excluded.languages, updated_at = excluded.updated_at`,
        [row.id, row.name, row.name_zh, row.address, row.address_zh, row.time_zone, row.policy, row.hands_free, row.beacons, row.languages, row.created_at, row.updated_at],
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

  /**
   * Adds one beacon to a site in one transaction (bumping the site revision), keeping the others:
   * a console that only ever sees key fingerprints never has to send the stored keys again.
   * Refuses, writing nothing: an unknown site (SiteNotFoundError), a site at
   * {@link MAX_SITE_BEACONS} (BeaconLimitError), and a key any registered beacon of any site
   * already uses, as an EID identity key or an iBeacon site key (BeaconKeyInUseError).
   */
  async addBeacon(
    siteId: string,
    beacon: BeaconRegistration,
    now: Date,
    /** Runs in the same transaction, after the write (the audit row). */
    alsoInTransaction?: (change: { before: Site; after: Site; beacon: BeaconRegistration }) => Promise<void>,
  ): Promise<{ site: Site; beacon: BeaconRegistration }> {
    return this.db.transaction(async () => {
      const existing = await this.db.get<SiteRow>('SELECT * FROM sites WHERE id = ?', [siteId]);
      if (!existing) throw new SiteNotFoundError(siteId);
      const before = toSite(existing);
      if (before.beacons.length >= MAX_SITE_BEACONS) throw new BeaconLimitError(siteId);
      const key = beaconKey(beacon);
      for (const other of await this.db.all<{ id: string; beacons: string }>('SELECT id, beacons FROM sites ORDER BY id')) {
        const holder = BeaconRegistrations.parse(JSON.parse(other.beacons)).find((registered) => beaconKey(registered) === key);
        if (holder) throw new BeaconKeyInUseError(beacon.kind === 'eid' ? 'identityKey' : 'siteKey', { siteId: other.id, beaconId: beaconId(holder) });
      }
      const beacons = BeaconRegistrations.parse([...before.beacons, beacon]);
      const row = await this.writeBeacons(existing, beacons, now);
      const after = toSite(row);
      await alsoInTransaction?.({ before, after, beacon });
      return { site: after, beacon };
    });
  }

  /**
   * Removes one beacon of a site, named by its id ({@link beaconId}) or by its key's fingerprint,
   * in one transaction. Refuses, writing nothing: an unknown site (SiteNotFoundError), an unknown
   * beacon (BeaconNotFoundError), a fingerprint of several beacons (BeaconAmbiguousError), and
   * the last beacon of a site whose location rule counts BLE (LastBleBeaconError).
   */
  async removeBeacon(
    siteId: string,
    ref: string,
    now: Date,
    /** Runs in the same transaction, after the write (the audit row). */
    alsoInTransaction?: (change: { before: Site; after: Site; removed: BeaconRegistration[] }) => Promise<void>,
  ): Promise<{ site: Site; removed: BeaconRegistration[] }> {
    return this.db.transaction(async () => {
      const existing = await this.db.get<SiteRow>('SELECT * FROM sites WHERE id = ?', [siteId]);
      if (!existing) throw new SiteNotFoundError(siteId);
      const before = toSite(existing);
      // Ids are lower-case and fingerprints upper-case hex: either is found in any case.
      const id = ref.toLowerCase();
      const fingerprint = ref.toUpperCase().replace(/^SHA256:/, 'sha256:');
      const ids = [...new Set(before.beacons.filter((b) => beaconId(b) === id || keyFingerprint(beaconKey(b)) === fingerprint).map(beaconId))];
      if (ids.length === 0) throw new BeaconNotFoundError(siteId, ref);
      if (ids.length > 1) throw new BeaconAmbiguousError(ref, ids);
      const removed = before.beacons.filter((b) => beaconId(b) === ids[0]);
      const beacons = before.beacons.filter((b) => beaconId(b) !== ids[0]);
      if (beacons.length === 0 && factorsOf(before.policy.accept).includes('ble')) throw new LastBleBeaconError(siteId);
      const row = await this.writeBeacons(existing, beacons, now);
      const after = toSite(row);
      await alsoInTransaction?.({ before, after, removed });
      return { site: after, removed };
    });
  }

  /** Stores a site's new beacon list (inside the caller's transaction) and bumps the site revision. */
  private async writeBeacons(existing: SiteRow, beacons: readonly BeaconRegistration[], now: Date): Promise<SiteRow> {
    const row: SiteRow = { ...existing, beacons: JSON.stringify(beacons), updated_at: now.toISOString() };
    await this.db.run('UPDATE sites SET beacons = ?, updated_at = ? WHERE id = ?', [row.beacons, row.updated_at, row.id]);
    await this.db.run('UPDATE site_revision SET revision = revision + 1 WHERE id = 1');
    return row;
  }

  async get(id: string): Promise<Site | undefined> {
    const row = await this.db.get<SiteRow>('SELECT * FROM sites WHERE id = ?', [id]);
    return row ? toSite(row) : undefined;
  }

  /** Sites in id order, keyset-paged; `ids` limits the list to these (a site-scoped principal's reach). */
  async list(query: { limit: number; cursor?: string; ids?: readonly string[] }): Promise<{ sites: Site[]; nextCursor: string | null }> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 'string')[0];
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (after !== undefined) (where.push('id > ?'), params.push(after));
    if (query.ids) (where.push(query.ids.length ? `id IN (${query.ids.map(() => '?').join(', ')})` : '0'), params.push(...query.ids));
    const rows = await this.db.all<SiteRow>(`SELECT * FROM sites ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`, [...params, query.limit + 1]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.id]);
    return { sites: page.map(toSite), nextCursor };
  }

  /** Bumped by every site write, in the same transaction. */
  async revision(): Promise<number> {
    return (await this.db.get<{ revision: number }>('SELECT revision FROM site_revision WHERE id = 1'))?.revision ?? 0;
  }

  /**
   * A fingerprint of every site's stored row (SHA-256 of its name, time zone, policy, hands-free
   * setting and beacons: what gateways are told), by site id: whoever derives something from
   * sites can tell which ones changed.
   */
  async contentFingerprints(): Promise<Map<string, string>> {
    const rows = await this.db.all<SiteRow>('SELECT * FROM sites ORDER BY id');
    return new Map(
      rows.map((row) => [
        row.id,
        createHash('sha256').update(JSON.stringify([row.name, row.name_zh, row.time_zone, row.policy, row.beacons, row.hands_free, row.languages])).digest('hex'),
      ]),
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
