import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { z } from 'zod';
import { createRssiFilter, RssiFilterSettings, type RssiFilter } from './rssi-filter.js';

export type PresenceState = 'away' | 'near' | 'present';

/**
 * Why a tag changed state: `signal` (the filtered RSSI crossed a threshold), `quiet` (no advert for
 * `absentAfterMs`), `evicted` (a `near` tag dropped to make room under `maxTags`).
 */
export type TransitionReason = 'signal' | 'quiet' | 'evicted';

export interface PresenceTransition {
  tagId: string;
  from: PresenceState;
  to: PresenceState;
  /** Time of the decision, in ms on the tracker's clock. */
  at: number;
  /** The filtered RSSI (dBm) at the decision; for `quiet`, the last filtered value heard. */
  rssi: number;
  reason: TransitionReason;
  /** When the tag was last heard (ms): for a `quiet` away, the moment it actually fell silent. */
  lastSeenAt: number;
}

export const PresenceTrackerSettings = z
  .object({
    /** near -> present once the filtered RSSI is at least this (dBm)... */
    enterRssi: z.number().min(-127).max(20).default(-70),
    /** ...and present -> near once it is below this (dBm). Must be lower than enterRssi (hysteresis). */
    leaveRssi: z.number().min(-127).max(20).default(-80),
    /** Consecutive readings at or above enterRssi before present. */
    minReadings: z.number().int().min(1).default(3),
    /** And the first of those readings at least this long ago (ms): a passer-by is not present. */
    minDwellMs: z.number().int().min(0).default(2_000),
    /** Consecutive readings below leaveRssi before present -> near... */
    leaveReadings: z.number().int().min(1).default(3),
    /**
     * ...and the first of them at least this long ago (ms). Filtered RSSI dips are correlated over
     * a second or two, so a count of readings alone lets a signal hovering inside the band flap now
     * and then; a time dwell does not (test/unit/presence-tracker.test.ts, 100 seeds).
     */
    minLeaveMs: z.number().int().min(0).default(5_000),
    /** No advert for this long (ms) -> away. */
    absentAfterMs: z.number().int().positive().default(30_000),
    /** Most tags held at once (near + present): bounds memory whatever addresses the air carries. */
    maxTags: z.number().int().min(1).default(1_024),
    filter: RssiFilterSettings.default({ kind: 'kalman', processNoise: 2, measurementNoise: 25 }),
  })
  .refine((settings) => settings.enterRssi > settings.leaveRssi, {
    message: 'enterRssi must be higher than leaveRssi (hysteresis band)',
    path: ['leaveRssi'],
  });
export type PresenceTrackerSettings = z.input<typeof PresenceTrackerSettings>;

export interface PresenceTrackerOptions extends PresenceTrackerSettings {
  logger: Logger;
  /** The clock used when `observe`/`tick` are given no time (ms). Default Date.now. */
  now?: () => number;
  /** Builds each tag's RSSI filter; default from `filter`. */
  createFilter?: () => RssiFilter;
}

interface TagEntry {
  state: 'near' | 'present';
  filter: RssiFilter;
  /** Last filtered RSSI. */
  rssi: number;
  /** When it was last heard (ms). */
  heardAt: number;
  /** Start of its quiet period: heardAt, moved forward by the time the tracker was suspended. */
  lastSeen: number;
  /** Consecutive readings at or above enterRssi, and the time of the first of them. */
  strongReadings: number;
  strongSince: number | undefined;
  /** Consecutive readings below leaveRssi while present, and the time of the first of them. */
  weakReadings: number;
  weakSince: number | undefined;
}

export interface TagSnapshot {
  tagId: string;
  state: 'near' | 'present';
  rssi: number;
  lastSeen: number;
}

interface TrackerEvents {
  transition: [PresenceTransition];
}

/**
 * Per-tag presence: away -> near -> present and back, on filtered RSSI with hysteresis, a minimum
 * number of readings and dwell before present, and a quiet-period timeout to away.
 *
 * Time is data: `observe(tagId, rssi, at)` and `tick(at)` take the time; the tracker runs no timers.
 * The owner calls `tick` periodically (the scanner does, while it scans).
 *
 * Memory is bounded two ways:
 * - `away` is the absence of an entry: a tag that falls quiet is removed at its away transition, so
 *   a rotating or random address costs memory only while it is being heard;
 * - at most `maxTags` entries. When a new tag arrives at the cap, entries already past the quiet
 *   period leave first (with their `quiet` transition), then the least recently heard `near` entry
 *   is evicted (with a near -> away `evicted` transition). A `present` tag is never dropped to make
 *   room: a false leave would end someone's presence (and punch them out hands-free) while they are
 *   still there. If every entry is present, the new tag is refused (counted in `stats().refused`,
 *   logged) until room frees; the classifier names the tags we care about, so a table full of
 *   present tags means `maxTags` is set too low for the site.
 */
export class PresenceTracker extends EventEmitter<TrackerEvents> {
  /** Map order is least-recently-heard first: each reading moves its tag to the end. */
  private readonly entries = new Map<string, TagEntry>();
  private readonly settings: z.output<typeof PresenceTrackerSettings>;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly createFilter: () => RssiFilter;
  private suspendedAt: number | undefined;
  private refused = 0;
  private evicted = 0;
  private lastRefusalLog = -Infinity;

  constructor(options: PresenceTrackerOptions) {
    super();
    const { logger, now, createFilter, ...settings } = options;
    this.settings = PresenceTrackerSettings.parse(settings);
    this.logger = logger;
    this.now = now ?? Date.now;
    const filterSettings = this.settings.filter;
    this.createFilter = createFilter ?? (() => createRssiFilter(filterSettings));
  }

  /** Tags currently held (near or present). */
  get size(): number {
    return this.entries.size;
  }

  stateOf(tagId: string): PresenceState {
    return this.entries.get(tagId)?.state ?? 'away';
  }

  snapshot(): TagSnapshot[] {
    return [...this.entries].map(([tagId, entry]) => ({ tagId, state: entry.state, rssi: entry.rssi, lastSeen: entry.heardAt }));
  }

  stats(): { tracked: number; present: number; refused: number; evicted: number; suspended: boolean } {
    let present = 0;
    for (const entry of this.entries.values()) if (entry.state === 'present') present += 1;
    return { tracked: this.entries.size, present, refused: this.refused, evicted: this.evicted, suspended: this.suspendedAt !== undefined };
  }

  /** One advert of `tagId` heard at `rssi` dBm. Returns (and emits) the transitions it caused. */
  observe(tagId: string, rssi: number, at: number = this.now()): PresenceTransition[] {
    if (!Number.isFinite(rssi) || !Number.isFinite(at)) return [];
    const transitions: PresenceTransition[] = [];
    let entry = this.entries.get(tagId);
    if (entry) {
      this.entries.delete(tagId);
      this.entries.set(tagId, entry);
    } else {
      if (!this.makeRoom(at, transitions)) {
        this.refuse(tagId, at);
        this.emitAll(transitions);
        return transitions;
      }
      const filter = this.createFilter();
      entry = { state: 'near', filter, rssi, heardAt: at, lastSeen: at, strongReadings: 0, strongSince: undefined, weakReadings: 0, weakSince: undefined };
      this.entries.set(tagId, entry);
      entry.rssi = filter.update(rssi, at);
      transitions.push({ tagId, from: 'away', to: 'near', at, rssi: entry.rssi, reason: 'signal', lastSeenAt: at });
      this.evaluate(tagId, entry, at, transitions);
      this.emitAll(transitions);
      return transitions;
    }
    entry.rssi = entry.filter.update(rssi, at);
    entry.lastSeen = Math.max(entry.lastSeen, at);
    entry.heardAt = Math.max(entry.heardAt, at);
    this.evaluate(tagId, entry, at, transitions);
    this.emitAll(transitions);
    return transitions;
  }

  /**
   * Applies the quiet-period timeout at `at`: every tag unheard for `absentAfterMs` goes away.
   * Does nothing while suspended.
   */
  tick(at: number = this.now()): PresenceTransition[] {
    if (this.suspendedAt !== undefined) return [];
    const transitions: PresenceTransition[] = [];
    for (const [tagId, entry] of this.entries) {
      if (at - entry.lastSeen >= this.settings.absentAfterMs) this.leave(tagId, entry, at, 'quiet', transitions);
    }
    this.emitAll(transitions);
    return transitions;
  }

  /**
   * The radio stopped listening (adapter off, scanning stopped): silence is no evidence of absence,
   * so the quiet-period clock stops until `resume`. Without this, an adapter failure would send
   * everyone away (and punch them out).
   */
  suspend(at: number = this.now()): void {
    this.suspendedAt ??= at;
  }

  /** Listening again: each tag gets back the quiet time it had left when the radio stopped. */
  resume(at: number = this.now()): void {
    if (this.suspendedAt === undefined) return;
    const shift = Math.max(0, at - this.suspendedAt);
    this.suspendedAt = undefined;
    // A tag heard during the suspension (the radio was not quite dead) counts as heard now.
    for (const entry of this.entries.values()) entry.lastSeen = Math.min(entry.lastSeen + shift, at);
  }

  private evaluate(tagId: string, entry: TagEntry, at: number, transitions: PresenceTransition[]): void {
    const { enterRssi, leaveRssi, minReadings, minDwellMs, leaveReadings, minLeaveMs } = this.settings;
    if (entry.state === 'near') {
      if (entry.rssi >= enterRssi) {
        entry.strongReadings += 1;
        entry.strongSince ??= at;
        if (entry.strongReadings >= minReadings && at - entry.strongSince >= minDwellMs) {
          entry.state = 'present';
          entry.weakReadings = 0;
          entry.weakSince = undefined;
          transitions.push({ tagId, from: 'near', to: 'present', at, rssi: entry.rssi, reason: 'signal', lastSeenAt: entry.heardAt });
        }
      } else {
        entry.strongReadings = 0;
        entry.strongSince = undefined;
      }
      return;
    }
    if (entry.rssi < leaveRssi) {
      entry.weakReadings += 1;
      entry.weakSince ??= at;
      if (entry.weakReadings >= leaveReadings && at - entry.weakSince >= minLeaveMs) {
        entry.state = 'near';
        entry.strongReadings = 0;
        entry.strongSince = undefined;
        transitions.push({ tagId, from: 'present', to: 'near', at, rssi: entry.rssi, reason: 'signal', lastSeenAt: entry.heardAt });
      }
    } else {
      entry.weakReadings = 0;
      entry.weakSince = undefined;
    }
  }

  private leave(tagId: string, entry: TagEntry, at: number, reason: TransitionReason, transitions: PresenceTransition[]): void {
    this.entries.delete(tagId);
    transitions.push({ tagId, from: entry.state, to: 'away', at, rssi: entry.rssi, reason, lastSeenAt: entry.heardAt });
  }

  /** Frees one slot if the table is full; false when only present tags remain. */
  private makeRoom(at: number, transitions: PresenceTransition[]): boolean {
    if (this.entries.size < this.settings.maxTags) return true;
    if (this.suspendedAt === undefined) {
      // The least recently heard come first: those past the quiet period leave as they would at the next tick.
      for (const [tagId, entry] of this.entries) {
        if (at - entry.lastSeen < this.settings.absentAfterMs) break;
        this.leave(tagId, entry, at, 'quiet', transitions);
        if (this.entries.size < this.settings.maxTags) return true;
      }
    }
    for (const [tagId, entry] of this.entries) {
      if (entry.state === 'present') continue;
      this.evicted += 1;
      this.leave(tagId, entry, at, 'evicted', transitions);
      return true;
    }
    return false;
  }

  private refuse(tagId: string, at: number): void {
    this.refused += 1;
    if (at - this.lastRefusalLog >= 60_000) {
      this.lastRefusalLog = at;
      this.logger.warn({ tagId, maxTags: this.settings.maxTags, refused: this.refused }, 'presence table full of present tags; new tag not tracked (raise maxTags)');
    }
  }

  private emitAll(transitions: PresenceTransition[]): void {
    for (const transition of transitions) {
      this.logger.debug(transition, 'presence transition');
      this.emit('transition', transition);
    }
  }
}
