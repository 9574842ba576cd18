import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { credentialKey, normalizeCredential, type CardRead, type Credential } from '../core/credential.js';
import { newPunchId } from '../core/ids.js';
import type { Punch, PunchDirection, PunchMethod } from '../core/punch.js';
import { localDay } from '../core/time.js';
import type { Clock } from './clock.js';
import type { RosterIndex } from './roster-index.js';
import { dayCountKey, type Outbox, type PunchToCommit, type RefusedTap } from './store/outbox.js';

export type TapResult = 'accepted' | 'unknown' | 'revoked' | 'duplicate' | 'error';

export interface Tap {
  readerId: string;
  read: CardRead;
  method?: PunchMethod;
  /** Set by hands-free presence, which knows whether the person arrived or left; badges alternate. */
  direction?: 'in' | 'out';
  /**
   * The event happened this long before it reached the desk (a tag last heard minutes before its
   * absence became certain): the punch carries that earlier time, and its monotonic reading too.
   */
  occurredMsAgo?: number;
}

export interface TapOutcome {
  result: TapResult;
  readerId: string;
  credential?: Credential;
  /** The committed punch (accepted and unknown badges). */
  punch?: Punch;
  employee?: { id: string; name: string };
  /** Why a tap was refused or failed, for logs and screens. */
  reason?: string;
}

export interface PunchDeskOptions {
  deviceId: string;
  siteId: string;
  timeZone: string;
  debounceMs: number;
  direction: 'alternate' | 'auto';
  outbox: Outbox;
  roster: () => RosterIndex;
  clock: Clock;
  logger: Logger;
  /** Most taps committed in one transaction when taps queue up (group commit). */
  maxBatch?: number;
}

interface QueuedTap {
  tap: Tap;
  monotonicMs: number;
  resolve: (outcome: TapOutcome) => void;
}

interface DeskEvents {
  outcome: [TapOutcome];
}

/**
 * Turns badge reads into punches: resolve in the roster, debounce, decide in/out, commit to the
 * outbox. `submit` resolves only after the commit is on disk, so whatever the caller tells the
 * person afterwards (beep, screen) is true even if the power goes the next instant.
 */
export class PunchDesk extends EventEmitter<DeskEvents> {
  private readonly queue: QueuedTap[] = [];
  private draining: Promise<void> | undefined;
  /** credential key -> monotonic time of its last recorded tap; pruned past the window. */
  private readonly lastTap = new Map<string, number>();
  /** Punches per person on the current local day (all of them, read when the day begins), so direction needs no query per tap. */
  private punchesOnDay = { day: '', counts: new Map<string, number>() };
  private readonly logger: Logger;
  private readonly maxBatch: number;

  constructor(private options: PunchDeskOptions) {
    super();
    this.logger = options.logger;
    this.maxBatch = options.maxBatch ?? 256;
  }

  /**
   * A pushed config changed the site or the punch rules: taps from the next batch on use them
   * (a batch reads its settings once, so it is never half old, half new).
   */
  updateSettings(settings: Partial<Pick<PunchDeskOptions, 'siteId' | 'timeZone' | 'debounceMs' | 'direction'>>): void {
    this.options = { ...this.options, ...settings };
  }

  /**
   * After a restart: taps just before it still debounce taps just after it, and today's punch
   * counts are read now, not by the first tap.
   */
  async restoreAfterRestart(): Promise<void> {
    const { clock, debounceMs, outbox, timeZone } = this.options;
    const day = localDay(clock.now(), timeZone);
    this.punchesOnDay = { day, counts: await outbox.countsOnDay(day) };
    if (debounceMs <= 0) return;
    const nowWall = clock.now().getTime();
    const nowMono = clock.monotonicMs();
    for (const recent of await outbox.since(new Date(nowWall - debounceMs).toISOString(), new Date(nowWall).toISOString())) {
      const age = nowWall - Date.parse(recent.at);
      if (age >= 0) this.lastTap.set(recent.credentialKey, nowMono - age);
    }
  }

  submit(tap: Tap): Promise<TapOutcome> {
    return new Promise((resolve) => {
      this.queue.push({ tap, monotonicMs: this.options.clock.monotonicMs(), resolve });
      // drain() clears `draining` in the same tick in which it sees the queue empty, so a tap
      // queued after that starts a new drain instead of waiting on a finished one.
      this.draining ??= this.drain();
    });
  }

  /** Resolves when every submitted tap has its outcome. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      let outcomes: TapOutcome[];
      try {
        outcomes = await this.processBatch(batch);
      } catch (error) {
        // A failure before the commit (the store gone, a query failing): nothing was recorded.
        this.logger.error({ err: error, taps: batch.length }, 'could not process taps; nothing was recorded');
        outcomes = batch.map(({ tap }) => ({ result: 'error', readerId: tap.readerId, reason: 'could not record the punch' }));
      }
      batch.forEach((queued, index) => {
        const outcome = outcomes[index] as TapOutcome;
        queued.resolve(outcome);
        this.emit('outcome', outcome);
      });
    }
    this.draining = undefined;
  }

  private async processBatch(batch: QueuedTap[]): Promise<TapOutcome[]> {
    const { outbox, clock, timeZone, deviceId, siteId, debounceMs, direction: directionRule } = this.options;
    const roster = this.options.roster();
    const outcomes: TapOutcome[] = [];
    const toCommit: Array<{ index: number; item: PunchToCommit }> = [];
    const refused: RefusedTap[] = [];
    /** Outcomes that are true only if the commit succeeds. */
    const dependsOnCommit = new Set<number>();
    const tappedNow = new Map<string, number>();
    const now = clock.now();
    const at = now.toISOString();
    const day = localDay(now, timeZone);
    // Read once when the day begins (or the gateway starts): no query per person on the tap path.
    if (this.punchesOnDay.day !== day) this.punchesOnDay = { day, counts: await outbox.countsOnDay(day) };
    // Counts taken in this batch become true only if the commit succeeds.
    const punchesToday = new Map(this.punchesOnDay.counts);
    this.pruneDebounce();

    for (const [index, queued] of batch.entries()) {
      const { tap } = queued;
      let credential: Credential;
      try {
        credential = normalizeCredential(tap.read);
      } catch (error) {
        outcomes.push({ result: 'error', readerId: tap.readerId, reason: (error as Error).message });
        continue;
      }
      const key = credentialKey(credential);
      const previous = tappedNow.get(key) ?? this.lastTap.get(key);
      const resolution = roster.resolve(credential);
      const employee = resolution.status === 'unknown' ? undefined : { id: resolution.entry.employeeId, name: resolution.entry.name };
      if (previous !== undefined && queued.monotonicMs - previous < debounceMs) {
        outcomes.push({ result: resolution.status === 'revoked' ? 'revoked' : 'duplicate', readerId: tap.readerId, credential, ...(employee ? { employee } : {}), reason: 'already recorded moments ago' });
        continue;
      }
      tappedNow.set(key, queued.monotonicMs);
      if (resolution.status === 'revoked') {
        refused.push({ id: randomUUID(), at, readerId: tap.readerId, credentialKey: key, employeeId: resolution.entry.employeeId, reason: 'revoked badge' });
        dependsOnCommit.add(index);
        outcomes.push({ result: 'revoked', readerId: tap.readerId, credential, ...(employee ? { employee } : {}), reason: 'badge revoked' });
        continue;
      }
      const agoMs = Math.max(0, tap.occurredMsAgo ?? 0);
      const tapTime = agoMs > 0 ? new Date(now.getTime() - agoMs) : now;
      const tapDay = agoMs > 0 ? localDay(tapTime, timeZone) : day;
      const personKey = dayCountKey(employee?.id ?? null, key);
      // Counted on the day the punch belongs to, so badge taps keep alternating around it.
      const counts = tapDay === day ? punchesToday : new Map<string, number>();
      let count = counts.get(personKey);
      // Today's counts are all known; an earlier day's (a tap that waited past midnight) is asked for.
      if (count === undefined) count = tapDay === day ? 0 : await outbox.countOnDay({ employeeId: employee?.id ?? null, credentialKey: key }, tapDay);
      counts.set(personKey, count + 1);
      const direction: PunchDirection = tap.direction ?? (directionRule === 'auto' ? 'auto' : count % 2 === 0 ? 'in' : 'out');
      toCommit.push({
        index,
        item: {
          credentialKey: key,
          localDay: tapDay,
          bootId: clock.bootId(),
          monoMs: queued.monotonicMs - agoMs,
          punch: {
            id: newPunchId(),
            deviceId,
            siteId,
            credential,
            employeeId: employee?.id ?? null,
            at: agoMs > 0 ? tapTime.toISOString() : at,
            clock: { synced: clock.synced() },
            method: tap.method ?? 'badge',
            direction,
          },
        },
      });
      dependsOnCommit.add(index);
      outcomes.push({ result: employee ? 'accepted' : 'unknown', readerId: tap.readerId, credential, ...(employee ? { employee } : {}) });
    }

    if (toCommit.length === 0 && refused.length === 0) return outcomes;
    try {
      const committed = await outbox.commit(
        toCommit.map((entry) => entry.item),
        refused,
      );
      committed.forEach((punch, position) => {
        const index = toCommit[position]?.index;
        const outcome = index === undefined ? undefined : outcomes[index];
        if (outcome) outcome.punch = punch;
      });
      for (const [key, monotonicMs] of tappedNow) this.lastTap.set(key, monotonicMs);
      if (this.punchesOnDay.day === day) this.punchesOnDay.counts = punchesToday;
      return outcomes;
    } catch (error) {
      this.logger.error({ err: error, taps: batch.length }, 'could not commit punches; nothing was recorded');
      return outcomes.map((outcome, index) =>
        dependsOnCommit.has(index)
          ? { result: 'error', readerId: outcome.readerId, ...(outcome.credential ? { credential: outcome.credential } : {}), reason: 'could not record the punch' }
          : outcome,
      );
    }
  }

  private pruneDebounce(): void {
    const horizon = this.options.clock.monotonicMs() - this.options.debounceMs;
    for (const [key, monotonicMs] of this.lastTap) {
      if (monotonicMs < horizon) this.lastTap.delete(key);
    }
  }
}
