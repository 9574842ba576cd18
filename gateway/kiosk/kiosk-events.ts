import { z } from 'zod';
import type { KioskVerdict } from '../../core/attendance/index.js';
import { SiteLanguage } from '../../core/config-snapshot.js';
import { EntityId, PunchDirection } from '../../core/punch.js';
import { TimeZone, UtcInstant } from '../../core/time.js';
import type { TapOutcome } from '../punch-desk.js';

/**
 * What the gateway tells the kiosk page over server-sent events (`GET /kiosk/events`,
 * docs/kiosk.md): `state` (the whole screen context, at connect and whenever any of it changes)
 * and `tap` (one per tap, sent as soon as the desk has its outcome, i.e. right after the commit).
 * The page holds every word of both languages; these carry data only.
 */

/** `online`: connected to the broker; `offline`: configured but not connected; `standalone`: no uplink configured. */
export const KioskLink = z.enum(['online', 'offline', 'standalone']);
export type KioskLink = z.infer<typeof KioskLink>;

export const KioskSite = z
  .object({
    id: EntityId,
    /** The site's name; null when neither the local config nor a pushed one gives it (the page shows the id). */
    name: z.string().nullable(),
    timeZone: TimeZone,
    /** In the order the page shows them, the first the largest. */
    languages: z.array(SiteLanguage).min(1),
  })
  .strict();
export type KioskSite = z.infer<typeof KioskSite>;

export const KioskState = z
  .object({
    site: KioskSite,
    link: KioskLink,
    /** Punches committed here and not yet acknowledged by the server; null until first counted. */
    backlog: z.number().int().min(0).nullable(),
    /** How long a tap's screen stays before the idle screen. */
    idleMs: z.number().int().positive(),
    /** The gateway's clock when this was sent. */
    serverTime: UtcInstant,
  })
  .strict();
export type KioskState = z.infer<typeof KioskState>;

export const KioskVerdictSchema = z
  .object({ kind: z.enum(['on-time', 'late', 'early', 'off-day']), minutes: z.number().int().min(0).optional() })
  .strict();

export const KioskTap = z
  .object({
    /** Per gateway run, from 1; also the event's `id:`. */
    seq: z.number().int().positive(),
    result: z.enum(['accepted', 'unknown', 'revoked', 'duplicate', 'error']),
    /** True when the tap was committed as a punch (accepted, unknown): it will reach the server. */
    recorded: z.boolean(),
    /** The punch's direction (accepted, unknown); null otherwise. */
    direction: PunchDirection.nullable(),
    /** The roster's name (accepted, revoked, duplicate of a known badge); null otherwise. */
    name: z.string().nullable(),
    /** The punch's time, or the moment of the outcome when nothing was committed. */
    at: UtcInstant,
    /** For an accepted punch of someone with a schedule; null otherwise. */
    verdict: KioskVerdictSchema.nullable(),
    /** The link when the outcome came, so that the page can say "recorded — will sync" at once. */
    link: KioskLink,
  })
  .strict();
export type KioskTap = z.infer<typeof KioskTap>;

export type KioskEvent = { type: 'state'; data: KioskState } | { type: 'tap'; data: KioskTap };

/** The kiosk's view of a desk outcome: data only, no words. */
export function kioskTapOf(outcome: TapOutcome, options: { seq: number; verdict: KioskVerdict | undefined; link: KioskLink; now: Date }): KioskTap {
  const recorded = outcome.result === 'accepted' || outcome.result === 'unknown';
  const verdict = outcome.result === 'accepted' ? options.verdict : undefined;
  return {
    seq: options.seq,
    result: outcome.result,
    recorded: recorded && outcome.punch !== undefined,
    direction: recorded ? (outcome.punch?.direction ?? null) : null,
    name: outcome.employee?.name ?? null,
    at: outcome.punch?.at ?? options.now.toISOString(),
    verdict: verdict ? (verdict.kind === 'late' || verdict.kind === 'early' ? { kind: verdict.kind, minutes: verdict.minutes } : { kind: verdict.kind }) : null,
    link: options.link,
  };
}
