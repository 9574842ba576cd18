import type { Logger } from 'pino';
import { DeviceConfigSnapshot, type SiteLanguage } from '../core/config-snapshot.js';
import { describeIssues } from '../core/errors.js';
import type { PresenceSettings } from '../core/presence-settings.js';
import type { GatewayConfig } from './config.js';
import { gatewayAttendance, type GatewayAttendance } from './attendance-verdict.js';
import { RosterIndex } from './roster-index.js';
import type { ConfigCache } from './store/config-cache.js';

/** The local config's settings that a pushed snapshot overrides (or, where it is silent, keeps). */
export type LocalSettings = Pick<GatewayConfig, 'siteId' | 'site' | 'punch'> & { presence: Pick<GatewayConfig['presence'], 'settings'> };

/** What the caller swaps in memory after a pushed config was applied (or loaded at start). */
export interface RunningConfig {
  version: number;
  issuedAt: string;
  siteId: string;
  siteName: string;
  timeZone: string;
  /** The kiosk's languages: the snapshot's, else the local config's; undefined: the default (both). */
  languages?: SiteLanguage[];
  /** The snapshot's punch settings, each falling back to the local config's. */
  punch: { debounceSeconds: number; direction: 'alternate' | 'auto' };
  /** The snapshot's presence settings, or the local config's when it has none. */
  presence: PresenceSettings;
  roster: RosterIndex;
  rosterEntries: number;
  /** `dashboard:v{version}`, as stored in meta `roster.source`. */
  rosterSource: string;
  /** The pushed schedules, when the dashboard sends any: verdicts at the door. */
  attendance?: GatewayAttendance;
}

export type ApplyResult =
  | { outcome: 'applied'; config: RunningConfig }
  /** The same version and content again (a retained message redelivered on reconnect): nothing to do. */
  | { outcome: 'unchanged'; version: number }
  /** The snapshot is bad, or not for this device, or older: nothing stored changed. */
  | { outcome: 'refused'; reason: string }
  /** The snapshot was good but could not be stored (disk): nothing stored changed. */
  | { outcome: 'failed'; reason: string };

export interface ConfigErrorRecord {
  reason: string;
  /** When it happened, by the gateway's clock. */
  at: string;
  /** The version the refused snapshot claimed, when it could be read. */
  version?: number;
}

export interface ConfigApplierOptions {
  deviceId: string;
  local: LocalSettings;
  cache: ConfigCache;
  logger: Logger;
  now?: () => Date;
}

const MAX_ISSUES = 5;

/**
 * Applies config snapshots pushed by the dashboard. A snapshot is decoded and validated
 * completely before anything is written; then the roster and the snapshot are stored in one
 * transaction. A bad snapshot changes nothing stored and nothing running: the last good config
 * keeps running and `lastError()` says why (for the status' `configError`).
 *
 * Precedence: once a pushed config was applied, it is in force after every restart and the local
 * `rosterFile` and the local `site`/`punch` settings are not used (`load()` at start tells).
 */
export class ConfigApplier {
  private chain: Promise<unknown> = Promise.resolve();
  private error: ConfigErrorRecord | undefined;
  private version = 0;
  private readonly now: () => Date;

  constructor(private readonly options: ConfigApplierOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The version of the pushed config in force; 0 while the local config rules. Valid after load(). */
  appliedVersion(): number {
    return this.version;
  }

  /** Why the last pushed config (or the stored one, at start) was not applied; cleared by the next success. */
  lastError(): ConfigErrorRecord | undefined {
    return this.error ? { ...this.error } : undefined;
  }

  /**
   * At start: the last good pushed config from the store, or undefined when there is none (the
   * local config rules). A stored snapshot that no longer validates (e.g. the schema changed under
   * it) is reported in lastError() and ignored, so the dashboard's next push of the same version
   * is applied again.
   */
  async load(): Promise<RunningConfig | undefined> {
    return this.serialised(async () => {
      const stored = await this.options.cache.load();
      if (!stored) return undefined;
      const decoded = this.decode(stored.json);
      if ('reason' in decoded) {
        this.fail(`the stored pushed config v${stored.version} is no longer valid: ${decoded.reason}`, stored.version, 'the stored pushed config is not valid; running the local config until the next push');
        return undefined;
      }
      this.version = decoded.snapshot.version;
      this.options.logger.info({ version: this.version }, 'running the pushed config from the store');
      return this.running(decoded.snapshot);
    });
  }

  /** Validates and applies one pushed snapshot (an MQTT payload, its text, or parsed JSON). */
  apply(payload: unknown): Promise<ApplyResult> {
    return this.serialised(() => this.applyOnce(payload));
  }

  private async applyOnce(payload: unknown): Promise<ApplyResult> {
    const { cache, logger } = this.options;
    const decoded = this.decode(payload);
    if ('reason' in decoded) return this.refuse(decoded.reason, decoded.version);
    const { snapshot, json } = decoded;
    const applied = this.version;
    if (snapshot.version < applied) {
      return this.refuse(`version: ${snapshot.version} is not above the applied version ${applied}`, snapshot.version);
    }
    if (snapshot.version === applied) {
      const stored = await cache.load();
      const same = stored !== undefined && sameSnapshot(stored.json, snapshot, this.decode.bind(this));
      if (same) return { outcome: 'unchanged', version: applied };
      return this.refuse(`version: ${snapshot.version} is already applied with different content`, snapshot.version);
    }
    try {
      await cache.save({ version: snapshot.version, json, roster: snapshot.roster });
    } catch (error) {
      const reason = `could not store config v${snapshot.version}: ${(error as Error).message}`;
      this.error = { reason, at: this.now().toISOString(), version: snapshot.version };
      logger.error({ err: error, version: snapshot.version }, 'could not store the pushed config; the last good one keeps running');
      return { outcome: 'failed', reason };
    }
    this.version = snapshot.version;
    this.error = undefined;
    logger.info({ version: snapshot.version, previous: applied, rosterEntries: snapshot.roster.length, siteId: snapshot.site.id }, 'pushed config applied');
    return { outcome: 'applied', config: this.running(snapshot) };
  }

  /** JSON text of what was pushed, and the validated snapshot, or why it is not one for this device. */
  private decode(payload: unknown): { snapshot: DeviceConfigSnapshot; json: string } | { reason: string; version?: number } {
    let raw: unknown = payload;
    if (payload instanceof Uint8Array || typeof payload === 'string') {
      const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
      try {
        raw = JSON.parse(text);
      } catch (error) {
        return { reason: `not valid JSON: ${(error as Error).message}` };
      }
    }
    const claimed = claimedVersion(raw);
    const parsed = DeviceConfigSnapshot.safeParse(raw);
    if (!parsed.success) {
      const issues = describeIssues(parsed.error);
      const more = issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more` : '';
      return { reason: `${issues.slice(0, MAX_ISSUES).join('; ')}${more}`, ...(claimed === undefined ? {} : { version: claimed }) };
    }
    const snapshot = parsed.data;
    if (snapshot.deviceId !== this.options.deviceId) {
      return { reason: `deviceId: the snapshot is for device "${snapshot.deviceId}", this gateway is "${this.options.deviceId}"`, version: snapshot.version };
    }
    return { snapshot, json: JSON.stringify(raw) };
  }

  private running(snapshot: DeviceConfigSnapshot): RunningConfig {
    const { local } = this.options;
    const languages = snapshot.site.languages ?? local.site.languages;
    return {
      version: snapshot.version,
      issuedAt: snapshot.issuedAt,
      siteId: snapshot.site.id,
      siteName: snapshot.site.name,
      timeZone: snapshot.site.timeZone,
      ...(languages ? { languages } : {}),
      punch: {
        debounceSeconds: snapshot.punch.debounceSeconds ?? local.punch.debounceSeconds,
        direction: snapshot.punch.direction ?? local.punch.direction,
      },
      presence: snapshot.presence ?? local.presence.settings,
      roster: new RosterIndex(snapshot.roster),
      rosterEntries: snapshot.roster.length,
      rosterSource: `dashboard:v${snapshot.version}`,
      ...(snapshot.attendance ? { attendance: gatewayAttendance(snapshot.attendance, snapshot.site.timeZone) } : {}),
    };
  }

  private refuse(reason: string, version?: number): ApplyResult {
    this.fail(reason, version);
    return { outcome: 'refused', reason };
  }

  private fail(reason: string, version?: number, message = 'pushed config refused; the last good one keeps running'): void {
    this.error = { reason, at: this.now().toISOString(), ...(version === undefined ? {} : { version }) };
    this.options.logger.warn({ reason, version, applied: this.version }, message);
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/** The version a payload claims, for error records, even when the payload is otherwise invalid. */
function claimedVersion(raw: unknown): number | undefined {
  if (typeof raw !== 'object' || raw === null || !('version' in raw)) return undefined;
  const version = (raw as { version: unknown }).version;
  return typeof version === 'number' && Number.isSafeInteger(version) ? version : undefined;
}

/** Whether the stored snapshot text means the same config as a new snapshot (validated outputs compared). */
function sameSnapshot(storedJson: string, snapshot: DeviceConfigSnapshot, decode: (payload: unknown) => { snapshot: DeviceConfigSnapshot } | { reason: string }): boolean {
  const stored = decode(storedJson);
  return 'snapshot' in stored && JSON.stringify(stored.snapshot) === JSON.stringify(snapshot);
}
