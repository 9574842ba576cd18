import type { Logger } from 'pino';
import { z } from 'zod';
import type { Credential } from '../../core/credential.js';
import type { RosterEntry } from '../../core/roster.js';
import type { Resolution } from '../roster-index.js';
import type { PresenceState, PresenceTracker, PresenceTransition } from './presence-tracker.js';

export const HandsFreeSettings = z.object({
  /** Hands-free punching is opt-in per site: off unless the config turns it on. */
  enabled: z.boolean().default(false),
  /** A tag away (quiet) for this long (ms) after its away transition punches its owner out. */
  punchOutAfterMs: z.number().int().min(0).default(10 * 60_000),
  /** The reader id hands-free punches carry (PunchDesk `Tap.readerId`), for logs and screens. */
  readerId: z.string().min(1).default('ble-presence'),
  /** A punch that could not be recorded (recordPunch threw or rejected) is tried again after this long (ms). */
  retryMs: z.number().int().positive().default(60_000),
});
export type HandsFreeSettings = z.input<typeof HandsFreeSettings>;

/**
 * One hands-free punch request, shaped to be a PunchDesk `Tap` as it is (`readerId`, `read`,
 * `method`, `direction`, `occurredMsAgo`), so it can go straight to `desk.submit`; `credential`,
 * `at`, `employeeId` and `seenAt` say what hands-free decided, for logs and other sinks.
 */
export interface BlePunchRequest {
  readerId: string;
  read: { kind: 'ble-tag'; uid: string };
  credential: Credential & { kind: 'ble-tag' };
  method: 'ble';
  direction: 'in' | 'out';
  /**
   * When the punch happened (ISO-8601 UTC): in, when the tag became present; out, when the tag
   * was last heard (not when its absence became certain, minutes later).
   */
  at: string;
  /** How long before the request `at` was (ms): 0 for in; for out, the quiet and away periods. */
  occurredMsAgo: number;
  /** The employee the roster names for the tag, when hands-free decided. */
  employeeId: string;
  /** When the tag was last heard (ISO-8601 UTC). */
  seenAt: string;
}

/** Records one punch; must throw or reject when the punch was NOT recorded (it is then retried). */
export type RecordPunch = (request: BlePunchRequest) => unknown;

/** Recorded consent of an employee to BLE tag tracking (PDPO: opt-in per employee). */
export interface ConsentRecord {
  /** When the consent was recorded (ISO-8601). Empty or missing: no consent. */
  recordedAt: string;
}

export interface HandsFreeOptions extends HandsFreeSettings {
  /** The roster in force (PunchDesk's `roster` getter fits). Read at every decision. */
  roster: () => { resolve(credential: Credential): Resolution };
  /**
   * The employee's recorded consent, or null/undefined: none. Read at every decision. Default: the
   * roster entry's `bleConsentAt` (when the roster carries it).
   */
  consent?: (entry: RosterEntry) => ConsentRecord | null | undefined;
  recordPunch: RecordPunch;
  logger: Logger;
  /** Clock in ms for `tick()` without an argument (default Date.now); use the tracker's clock. */
  now?: () => number;
}

interface EmployeeState {
  /** Tags of this employee not away, with their state. */
  tags: Map<string, Exclude<PresenceState, 'away'>>;
  /** Hands-free punched this employee in and has not punched them out. */
  clockedIn: boolean;
  /** The tag whose leaving will punch out, and when it was last heard. */
  lastTagId: string;
  lastSeenAt: number;
  /** When to punch out (all tags away) or retry a failed punch in. */
  outDueAt: number | undefined;
  inRetryAt: number | undefined;
  /** When a tag last became present: the time a (retried) punch in carries. */
  presentAt: number | undefined;
}

const HEX = /^(?:[0-9A-F]{2})+$/;

/**
 * Hands-free punching with staff BLE tags.
 *
 * - Off by default (`enabled: false`); `updateSettings` turns it on or off at run time.
 * - Only for a tag the roster names as an active `ble-tag` credential whose employee has recorded
 *   consent (`consent(entry)`, by default the entry's `bleConsentAt`); both are checked at every
 *   decision, so a withdrawn consent or a
 *   revoked tag stops punching at once, including a pending punch out (no punch at all without
 *   consent; the person then punches out by badge).
 * - A `present` transition punches in (once: hands-free remembers whom it clocked in).
 * - When every tag of a clocked-in employee is away, a punch out falls due `punchOutAfterMs` after
 *   the away transition; any tag heard again before that (near or present) cancels it. The punch
 *   out carries the time the tag was last heard (`at`, and `occurredMsAgo` for the desk).
 *
 * What it remembers lives in memory, bounded by the consenting roster: after a gateway restart a
 * person already present is punched in again. Time is data: `handle` takes the transition's time,
 * `tick(now)` fires due punches; it runs no timers of its own.
 */
export class HandsFree {
  private settings: z.output<typeof HandsFreeSettings>;
  private readonly employees = new Map<string, EmployeeState>();
  private readonly roster: HandsFreeOptions['roster'];
  private readonly consent: (entry: RosterEntry) => ConsentRecord | null | undefined;
  private readonly recordPunch: RecordPunch;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(options: HandsFreeOptions) {
    const { roster, consent, recordPunch, logger, now, ...settings } = options;
    this.settings = HandsFreeSettings.parse(settings);
    this.roster = roster;
    this.consent = consent ?? consentFromRoster;
    this.recordPunch = recordPunch;
    this.logger = logger;
    this.now = now ?? Date.now;
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  updateSettings(settings: Partial<HandsFreeSettings>): void {
    this.settings = HandsFreeSettings.parse({ ...this.settings, ...settings });
    if (!this.settings.enabled) this.employees.clear();
  }

  /** Subscribes to a tracker's transitions; returns the unsubscribe function. */
  attach(tracker: PresenceTracker): () => void {
    const listener = (transition: PresenceTransition): void => this.handle(transition);
    tracker.on('transition', listener);
    return () => {
      tracker.removeListener('transition', listener);
    };
  }

  /** Employees hands-free has clocked in. */
  clockedIn(): string[] {
    return [...this.employees].filter(([, state]) => state.clockedIn).map(([employeeId]) => employeeId);
  }

  handle(transition: PresenceTransition): void {
    if (!this.settings.enabled) return;
    const employee = this.eligibleEmployee(transition.tagId);
    if (!employee) return;
    const { employeeId, uid } = employee;
    let state = this.employees.get(employeeId);
    if (!state) {
      if (transition.to === 'away') return;
      state = { tags: new Map(), clockedIn: false, lastTagId: uid, lastSeenAt: transition.lastSeenAt, outDueAt: undefined, inRetryAt: undefined, presentAt: undefined };
      this.employees.set(employeeId, state);
    }
    state.lastSeenAt = Math.max(state.lastSeenAt, transition.lastSeenAt);
    if (transition.to === 'away') {
      state.tags.delete(uid);
    } else {
      state.tags.set(uid, transition.to);
      state.lastTagId = uid;
      // Heard again: not gone.
      state.outDueAt = undefined;
    }

    if (transition.to === 'present') state.presentAt = transition.at;
    if (transition.to === 'present' && !state.clockedIn) {
      this.punch(employeeId, state, uid, 'in', transition.at, transition.at, transition.lastSeenAt);
    } else if (transition.to === 'away' && state.tags.size === 0) {
      if (state.clockedIn) {
        state.lastTagId = uid;
        state.outDueAt = transition.at + this.settings.punchOutAfterMs;
        if (state.outDueAt <= transition.at) this.tick(transition.at);
      } else {
        this.employees.delete(employeeId);
      }
    }
  }

  /** Fires the punches due at `now`: punch outs whose away period ran out, and retries. */
  tick(now: number = this.now()): void {
    if (!this.settings.enabled) return;
    for (const [employeeId, state] of this.employees) {
      if (state.outDueAt !== undefined && state.outDueAt <= now && state.clockedIn && state.tags.size === 0) {
        if (!this.stillEligible(state.lastTagId, employeeId)) {
          this.employees.delete(employeeId);
          continue;
        }
        state.outDueAt = undefined;
        this.punch(employeeId, state, state.lastTagId, 'out', now, state.lastSeenAt, state.lastSeenAt);
      } else if (state.inRetryAt !== undefined && state.inRetryAt <= now && !state.clockedIn) {
        state.inRetryAt = undefined;
        const presentTag = [...state.tags].find(([, tagState]) => tagState === 'present')?.[0];
        if (presentTag !== undefined && this.stillEligible(presentTag, employeeId)) this.punch(employeeId, state, presentTag, 'in', now, state.presentAt ?? now, state.lastSeenAt);
      }
      if (!state.clockedIn && state.tags.size === 0 && state.inRetryAt === undefined) this.employees.delete(employeeId);
    }
  }

  private eligibleEmployee(tagId: string): { employeeId: string; uid: string } | undefined {
    const uid = tagId.toUpperCase();
    if (!HEX.test(uid)) return undefined;
    let resolution: Resolution;
    try {
      resolution = this.roster().resolve({ kind: 'ble-tag', uid });
    } catch (error) {
      this.logger.error({ err: error, tagId }, 'could not look the tag up in the roster');
      return undefined;
    }
    if (resolution.status !== 'active') return undefined;
    const { entry } = resolution;
    if (!hasConsent(this.consent, entry)) {
      // No consent (or it was withdrawn): forget whatever we held for this person.
      if (this.employees.delete(entry.employeeId)) this.logger.info({ employeeId: entry.employeeId }, 'hands-free: consent absent; no longer punching this employee');
      return undefined;
    }
    return { employeeId: entry.employeeId, uid };
  }

  private stillEligible(uid: string, employeeId: string): boolean {
    return this.eligibleEmployee(uid)?.employeeId === employeeId;
  }

  /** `now`: the decision; `at`: when the punch happened; `seenAt`: when the tag was last heard. */
  private punch(employeeId: string, state: EmployeeState, uid: string, direction: 'in' | 'out', now: number, at: number, seenAt: number): void {
    const request: BlePunchRequest = {
      readerId: this.settings.readerId,
      read: { kind: 'ble-tag', uid },
      credential: { kind: 'ble-tag', uid },
      method: 'ble',
      direction,
      at: new Date(at).toISOString(),
      occurredMsAgo: Math.max(0, now - at),
      employeeId,
      seenAt: new Date(seenAt).toISOString(),
    };
    // Optimistic, so a second transition does not punch twice while the first is being recorded.
    state.clockedIn = direction === 'in';
    this.logger.info({ employeeId, tagId: uid, direction, at: request.at }, 'hands-free punch');
    const failed = (error: unknown): void => {
      this.logger.error({ err: error, employeeId, direction }, 'hands-free punch not recorded; will retry');
      if (!this.settings.enabled) return;
      // The state may have been dropped after an out; put it back so the retry happens.
      const current = this.employees.get(employeeId) ?? state;
      this.employees.set(employeeId, current);
      const retryAt = this.now() + this.settings.retryMs;
      if (direction === 'in') {
        current.clockedIn = false;
        current.inRetryAt = retryAt;
      } else {
        current.clockedIn = true;
        // Still away? punch out again later; a tag heard meanwhile cancels it as usual.
        if (current.tags.size === 0) current.outDueAt = retryAt;
      }
    };
    try {
      const result = this.recordPunch(request);
      if (isPromiseLike(result)) result.then(undefined, failed);
    } catch (error) {
      failed(error);
    }
  }
}

/** The roster's own consent field, where the roster carries one (`bleConsentAt`, ISO-8601). */
function consentFromRoster(entry: RosterEntry): ConsentRecord | null {
  const recordedAt = (entry as RosterEntry & { bleConsentAt?: unknown }).bleConsentAt;
  return typeof recordedAt === 'string' && recordedAt.length > 0 ? { recordedAt } : null;
}

function hasConsent(consent: (entry: RosterEntry) => ConsentRecord | null | undefined, entry: RosterEntry): boolean {
  const record = consent(entry);
  return typeof record?.recordedAt === 'string' && record.recordedAt.length > 0;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
