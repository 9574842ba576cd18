import type { Logger } from 'pino';
import type { ConfigPublisher } from '../config-publisher.js';
import type { DeviceRepository } from '../db/device-repository.js';
import type { Site, SiteRepository } from '../db/site-repository.js';
import type { GatewayChanges } from '../employees/employee-model.js';
import type { EmployeeRepository } from '../employees/employee-repository.js';
import { SnapshotBuilder, type HandsFreeSetting, type SnapshotBuilderOptions } from './snapshot-builder.js';

export interface ConfigPushOptions {
  devices: DeviceRepository;
  sites: SiteRepository;
  employees: EmployeeRepository;
  publisher: ConfigPublisher;
  logger: Logger;
  now?: () => Date;
  /** Changes closer together than this are published together (default 200 ms). */
  debounceMs?: number;
  /** ... but a stream of changes is published at least this often (default 2000 ms). */
  maxDelayMs?: number;
  /** Revoked badges stay in rosters as `revoked` this long (default 90 days). */
  revokedRetentionDays?: number;
  /**
   * How often sites and device assignments are checked for changes made without telling this
   * service (site routes, device registration): default 1000 ms; 0 turns the watch off.
   */
  watchIntervalMs?: number;
  /**
   * How often every device's snapshot is rebuilt anyway, for what changes with time alone (an
   * employee's last day passing, revoked badges leaving the retention window): default 15 min; 0: never.
   */
  reconcileIntervalMs?: number;
  /** A failed publish is tried again after this long (default 5000 ms). */
  retryMs?: number;
  /** Publish every device's last config again at start (a broker that lost its retained messages). */
  republishOnStart?: boolean;
  /**
   * Overrides the hands-free setting pushed for a site; by default each snapshot's
   * `presence.handsFree` is the site's own (`site.handsFree`, set through the site routes).
   */
  handsFree?: (site: Site) => HandsFreeSetting | undefined;
  /** The attendance part of a site's snapshots (schedules and rules for its roster); absent: none. */
  attendance?: SnapshotBuilderOptions['attendance'];
}

/** A device's config as published here and as applied by the gateway (its status' configVersion). */
export interface ConfigStatus {
  deviceId: string;
  siteId: string;
  /** The version last published, null when none was. */
  published: number | null;
  publishedAt: string | null;
  /** The version the gateway last reported applied, null when it reported none. */
  applied: number | null;
  /** Published but not yet applied (applied < published). */
  pending: boolean;
  /** A change affecting the device is waiting for (or in) the next publish. */
  queued: boolean;
  /** Why the gateway refused the last config pushed, if it did. */
  configError: string | null;
}

export interface FlushReport {
  devices: number;
  published: number;
  unchanged: number;
  /** Devices whose site does not exist (nothing to build a snapshot from). */
  skipped: number;
  failed: number;
}

interface Targets {
  all: boolean;
  sites: Set<string>;
  devices: Set<string>;
}

const emptyTargets = (): Targets => ({ all: false, sites: new Set(), devices: new Set() });

/**
 * Keeps every gateway's pushed config equal to what the central database says: after a change
 * that affects gateways (an employee's badges, status, sites or consent; a site's settings,
 * hands-free setting or beacons; a device's site) it rebuilds the snapshot of every affected
 * device and publishes it, retained, if its content changed (ConfigPublisher.publishIfChanged:
 * version = previous + 1).
 *
 * Changes are coalesced: each one restarts a short debounce (bounded by `maxDelayMs`), and a flush
 * builds each site's roster once for all its devices. One flush runs at a time; changes arriving
 * meanwhile go into the next one.
 */
export class ConfigPush implements GatewayChanges {
  private readonly builder: SnapshotBuilder;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private pending: Targets = emptyTargets();
  private inFlight: Targets | undefined;
  private firstMarkAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private flushing: Promise<FlushReport> | undefined;
  private watching: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private siteRevision: number | undefined;
  private siteFingerprints = new Map<string, string>();
  private deviceSites = new Map<string, string>();
  readonly counters = { flushes: 0, published: 0, unchanged: 0, skipped: 0, failed: 0 };

  constructor(private readonly options: ConfigPushOptions) {
    this.logger = options.logger;
    this.debounceMs = options.debounceMs ?? 200;
    this.maxDelayMs = Math.max(this.debounceMs, options.maxDelayMs ?? 2000);
    this.builder = new SnapshotBuilder({
      employees: options.employees,
      sites: options.sites,
      revokedRetentionDays: options.revokedRetentionDays ?? 90,
      now: options.now ?? (() => new Date()),
      ...(options.handsFree ? { handsFree: options.handsFree } : {}),
      ...(options.attendance ? { attendance: options.attendance } : {}),
    });
  }

  /**
   * Starts watching, and reconciles every device once (publishing only those whose content
   * differs from what they were last sent).
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.siteRevision = await this.options.sites.revision();
    this.siteFingerprints = await this.options.sites.contentFingerprints();
    this.deviceSites = new Map((await this.options.devices.siteAssignments()).map((d) => [d.id, d.siteId]));
    if (this.options.republishOnStart) {
      const count = await this.options.publisher.republishAll();
      this.logger.info({ devices: count }, 'published every device\'s last config again');
    }
    this.everythingChanged();
    const watchMs = this.options.watchIntervalMs ?? 1000;
    if (watchMs > 0) this.scheduleWatch(watchMs);
    const reconcileMs = this.options.reconcileIntervalMs ?? 15 * 60_000;
    if (reconcileMs > 0) {
      this.reconcileTimer = setInterval(() => this.everythingChanged(), reconcileMs);
      this.reconcileTimer.unref();
    }
  }

  /** Stops the timers and waits for a flush in progress; changes not yet flushed are dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchTimer);
    clearInterval(this.reconcileTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.timer = undefined;
    await this.watching?.catch(() => undefined);
    await this.flushing?.catch(() => undefined);
  }

  sitesChanged(siteIds: Iterable<string>): void {
    let any = false;
    for (const siteId of siteIds) {
      this.pending.sites.add(siteId);
      any = true;
    }
    if (any) this.schedule();
  }

  devicesChanged(deviceIds: Iterable<string>): void {
    let any = false;
    for (const deviceId of deviceIds) {
      this.pending.devices.add(deviceId);
      any = true;
    }
    if (any) this.schedule();
  }

  everythingChanged(): void {
    this.pending.all = true;
    this.schedule();
  }

  /** Publishes what is pending now, without waiting for the debounce. */
  async flush(): Promise<FlushReport> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing) await this.flushing.catch(() => undefined);
    return this.startFlush();
  }

  /** Resolves when nothing is pending or being published. */
  async idle(): Promise<void> {
    while (this.timer !== undefined || this.flushing !== undefined || this.hasPending()) await this.flush();
  }

  /** The snapshot content a device would get now (undefined: unknown device, or its site does not exist). */
  async contentFor(deviceId: string): Promise<ReturnType<SnapshotBuilder['contentFor']> | undefined> {
    const device = await this.options.devices.get(deviceId);
    return device ? this.builder.contentForDevice(deviceId, device.siteId) : undefined;
  }

  async status(deviceId: string): Promise<ConfigStatus | undefined> {
    const device = await this.options.devices.get(deviceId);
    if (!device) return undefined;
    const published = await this.options.publisher.published(deviceId);
    const applied = device.status?.configVersion ?? null;
    const affects = (targets: Targets | undefined): boolean =>
      targets !== undefined && (targets.all || targets.devices.has(deviceId) || targets.sites.has(device.siteId));
    return {
      deviceId,
      siteId: device.siteId,
      published: published?.version ?? null,
      publishedAt: published?.publishedAt ?? null,
      applied,
      pending: published !== undefined && (applied ?? 0) < published.version,
      queued: affects(this.pending) || affects(this.inFlight),
      configError: device.status?.configError ?? null,
    };
  }

  private hasPending(): boolean {
    return this.pending.all || this.pending.sites.size > 0 || this.pending.devices.size > 0;
  }

  private schedule(): void {
    if (this.stopped || !this.started) return;
    const now = Date.now();
    this.firstMarkAt ??= now;
    const delay = Math.max(0, Math.min(this.debounceMs, this.firstMarkAt + this.maxDelayMs - now));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A flush in progress takes the pending changes when it ends (see startFlush).
      if (!this.flushing) void this.startFlush();
    }, delay);
    this.timer.unref();
  }

  private startFlush(): Promise<FlushReport> {
    const flushing = this.runFlush()
      .catch((error: unknown): FlushReport => {
        this.logger.error({ err: error }, 'config push failed; will try again');
        this.retryLater(this.inFlight ?? emptyTargets());
        return { devices: 0, published: 0, unchanged: 0, skipped: 0, failed: 0 };
      })
      .finally(() => {
        this.flushing = undefined;
        this.inFlight = undefined;
        if (this.hasPending() && this.timer === undefined) this.schedule();
      });
    this.flushing = flushing;
    return flushing;
  }

  private async runFlush(): Promise<FlushReport> {
    const targets = this.pending;
    this.pending = emptyTargets();
    this.firstMarkAt = undefined;
    this.inFlight = targets;
    const report: FlushReport = { devices: 0, published: 0, unchanged: 0, skipped: 0, failed: 0 };
    if (!targets.all && targets.sites.size === 0 && targets.devices.size === 0) return report;
    const startedAt = performance.now();
    const assignments = await this.options.devices.siteAssignments();
    const chosen = targets.all ? assignments : assignments.filter((d) => targets.sites.has(d.siteId) || targets.devices.has(d.id));
    const bySite = new Map<string, string[]>();
    for (const device of chosen) {
      const list = bySite.get(device.siteId);
      if (list) list.push(device.id);
      else bySite.set(device.siteId, [device.id]);
    }
    const failed = new Set<string>();
    for (const [siteId, deviceIds] of bySite) {
      report.devices += deviceIds.length;
      const base = await this.builder.siteBase(siteId);
      if (!base) {
        report.skipped += deviceIds.length;
        this.logger.debug({ site: siteId, devices: deviceIds }, 'no config pushed: the site does not exist');
        continue;
      }
      for (const deviceId of deviceIds) {
        if (this.stopped) return report;
        try {
          const reported = (await this.options.devices.get(deviceId))?.status?.configVersion;
          const result = await this.options.publisher.publishIfChanged(deviceId, this.builder.contentFor(base, deviceId), {
            ...(reported === undefined ? {} : { reportedVersion: reported }),
          });
          if (result.published) report.published += 1;
          else report.unchanged += 1;
        } catch (error) {
          report.failed += 1;
          failed.add(deviceId);
          this.logger.error({ err: error, device: deviceId }, 'could not push the config; will try again');
        }
      }
    }
    if (failed.size > 0) this.retryLater({ all: false, sites: new Set(), devices: failed });
    this.counters.flushes += 1;
    this.counters.published += report.published;
    this.counters.unchanged += report.unchanged;
    this.counters.skipped += report.skipped;
    this.counters.failed += report.failed;
    if (report.published > 0 || report.failed > 0) {
      this.logger.info({ ...report, ms: Math.round(performance.now() - startedAt) }, 'device configs pushed');
    }
    return report;
  }

  private retryLater(targets: Targets): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (targets.all) this.everythingChanged();
      this.sitesChanged(targets.sites);
      this.devicesChanged(targets.devices);
    }, this.options.retryMs ?? 5000);
    timer.unref();
    this.retryTimers.add(timer);
  }

  private scheduleWatch(intervalMs: number): void {
    if (this.stopped) return;
    this.watchTimer = setTimeout(() => {
      this.watching = this.watch()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'could not check sites and devices for changes'))
        .finally(() => {
          this.watching = undefined;
          this.scheduleWatch(intervalMs);
        });
    }, intervalMs);
    this.watchTimer.unref();
  }

  /** Finds site and device-assignment changes made without telling this service. */
  private async watch(): Promise<void> {
    const revision = await this.options.sites.revision();
    if (revision !== this.siteRevision) {
      const fingerprints = await this.options.sites.contentFingerprints();
      const changed = [...new Set([...fingerprints.keys(), ...this.siteFingerprints.keys()])].filter(
        (siteId) => fingerprints.get(siteId) !== this.siteFingerprints.get(siteId),
      );
      this.siteRevision = revision;
      this.siteFingerprints = fingerprints;
      this.sitesChanged(changed);
    }
    const assignments = await this.options.devices.siteAssignments();
    const moved = assignments.filter((device) => this.deviceSites.get(device.id) !== device.siteId).map((device) => device.id);
    this.deviceSites = new Map(assignments.map((d) => [d.id, d.siteId]));
    this.devicesChanged(moved);
  }
}
