import { Aes128Block, keyFromHex } from './aes-block.js';
import {
  BeaconObservation,
  BeaconRegistrations,
  canonicalIBeaconUuid,
  type BeaconObservationInput,
  type BeaconRegistration,
  type BeaconRegistrationInput,
} from './beacon-registry.js';
import { EID_COUNTER_LIMIT, eidBlock, temporaryKeyBlock, TEMPORARY_KEY_PERIOD_SECONDS } from './eddystone-eid.js';
import { rotatingMinorBlock, IBEACON_STEP_LIMIT } from './rotating-ibeacon.js';

/**
 * Resolves an observed rotating beacon id (an Eddystone EID, or an iBeacon uuid/major/minor) at an
 * observation time to the registered beacon that advertises it. Pure: no clock, no I/O; callers
 * pass the time.
 *
 * Windows: a beacon with exponent K advertises one id per window of 2^K seconds. The resolver
 * accepts the beacon's window at the observation time (offset 0) and the two adjacent ones
 * (offset -1, +1) for clock skew. An id from a window further away (older, within the look-back,
 * or ahead, within the look-ahead) is refused as 'expired' (replayed or stale); an id no
 * registration produces anywhere in that range is 'unknown'; an id that two sites both produce in
 * their accepted windows is 'ambiguous' (a collision, mostly 16-bit minors).
 *
 * Cost: for each (kind, K) group the ids of the accepted windows are precomputed into one
 * Map<id, entries> per unix-aligned bucket of 2^K seconds and kept in a small LRU cache, so an
 * observation costs one Map lookup per group, not one AES per registration. The wider range for
 * 'expired' is an index built only when an id misses the fast tables, then slid incrementally as
 * the time moves (one new AES per registration per window), bounded by `maxLookWindows`.
 */

export interface BeaconResolverOptions {
  /** How far back an id is still recognised, to be reported 'expired' rather than 'unknown'. Default 24 h. */
  lookBackSeconds?: number;
  /** How far ahead (a beacon or phone clock wrong by more than a window). Default 1 h. */
  lookAheadSeconds?: number;
  /**
   * Cap on the windows examined each way per registration, whatever the seconds above say
   * (K = 0 and 24 h would be 86400 AES per beacon). Offsets ±2 are always examined. Default 1024.
   */
  maxLookWindows?: number;
  /** How many per-bucket tables of accepted ids to keep. Default 32. */
  maxCachedTables?: number;
}

export interface BeaconWindow {
  /** The registration's window index: EID counter >>> K, or the iBeacon step floor(unix / 2^K). */
  index: number;
  /** First second of the window and the first second after it, unix seconds (end exclusive). */
  startUnix: number;
  endUnix: number;
  /** The same as ISO-8601 UTC. */
  start: string;
  end: string;
}

export interface BeaconCandidate {
  siteId: string;
  gatewayId?: string;
  kind: BeaconRegistration['kind'];
  /** Position in the registrations given to the resolver. */
  registration: number;
  window: BeaconWindow;
  /** Window index of the id minus the registration's window index at the observation time. */
  offset: number;
}

export type BeaconResolution =
  | {
      ok: true;
      siteId: string;
      /** Present when every matching registration names the same gateway (EID beacons). */
      gatewayId?: string;
      kind: BeaconRegistration['kind'];
      window: BeaconWindow;
      offset: -1 | 0 | 1;
    }
  | { ok: false; reason: 'unknown' }
  /** The id belongs to a window beyond the adjacent ones: replayed or expired. Nearest first. */
  | { ok: false; reason: 'expired'; candidates: BeaconCandidate[] }
  /** Two or more sites produce this id in their accepted windows: not evidence for either. */
  | { ok: false; reason: 'ambiguous'; candidates: BeaconCandidate[] };

export interface BeaconResolverStats {
  /** Per-bucket tables of accepted ids built (each costs a few AES per registration of its group). */
  tablesBuilt: number;
  /** Ids (EIDs or minors) computed, all tiers together. */
  idsComputed: number;
  /** Times the look-back/look-ahead index was built or slid. */
  lookIndexUpdates: number;
}

interface Registration {
  index: number;
  siteId: string;
  gatewayId?: string;
  kind: BeaconRegistration['kind'];
  rotationExponent: number;
  period: number;
  /** Unix time of window 0's start: the EID epoch, or 0 for iBeacon steps. */
  epoch: number;
  /** Largest valid window index (32-bit counter or step). */
  maxWindow: number;
  key: Aes128Block;
  /** iBeacon: `I:UUID:major:` to which the minor is appended. */
  idPrefix: string;
  /** EID: the temporary key of one 65536 s span, cached as the spec recommends. */
  tk?: { span: number; cipher: Aes128Block };
}

interface Entry {
  registration: Registration;
  window: number;
}

interface Group {
  kind: BeaconRegistration['kind'];
  rotationExponent: number;
  period: number;
  registrations: Registration[];
  look?: LookIndex;
}

interface LookIndex {
  bucket: number;
  table: Map<string, Entry[]>;
  /** Per registration: the indexed window range and the id of each window in it. */
  ranges: Map<Registration, { lo: number; hi: number; ids: Map<number, string> }>;
}

export class BeaconResolver {
  readonly #groups = new Map<string, Group>();
  readonly #tables = new Map<string, Map<string, Entry[]>>();
  readonly #lookBackSeconds: number;
  readonly #lookAheadSeconds: number;
  readonly #maxLookWindows: number;
  readonly #maxCachedTables: number;
  readonly #stats: BeaconResolverStats = { tablesBuilt: 0, idsComputed: 0, lookIndexUpdates: 0 };

  /** Validates the registrations (throws a ZodError naming the bad one) and prepares their keys. */
  constructor(registrations: readonly BeaconRegistrationInput[], options: BeaconResolverOptions = {}) {
    this.#lookBackSeconds = nonNegative(options.lookBackSeconds ?? 86_400, 'lookBackSeconds');
    this.#lookAheadSeconds = nonNegative(options.lookAheadSeconds ?? 3_600, 'lookAheadSeconds');
    this.#maxLookWindows = Math.max(2, Math.floor(nonNegative(options.maxLookWindows ?? 1024, 'maxLookWindows')));
    this.#maxCachedTables = Math.max(1, Math.floor(nonNegative(options.maxCachedTables ?? 32, 'maxCachedTables')));

    BeaconRegistrations.parse(registrations).forEach((registration, index) => {
      const period = 2 ** registration.rotationExponent;
      const prepared: Registration =
        registration.kind === 'eid'
          ? {
              index,
              siteId: registration.siteId,
              ...(registration.gatewayId === undefined ? {} : { gatewayId: registration.gatewayId }),
              kind: 'eid',
              rotationExponent: registration.rotationExponent,
              period,
              epoch: registration.epochUnixSeconds,
              maxWindow: EID_COUNTER_LIMIT / period - 1,
              key: new Aes128Block(keyFromHex(registration.identityKey)),
              idPrefix: '',
            }
          : {
              index,
              siteId: registration.siteId,
              kind: 'ibeacon-minor',
              rotationExponent: registration.rotationExponent,
              period,
              epoch: 0,
              maxWindow: IBEACON_STEP_LIMIT - 1,
              key: new Aes128Block(keyFromHex(registration.siteKey)),
              idPrefix: iBeaconIdPrefix(registration.uuid, registration.major),
            };
      const groupKey = `${prepared.kind}:${prepared.rotationExponent}`;
      let group = this.#groups.get(groupKey);
      if (!group) {
        group = { kind: prepared.kind, rotationExponent: prepared.rotationExponent, period, registrations: [] };
        this.#groups.set(groupKey, group);
      }
      group.registrations.push(prepared);
    });
  }

  /**
   * Resolve one observation at a time given as a Date or unix seconds. The observation is
   * validated (throws a ZodError for a malformed EID, UUID, major or minor).
   */
  resolve(observation: BeaconObservationInput, at: Date | number): BeaconResolution {
    const parsed = BeaconObservation.parse(observation);
    const key = parsed.kind === 'eid' ? `E:${parsed.eid}` : `${iBeaconIdPrefix(parsed.uuid, parsed.major)}${parsed.minor}`;
    const kind: BeaconRegistration['kind'] = parsed.kind === 'eid' ? 'eid' : 'ibeacon-minor';
    const unix = Math.floor(typeof at === 'number' ? at : at.getTime() / 1000);
    if (!Number.isFinite(unix)) throw new RangeError('observation time is not a valid time');

    const accepted: BeaconCandidate[] = [];
    for (const [groupKey, group] of this.#groups) {
      if (group.kind !== kind) continue;
      const hits = this.#acceptedTable(groupKey, group, Math.floor(unix / group.period)).get(key);
      for (const hit of hits ?? []) {
        const offset = hit.window - windowAt(hit.registration, unix);
        if (Math.abs(offset) <= 1) accepted.push(candidate(hit, offset));
      }
    }
    if (accepted.length > 0) return decideAccepted(accepted);

    const refused: BeaconCandidate[] = [];
    for (const group of this.#groups.values()) {
      if (group.kind !== kind) continue;
      const { back, ahead } = this.#lookWindows(group.period);
      const hits = this.#lookIndex(group, Math.floor(unix / group.period)).table.get(key);
      for (const hit of hits ?? []) {
        const offset = hit.window - windowAt(hit.registration, unix);
        if ((offset <= -2 && offset >= -back) || (offset >= 2 && offset <= ahead)) refused.push(candidate(hit, offset));
      }
    }
    if (refused.length > 0) {
      refused.sort((a, b) => Math.abs(a.offset) - Math.abs(b.offset) || a.registration - b.registration);
      return { ok: false, reason: 'expired', candidates: refused };
    }
    return { ok: false, reason: 'unknown' };
  }

  /** Counters for tests and benchmarks: how much AES the resolver has done. */
  stats(): BeaconResolverStats {
    return { ...this.#stats };
  }

  /** Windows examined beyond the adjacent ones, back and ahead, for a period. */
  #lookWindows(period: number): { back: number; ahead: number } {
    const windows = (seconds: number): number => Math.min(this.#maxLookWindows, Math.max(2, Math.ceil(seconds / period)));
    return { back: windows(this.#lookBackSeconds), ahead: windows(this.#lookAheadSeconds) };
  }

  /**
   * The ids every registration of the group may show, with offset -1..+1, at some second of the
   * unix bucket [bucket·2^K, (bucket+1)·2^K). An EID epoch not aligned on 2^K makes a bucket
   * straddle two of the beacon's windows, so up to four windows per registration.
   */
  #acceptedTable(groupKey: string, group: Group, bucket: number): Map<string, Entry[]> {
    const cacheKey = `${groupKey}:${bucket}`;
    const cached = this.#tables.get(cacheKey);
    if (cached) {
      // Refresh its place in the LRU order.
      this.#tables.delete(cacheKey);
      this.#tables.set(cacheKey, cached);
      return cached;
    }
    const table = new Map<string, Entry[]>();
    const bucketStart = bucket * group.period;
    for (const registration of group.registrations) {
      const first = windowAt(registration, bucketStart);
      const last = windowAt(registration, bucketStart + group.period - 1);
      for (let window = first - 1; window <= last + 1; window++) {
        const id = this.#idOf(registration, window);
        if (id !== undefined) addEntry(table, id, { registration, window });
      }
    }
    this.#stats.tablesBuilt++;
    this.#tables.set(cacheKey, table);
    while (this.#tables.size > this.#maxCachedTables) {
      const oldest = this.#tables.keys().next().value;
      if (oldest === undefined) break;
      this.#tables.delete(oldest);
    }
    return table;
  }

  /**
   * The look-back/look-ahead index of a group for a bucket: windows first-back .. last+ahead of
   * every registration. Built on the first miss, then slid: moving one bucket costs about one id
   * per registration; a jump (an observation far in the past) rebuilds, bounded by the window cap.
   */
  #lookIndex(group: Group, bucket: number): LookIndex {
    const index = (group.look ??= { bucket: Number.NaN, table: new Map(), ranges: new Map() });
    if (index.bucket === bucket) return index;
    const { back, ahead } = this.#lookWindows(group.period);
    const bucketStart = bucket * group.period;
    for (const registration of group.registrations) {
      const lo = windowAt(registration, bucketStart) - back;
      const hi = windowAt(registration, bucketStart + group.period - 1) + ahead;
      let range = index.ranges.get(registration);
      if (!range) {
        range = { lo, hi: lo - 1, ids: new Map() };
        index.ranges.set(registration, range);
      }
      for (const [window, id] of range.ids) {
        if (window < lo || window > hi) {
          removeEntry(index.table, id, registration, window);
          range.ids.delete(window);
        }
      }
      for (let window = lo; window <= hi; window++) {
        if (range.ids.has(window)) continue;
        const id = this.#idOf(registration, window);
        if (id === undefined) continue;
        range.ids.set(window, id);
        addEntry(index.table, id, { registration, window });
      }
      range.lo = lo;
      range.hi = hi;
    }
    index.bucket = bucket;
    this.#stats.lookIndexUpdates++;
    return index;
  }

  /** The id a registration advertises in one of its windows, or undefined outside the 32-bit range. */
  #idOf(registration: Registration, window: number): string | undefined {
    if (window < 0 || window > registration.maxWindow) return undefined;
    this.#stats.idsComputed++;
    if (registration.kind === 'ibeacon-minor') {
      const minor = registration.key.encrypt(rotatingMinorBlock(registration.rotationExponent, window)).readUInt16BE(0);
      return `${registration.idPrefix}${minor}`;
    }
    const counter = window * registration.period;
    const span = Math.floor(counter / TEMPORARY_KEY_PERIOD_SECONDS);
    if (registration.tk?.span !== span) {
      registration.tk = { span, cipher: new Aes128Block(registration.key.encrypt(temporaryKeyBlock(counter))) };
    }
    const eid = registration.tk.cipher.encrypt(eidBlock(registration.rotationExponent, counter)).subarray(0, 8);
    return `E:${eid.toString('hex').toUpperCase()}`;
  }
}

function iBeaconIdPrefix(uuid: string, major: number): string {
  return `I:${canonicalIBeaconUuid(uuid)}:${major}:`;
}

/** The registration's window index at a unix second. */
function windowAt(registration: Registration, unix: number): number {
  return Math.floor((unix - registration.epoch) / registration.period);
}

function windowOf(registration: Registration, index: number): BeaconWindow {
  const startUnix = registration.epoch + index * registration.period;
  const endUnix = startUnix + registration.period;
  return {
    index,
    startUnix,
    endUnix,
    start: new Date(startUnix * 1000).toISOString(),
    end: new Date(endUnix * 1000).toISOString(),
  };
}

function candidate(entry: Entry, offset: number): BeaconCandidate {
  const { registration } = entry;
  return {
    siteId: registration.siteId,
    ...(registration.gatewayId === undefined ? {} : { gatewayId: registration.gatewayId }),
    kind: registration.kind,
    registration: registration.index,
    window: windowOf(registration, entry.window),
    offset,
  };
}

/**
 * Accepted candidates to one answer: each registration keeps its nearest window (0 before ±1);
 * more than one site is 'ambiguous'; one site is a match, naming the gateway only if all agree.
 */
function decideAccepted(accepted: BeaconCandidate[]): BeaconResolution {
  const best = new Map<number, BeaconCandidate>();
  for (const found of accepted) {
    const kept = best.get(found.registration);
    if (!kept || Math.abs(found.offset) < Math.abs(kept.offset) || (Math.abs(found.offset) === Math.abs(kept.offset) && found.offset < kept.offset)) {
      best.set(found.registration, found);
    }
  }
  const candidates = [...best.values()].sort(
    (a, b) => Math.abs(a.offset) - Math.abs(b.offset) || a.offset - b.offset || a.registration - b.registration,
  );
  const sites = new Set(candidates.map((found) => found.siteId));
  if (sites.size > 1) return { ok: false, reason: 'ambiguous', candidates };
  const [first] = candidates;
  if (!first) return { ok: false, reason: 'unknown' };
  const gateways = new Set(candidates.map((found) => found.gatewayId));
  const gatewayId = gateways.size === 1 ? first.gatewayId : undefined;
  return {
    ok: true,
    siteId: first.siteId,
    ...(gatewayId === undefined ? {} : { gatewayId }),
    kind: first.kind,
    window: first.window,
    offset: first.offset as -1 | 0 | 1,
  };
}

function addEntry(table: Map<string, Entry[]>, id: string, entry: Entry): void {
  const list = table.get(id);
  if (list) list.push(entry);
  else table.set(id, [entry]);
}

function removeEntry(table: Map<string, Entry[]>, id: string, registration: Registration, window: number): void {
  const list = table.get(id);
  if (!list) return;
  const kept = list.filter((entry) => entry.registration !== registration || entry.window !== window);
  if (kept.length > 0) table.set(id, kept);
  else table.delete(id);
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}
