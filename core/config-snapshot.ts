import { z } from 'zod';
import { AttendanceSnapshot } from './attendance/kiosk-verdict.js';
import { PresenceSettings } from './presence-settings.js';
import { EntityId } from './punch.js';
import { Roster } from './roster.js';
import { TimeZone, UtcInstant } from './time.js';

/** The languages a site's screens (the gateway's kiosk) can speak: English and Traditional Chinese (Hong Kong). */
export const siteLanguages = ['en', 'zh-HK'] as const;
export const SiteLanguage = z.enum(siteLanguages);
export type SiteLanguage = z.infer<typeof SiteLanguage>;

/** The languages a site's kiosk shows, in order (the first the largest); both at once when a site says nothing. */
export const SiteLanguages = z
  .array(SiteLanguage)
  .min(1)
  .max(siteLanguages.length)
  .refine((languages) => new Set(languages).size === languages.length, { message: 'lists a language twice' });
export const DEFAULT_SITE_LANGUAGES: readonly SiteLanguage[] = ['en', 'zh-HK'];

/**
 * server -> gateway, QoS 1, retained: `devices/{deviceId}/config`. A whole snapshot, never a
 * diff: the gateway validates it completely, then applies it in one transaction, or keeps the last
 * good one and reports why in its status.
 */
export const DeviceConfigSnapshot = z
  .object({
    /** Increases with every change the dashboard makes; a gateway ignores versions not above its own. */
    version: z.number().int().positive(),
    issuedAt: UtcInstant,
    deviceId: EntityId,
    site: z.object({
      id: EntityId,
      name: z.string().min(1).max(120),
      timeZone: TimeZone,
      /** Optional, added without a version bump: absent means both, English first. Older gateways ignore it. */
      languages: SiteLanguages.optional(),
    }),
    roster: Roster,
    punch: z
      .object({
        debounceSeconds: z.number().min(0).max(3600),
        direction: z.enum(['alternate', 'auto']),
      })
      .partial()
      .default({}),
    /** Rotating beacon, Wi-Fi site check and hands-free settings; absent: the local config's. */
    presence: PresenceSettings.optional(),
    /** Schedules and rules, so the door can say "late by 4 min"; absent: no verdicts. */
    attendance: AttendanceSnapshot.optional(),
  })
  .strict();
export type DeviceConfigSnapshot = z.output<typeof DeviceConfigSnapshot>;
export type DeviceConfigSnapshotInput = z.input<typeof DeviceConfigSnapshot>;
