import { randomBytes } from 'node:crypto';
import type { Punch } from '../../core/punch.js';

/**
 * The live feed of committed punches: ingest (gateways' batches) and the mobile desk tell it what
 * they have just committed, right after the commit and before anything else happens, and it hands
 * each punch to every subscriber whose filter takes it (a live-feed HTTP stream, scoped to the
 * sites its principal reaches). Nothing polls the database.
 *
 * Each event gets an id `BOOT-SEQ`: BOOT is made at each start, SEQ counts up. The last
 * `replayLimit` events are kept, so that a client reconnecting with `Last-Event-ID` gets what it
 * missed; an id from another start, or one older than what is kept, cannot be replayed (the
 * client should reload the list from `GET /api/v1/punches`).
 *
 * Committers skip finding out which punches were new while nobody has listened for a while
 * ({@link PunchFeed.wanted}), so a dashboard nobody watches pays nothing for the feed.
 *
 * Publishing is synchronous and cheap: a punch is serialised once, whoever listens, and a
 * subscriber must not block (the HTTP stream queues, bounded, and drops the oldest).
 */

/** What a subscriber receives: the punch and its serialised event data, made once for all. */
export interface LivePunchEvent {
  /** `BOOT-SEQ`, the SSE `id:`. */
  id: string;
  seq: number;
  punch: Punch;
  /** When the commit that stored it was on disk (server clock, ISO-8601 UTC). */
  committedAt: string;
  /** `{"punch": ..., "committedAt": ...}`: the SSE `data:` line. */
  data: string;
}

export type LivePunchFilter = (punch: Punch) => boolean;
export type LivePunchListener = (event: LivePunchEvent) => void;

/** What the committers (PunchIngest, MobilePunchDesk) see of the feed. */
export interface CommittedPunchSink {
  /** Whether anyone listens: a committer may skip finding out which punches were new when nobody does. */
  wanted(): boolean;
  /** Punches that are now durably stored and were not before (no duplicates of a re-sent batch). */
  committed(punches: readonly Punch[]): void;
}

export type ReplayResult = { ok: true; events: LivePunchEvent[] } | { ok: false; reason: string };

export interface PunchFeedOptions {
  /** Events kept for `Last-Event-ID` (default 2000: ten seconds at 200 punches/s). */
  replayLimit?: number;
  /**
   * How long after the last subscriber left the feed still records events (default 60 s), so that
   * a client that reconnects with `Last-Event-ID` gets what was committed in between.
   */
  graceMs?: number;
  now?: () => Date;
}

interface Subscriber {
  filter: LivePunchFilter;
  listener: LivePunchListener;
}

export class PunchFeed implements CommittedPunchSink {
  /** Made at each start: ids from before a restart are recognised as such. */
  readonly bootId = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly subscribers = new Set<Subscriber>();
  private readonly recent: LivePunchEvent[] = [];
  private readonly replayLimit: number;
  private readonly graceMs: number;
  private lastLeftAt = Number.NEGATIVE_INFINITY;
  /** Events up to this seq may have been followed by commits the feed was not told of. */
  private gapAfter = -1;
  private readonly now: () => Date;
  readonly counters = { published: 0, delivered: 0 };

  constructor(options: PunchFeedOptions = {}) {
    this.replayLimit = options.replayLimit ?? 2000;
    this.graceMs = options.graceMs ?? 60_000;
    this.now = options.now ?? ((): Date => new Date());
  }

  /** Subscribers now (an HTTP stream that ended must have unsubscribed). */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** The id of the newest event, or undefined before the first. */
  get lastEventId(): string | undefined {
    return this.seq === 0 ? undefined : `${this.bootId}-${this.seq}`;
  }

  wanted(): boolean {
    if (this.subscribers.size > 0 || performance.now() - this.lastLeftAt < this.graceMs) return true;
    // The committer will not say what it stores now: a Last-Event-ID from before cannot be replayed.
    this.gapAfter = this.seq;
    return false;
  }

  committed(punches: readonly Punch[]): void {
    if (punches.length === 0) return;
    const committedAt = this.now().toISOString();
    for (const punch of punches) {
      this.seq += 1;
      const event: LivePunchEvent = { id: `${this.bootId}-${this.seq}`, seq: this.seq, punch, committedAt, data: JSON.stringify({ punch, committedAt }) };
      this.recent.push(event);
      this.counters.published += 1;
      for (const subscriber of this.subscribers) {
        if (!subscriber.filter(punch)) continue;
        this.counters.delivered += 1;
        try {
          subscriber.listener(event);
        } catch {
          // A listener's failure is its own: the others still get the punch.
        }
      }
    }
    if (this.recent.length > this.replayLimit) this.recent.splice(0, this.recent.length - this.replayLimit);
  }

  /** Listens until the returned function is called (call it when the stream ends, or it leaks). */
  subscribe(filter: LivePunchFilter, listener: LivePunchListener): () => void {
    const subscriber: Subscriber = { filter, listener };
    this.subscribers.add(subscriber);
    return () => {
      if (this.subscribers.delete(subscriber)) this.lastLeftAt = performance.now();
    };
  }

  /** The kept events after `lastEventId` that pass `filter`, or why they cannot be had. */
  replay(lastEventId: string, filter: LivePunchFilter): ReplayResult {
    const match = /^([0-9a-f]+)-(\d+)$/.exec(lastEventId.trim());
    if (!match || match[1] !== this.bootId) return { ok: false, reason: 'the last event id is not from this server run (it restarted); reload the punch list' };
    const after = Number(match[2]);
    if (!Number.isSafeInteger(after) || after > this.seq) return { ok: false, reason: 'the last event id is not one this server gave out' };
    if (after <= this.gapAfter) return { ok: false, reason: 'punches were committed since then while nobody watched the feed; reload the punch list' };
    const oldest = this.recent[0]?.seq ?? this.seq + 1;
    if (after < oldest - 1) return { ok: false, reason: `events after ${lastEventId} are no longer kept (only the last ${this.replayLimit}); reload the punch list` };
    return { ok: true, events: this.recent.filter((event) => event.seq > after && filter(event.punch)) };
  }
}
