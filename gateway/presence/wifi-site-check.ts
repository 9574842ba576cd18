import type { Logger } from 'pino';
import { z } from 'zod';
import { AllowedBssid, normaliseBssid } from '../../core/location/site-location-policy.js';

/**
 * The Wi-Fi site check: does this terminal still see its own shop's access points?
 *
 * Pure logic (no node-wifi, no timers, no I/O besides the logger): wifi-scanner.ts feeds it scans
 * and failures, and the gateway's status/health reads `status()`.
 *
 * **Site-match score** of one scan, from 0 to 1:
 *
 *     score = (1 / |E|) * sum over e in E of w(e),   w(e) = min(1, quality(e) / fullQuality), 0 if not seen
 *
 * where E is the site's expected BSSIDs and quality is nmcli's 0-100 signal for that BSSID (the
 * highest if a scan lists it more than once). So it is the fraction of expected access points seen,
 * each weighted by how strongly: an AP at `fullQuality` (default 50) or better counts fully, one
 * seen faintly through a wall counts in part. With the defaults and three expected APs: all three
 * at home = 1; one AP rebooting = 0.67; the terminal carried next door, seeing two of them at
 * quality 18 and 12 = 0.2; another shop = 0. `seenExpected` is the plain count.
 *
 * **Moved-terminal alarm**: a scan is *bad* when its score is below `threshold`. The alarm is
 * raised after `raiseAfterScans` bad scans in a row (one bad scan never alarms) and cleared only
 * after `clearAfterScans` good scans in a row (hysteresis). A failed scan, or one that saw no
 * network at all (radio off), proves nothing either way: it neither advances nor resets the
 * streaks, and leaves the alarm as it was. A site with no expected BSSIDs never alarms: its state
 * is `not-configured`.
 */

/** nmcli's quality is a 0-100 percentage; no dBm is involved anywhere in this check. */
export const MAX_QUALITY = 100;
export const MAX_EXPECTED_BSSIDS = 256;

/** The site's own access points: the same form and rules as a site's allowed BSSIDs in core. */
export const ExpectedBssid = AllowedBssid;

/** The site check's settings (e.g. `presence.wifi.site` in the gateway config). */
export const WifiSiteConfig = z
  .object({
    /** The site's own access points. Empty: the check is `not-configured` and never alarms. */
    expectedBssids: z
      .array(ExpectedBssid)
      .max(MAX_EXPECTED_BSSIDS, `a site may list at most ${MAX_EXPECTED_BSSIDS} access points`)
      .default([]),
    /** A scan scoring below this is bad. */
    threshold: z.number().gt(0).max(1).default(0.3),
    /** nmcli quality (0-100) at or above which a seen AP counts fully in the score. */
    fullQuality: z.number().int().min(1).max(MAX_QUALITY).default(50),
    /** Bad scans in a row that raise the moved-terminal alarm. */
    raiseAfterScans: z.number().int().min(1).max(1000).default(3),
    /** Good scans in a row that clear it. */
    clearAfterScans: z.number().int().min(1).max(1000).default(2),
  })
  .strict();
export type WifiSiteConfig = z.output<typeof WifiSiteConfig>;
export type WifiSiteConfigInput = z.input<typeof WifiSiteConfig>;

export const WifiSiteStatusSchema = z.object({
  /**
   * - `ok`: the last scan worked (see score and alarm);
   * - `unavailable`: the last scan attempt failed, saw no network at all, or none has run yet (reason says which);
   * - `not-configured`: the site lists no expected BSSIDs (the scanner itself works or was never started).
   */
  state: z.enum(['ok', 'unavailable', 'not-configured']),
  reason: z.string().optional(),
  /** Site-match score (0-1, 3 decimals) of the last successful scan; absent before one, or when not configured. */
  score: z.number().min(0).max(1).optional(),
  /** Expected BSSIDs seen by the last successful scan. */
  seenExpected: z.number().int().min(0),
  /** How many expected BSSIDs the site lists. */
  expected: z.number().int().min(0),
  /** ISO time of the last successful scan, null before one. */
  lastScanAt: z.string().nullable(),
  /** The moved-terminal alarm. */
  alarm: z.boolean(),
});
export type WifiSiteStatus = z.infer<typeof WifiSiteStatusSchema>;

/** One network as the site check needs it: BSSID (any accepted form) and nmcli quality 0-100. */
export interface SeenNetwork {
  bssid: string;
  quality: number;
}

/** A successful scan. */
export interface WifiScanObservation {
  /** ISO time of the scan. */
  at: string;
  networks: readonly SeenNetwork[];
  /**
   * Records the scanner dropped as garbage (node-wifi mis-splits lines whose SSID contains `:`).
   * Their BSSID is not trusted and never counts; an expected one showing up only here is logged.
   */
  garbled?: readonly { bssid: string | null }[];
}

export interface SiteMatch {
  /** 0-1, unrounded. */
  score: number;
  seenExpected: number;
  expected: number;
  /** Per expected BSSID: its best quality in the scan (null: not seen) and its weight in the score. */
  perBssid: { bssid: string; quality: number | null; weight: number }[];
}

/**
 * Scores one scan against the expected BSSIDs (already normalised, e.g. by {@link WifiSiteConfig}).
 * Network BSSIDs are normalised here; malformed ones and non-finite qualities are ignored;
 * qualities are clamped to 0-100. See the module comment for the formula.
 */
export function scoreSiteMatch(expected: readonly string[], networks: readonly SeenNetwork[], fullQuality = 50): SiteMatch {
  const best = new Map<string, number>();
  for (const network of networks) {
    const bssid = normaliseBssid(network.bssid);
    if (bssid === null || !Number.isFinite(network.quality)) continue;
    const quality = Math.min(MAX_QUALITY, Math.max(0, network.quality));
    best.set(bssid, Math.max(best.get(bssid) ?? 0, quality));
  }
  const unique = [...new Set(expected)];
  const perBssid = unique.map((bssid) => {
    const quality = best.get(bssid);
    return quality === undefined
      ? { bssid, quality: null, weight: 0 }
      : { bssid, quality, weight: Math.min(1, quality / fullQuality) };
  });
  const seenExpected = perBssid.filter((entry) => entry.quality !== null).length;
  const score = unique.length === 0 ? 0 : perBssid.reduce((sum, entry) => sum + entry.weight, 0) / unique.length;
  return { score, seenExpected, expected: unique.length, perBssid };
}

export type WifiAlarmChange = 'raised' | 'cleared' | null;

export interface WifiSiteUpdate {
  status: WifiSiteStatus;
  /** Whether this observation raised or cleared the moved-terminal alarm. */
  alarmChange: WifiAlarmChange;
}

export type WifiSiteCheckOptions = WifiSiteConfigInput & { logger: Logger };

function roundScore(score: number): number {
  return Math.round(score * 1000) / 1000;
}

/**
 * Keeps the site-match state across scans: the streaks, the alarm, the last result. Feed it with
 * `recordScan()` / `recordFailure()`; read `status()`.
 */
export class WifiSiteCheck {
  private config: WifiSiteConfig;
  private readonly logger: Logger;
  private badStreak = 0;
  private goodStreak = 0;
  private alarm = false;
  private last: { at: string; score: number | undefined; seenExpected: number } | null = null;
  /** Why the latest attempt gave no usable scan; null once a scan works. */
  private failure: string | null = null;
  /** Expected BSSIDs already warned about as "only in garbled lines", so the warning is logged once. */
  private readonly warnedGarbled = new Set<string>();

  /** Throws a ZodError on invalid settings (validate the config file before). */
  constructor(options: WifiSiteCheckOptions) {
    const { logger, ...config } = options;
    this.logger = logger.child({ part: 'presence.wifi-site' });
    this.config = WifiSiteConfig.parse(config);
  }

  settings(): WifiSiteConfig {
    return { ...this.config, expectedBssids: [...this.config.expectedBssids] };
  }

  /**
   * New settings (e.g. a pushed config). When the expected BSSIDs change, the streaks, the alarm and
   * the last score start over: they were measured against another list. Throws a ZodError on
   * invalid settings and keeps the old ones.
   */
  configure(config: WifiSiteConfigInput): WifiSiteStatus {
    const next = WifiSiteConfig.parse(config);
    const before = [...new Set(this.config.expectedBssids)].sort().join(',');
    const after = [...new Set(next.expectedBssids)].sort().join(',');
    this.config = next;
    if (before !== after) {
      if (this.alarm) this.logger.info('Wi-Fi site check: the expected BSSIDs changed; the moved-terminal alarm starts over');
      this.badStreak = 0;
      this.goodStreak = 0;
      this.alarm = false;
      this.last = this.last === null ? null : { at: this.last.at, score: undefined, seenExpected: 0 };
      this.warnedGarbled.clear();
    }
    return this.status();
  }

  private expectedCount(): number {
    return new Set(this.config.expectedBssids).size;
  }

  status(): WifiSiteStatus {
    const expected = this.expectedCount();
    const base = {
      seenExpected: this.last?.seenExpected ?? 0,
      expected,
      lastScanAt: this.last?.at ?? null,
      alarm: this.alarm,
      ...(this.last?.score === undefined ? {} : { score: roundScore(this.last.score) }),
    };
    if (this.failure !== null) return { state: 'unavailable', reason: this.failure, ...base };
    if (expected === 0) return { state: 'not-configured', reason: 'the site lists no expected Wi-Fi BSSIDs', ...base };
    if (this.last === null) return { state: 'unavailable', reason: 'no Wi-Fi scan yet', ...base };
    const reason = this.okReason();
    return { state: 'ok', ...(reason === undefined ? {} : { reason }), ...base };
  }

  private okReason(): string | undefined {
    const { threshold, raiseAfterScans, clearAfterScans } = this.config;
    if (this.alarm) {
      return this.goodStreak > 0
        ? `terminal may have been moved: alarm stays until ${clearAfterScans} good scans in a row (${this.goodStreak} so far)`
        : `terminal may have been moved: site-match score below ${threshold} for ${this.badStreak} scans in a row`;
    }
    if (this.badStreak > 0) return `site-match score below ${threshold} (${this.badStreak} of ${raiseAfterScans} scans before the moved-terminal alarm)`;
    return undefined;
  }

  /** A scan that worked. A scan with no network at all counts as a failure (radio off?), not as "elsewhere". */
  recordScan(scan: WifiScanObservation): WifiSiteUpdate {
    if (scan.networks.length === 0) {
      return this.recordFailure('the Wi-Fi scan saw no network at all (radio off or antenna missing?); it counts neither for nor against the site');
    }
    this.failure = null;
    const expected = [...new Set(this.config.expectedBssids)];
    if (expected.length === 0) {
      this.last = { at: scan.at, score: undefined, seenExpected: 0 };
      return { status: this.status(), alarmChange: null };
    }

    const match = scoreSiteMatch(expected, scan.networks, this.config.fullQuality);
    this.warnAboutGarbled(match, scan.garbled ?? []);
    this.last = { at: scan.at, score: match.score, seenExpected: match.seenExpected };

    let alarmChange: WifiAlarmChange = null;
    if (match.score < this.config.threshold) {
      this.badStreak += 1;
      this.goodStreak = 0;
      if (!this.alarm && this.badStreak >= this.config.raiseAfterScans) {
        this.alarm = true;
        alarmChange = 'raised';
      }
    } else {
      this.goodStreak += 1;
      this.badStreak = 0;
      if (this.alarm && this.goodStreak >= this.config.clearAfterScans) {
        this.alarm = false;
        alarmChange = 'cleared';
      }
    }

    const detail = { score: roundScore(match.score), seenExpected: match.seenExpected, expected: match.expected, at: scan.at };
    if (alarmChange === 'raised') {
      this.logger.warn({ ...detail, perBssid: match.perBssid }, 'Wi-Fi site check: moved-terminal alarm raised (the site\'s access points are missing or faint)');
    } else if (alarmChange === 'cleared') {
      this.logger.info(detail, 'Wi-Fi site check: moved-terminal alarm cleared');
    } else {
      this.logger.debug({ ...detail, badStreak: this.badStreak, goodStreak: this.goodStreak }, 'Wi-Fi site check');
    }
    return { status: this.status(), alarmChange };
  }

  /** A scan attempt that gave nothing usable. Streaks and alarm stay as they were. */
  recordFailure(reason: string): WifiSiteUpdate {
    this.failure = reason;
    return { status: this.status(), alarmChange: null };
  }

  private warnAboutGarbled(match: SiteMatch, garbled: readonly { bssid: string | null }[]): void {
    for (const record of garbled) {
      const bssid = record.bssid === null ? null : normaliseBssid(record.bssid);
      if (bssid === null || this.warnedGarbled.has(bssid)) continue;
      const entry = match.perBssid.find((candidate) => candidate.bssid === bssid);
      if (entry === undefined || entry.quality !== null) continue;
      this.warnedGarbled.add(bssid);
      this.logger.warn(
        { bssid },
        'Wi-Fi site check: an expected BSSID appears only in a scan line node-wifi cannot parse (its SSID probably contains ":"); it does not count as seen',
      );
    }
  }
}
