import type { Logger } from 'pino';
import { z } from 'zod';
import type { NobleAdapterState, NobleAdvertisement, NobleInternals, NobleLike, NoblePeripheral } from './noble-types.js';
import type { PresenceTracker } from './presence-tracker.js';

/**
 * Decides whether an advert belongs to a tag or beacon the config names, and which: returns its
 * stable tag id, or null to ignore the advert. Must not keep `advertisement` (noble reuses it).
 */
export type AdvertClassifier = (address: string, advertisement: NobleAdvertisement, rssi: number) => { tagId: string } | null;

export type ScannerState = 'scanning' | 'waiting-for-adapter' | 'unavailable' | 'stopped';

export const BleScannerStatusSchema = z.object({
  state: z.enum(['scanning', 'waiting-for-adapter', 'unavailable', 'stopped']),
  /** Why the scanner is not scanning (or why it restarted last), for status pages. */
  reason: z.string().optional(),
  /** Adverts noble reported, per second, averaged over the rate window. */
  advertsPerSecond: z.number(),
  /** Adverts the classifier accepted (named tags), per second. */
  acceptedPerSecond: z.number(),
  /** Tags the presence tracker holds (near or present). */
  tracked: z.number().int(),
  /** Scans restarted because nothing was heard for the watchdog period. */
  watchdogRestarts: z.number().int(),
  adapterState: z.enum(['unknown', 'resetting', 'unsupported', 'unauthorized', 'poweredOff', 'poweredOn']),
});
export type BleScannerStatus = z.infer<typeof BleScannerStatusSchema>;

export const BleScannerSettings = z.object({
  /**
   * While poweredOn, no advert for this long (ms) restarts the scan: some adapters stop reporting
   * without a word. Keep it well below the tracker's absentAfterMs, so a restart is heard again
   * before tags time out. Consecutive fruitless restarts back off (doubling) up to maxWatchdogMs.
   */
  watchdogMs: z.number().int().positive().default(15_000),
  maxWatchdogMs: z.number().int().positive().default(300_000),
  /** Another client stopped our scan (scanStop we did not ask for): restart after this long (ms) if it stays stopped. */
  restartAfterStopMs: z.number().int().min(0).default(2_000),
  /** How often the scanner's own timer runs `tick` (ms), when autoTick. */
  tickMs: z.number().int().positive().default(1_000),
  /** Adverts per second are averaged over this many ms. */
  rateWindowMs: z.number().int().min(1_000).default(10_000),
  /**
   * noble (and its Linux HCI binding) keep every address ever heard, forever. The scanner deletes
   * the cache entries of addresses unheard for libraryCacheMs, and beyond libraryCacheMax entries
   * the least recently heard at once. Never for a connected peripheral.
   */
  pruneLibraryCache: z.boolean().default(true),
  libraryCacheMs: z.number().int().positive().default(60_000),
  libraryCacheMax: z.number().int().min(1).default(4_096),
});
export type BleScannerSettings = z.input<typeof BleScannerSettings>;

export interface BleScannerOptions extends BleScannerSettings {
  noble: NobleLike;
  classify: AdvertClassifier;
  tracker: PresenceTracker;
  logger: Logger;
  /** Clock in ms (default Date.now); the tracker is fed the same times. */
  now?: () => number;
  /** Run `tick` on a timer every tickMs (default true). Tests pass false and call `tick` themselves. */
  autoTick?: boolean;
}

const unavailableReasons: Partial<Record<NobleAdapterState, string>> = {
  poweredOff: 'Bluetooth adapter is powered off',
  unauthorized: 'not permitted to use the Bluetooth adapter (needs root or cap_net_raw)',
  unsupported: 'no Bluetooth LE adapter (unsupported)',
};

/** RSSI above this is no reading: HCI reports 127 for "RSSI not available". */
const MAX_RSSI = 20;
const MIN_RSSI = -127;

/**
 * BLE presence scanning over an injected noble instance:
 * - adapter state machine: poweredOn -> startScanning([], allowDuplicates=true) (without duplicates
 *   noble reports each address once, useless for presence); poweredOff / unauthorized / unsupported
 *   -> 'unavailable' with the reason; unknown / resetting -> 'waiting-for-adapter'; back to
 *   poweredOn -> scans again. While not scanning, the tracker is suspended (silence is not absence).
 * - a watchdog restarting the scan when nothing is heard for watchdogMs while poweredOn;
 * - `discover` -> classify -> tracker.observe, with adverts seen/accepted per second;
 * - pruning of noble's unbounded per-address caches (see BleScannerSettings.pruneLibraryCache).
 *
 * noble pitfalls handled here: `startScanning` throws synchronously when the adapter is not
 * poweredOn and no callback is given, and with a callback it adds a `once('scanStart')` listener
 * per call that piles up while an adapter never confirms; so the scanner checks the state and calls
 * it without a callback, inside try/catch. noble prints warnings with console.warn unless someone
 * else listens to 'warning': the scanner does, and logs them.
 */
export class BleScanner {
  private readonly settings: z.output<typeof BleScannerSettings>;
  private readonly noble: NobleLike;
  private readonly classify: AdvertClassifier;
  private readonly tracker: PresenceTracker;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly autoTick: boolean;

  private running = false;
  private state: ScannerState = 'stopped';
  private reason: string | undefined;
  private adapterState: NobleAdapterState = 'unknown';
  private timer: NodeJS.Timeout | undefined;

  private lastHeardAt = 0;
  private scanRequestedAt = 0;
  private watchdogPeriod: number;
  private watchdogRestarts = 0;
  /** stopScanning calls of ours whose scanStop has not come back yet. */
  private expectedStops = 0;
  private strayStopAt: number | undefined;

  /** Per-second buckets of adverts seen / accepted. */
  private readonly buckets: Array<{ second: number; seen: number; accepted: number }>;
  private countingSince = 0;
  /** Adverts seen / accepted since the scanner was made, for counters (docs/metrics.md). */
  private readonly totals = { seen: 0, accepted: 0 };

  /** noble cache id -> last heard (ms), least recently heard first. */
  private readonly heard = new Map<string, number>();

  private classifyErrors = 0;
  private lastClassifyErrorLog = -Infinity;

  private readonly onStateChange = (state: NobleAdapterState): void => this.handleState(state);
  private readonly onDiscover = (peripheral: NoblePeripheral): void => this.handleDiscover(peripheral);
  private readonly onScanStart = (): void => {
    // Scanning is on again: any stop still owed to us was swallowed by the binding (the HCI binding
    // reports only scanStart for a quick stop + start), so a later scanStop is someone else's.
    this.expectedStops = 0;
    this.strayStopAt = undefined;
  };
  private readonly onScanStop = (): void => this.handleScanStop();
  private readonly onWarning = (message: string): void => this.handleWarning(message);

  constructor(options: BleScannerOptions) {
    const { noble, classify, tracker, logger, now, autoTick, ...settings } = options;
    this.settings = BleScannerSettings.parse(settings);
    this.noble = noble;
    this.classify = classify;
    this.tracker = tracker;
    this.logger = logger;
    this.now = now ?? Date.now;
    this.autoTick = autoTick ?? true;
    this.watchdogPeriod = this.settings.watchdogMs;
    const seconds = Math.ceil(this.settings.rateWindowMs / 1000);
    this.buckets = Array.from({ length: seconds + 1 }, () => ({ second: -1, seen: 0, accepted: 0 }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.now();
    this.countingSince = now;
    this.setState('waiting-for-adapter', 'waiting for the Bluetooth adapter', now);
    // 'warning' first: with a listener of ours noble stops printing its warnings to the console.
    this.noble.on('warning', this.onWarning);
    this.noble.on('discover', this.onDiscover);
    this.noble.on('scanStart', this.onScanStart);
    this.noble.on('scanStop', this.onScanStop);
    // Adding a stateChange listener makes noble initialise its bindings on the next tick.
    this.noble.on('stateChange', this.onStateChange);
    let state: NobleAdapterState;
    try {
      state = this.noble.state;
    } catch (error) {
      this.setState('unavailable', `Bluetooth unavailable: ${(error as Error).message}`, now);
      state = 'unknown';
    }
    if (state !== 'unknown') this.handleState(state);
    if (this.autoTick) {
      this.timer = setInterval(() => this.tick(), this.settings.tickMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.noble.removeListener('stateChange', this.onStateChange);
    this.noble.removeListener('discover', this.onDiscover);
    this.noble.removeListener('scanStart', this.onScanStart);
    this.noble.removeListener('scanStop', this.onScanStop);
    this.noble.removeListener('warning', this.onWarning);
    if (this.state === 'scanning') {
      try {
        this.noble.stopScanning();
      } catch (error) {
        this.logger.warn({ err: error }, 'could not stop scanning');
      }
    }
    this.expectedStops = 0;
    this.strayStopAt = undefined;
    this.setState('stopped', undefined, this.now());
  }

  status(): BleScannerStatus {
    const rates = this.rates(this.now());
    return {
      state: this.state,
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
      advertsPerSecond: rates.seen,
      acceptedPerSecond: rates.accepted,
      tracked: this.tracker.size,
      watchdogRestarts: this.watchdogRestarts,
      adapterState: this.adapterState,
    };
  }

  /** Adverts noble reported (`seen`) and the classifier accepted, since the scanner was made: they only grow. */
  advertCounts(): { seen: number; accepted: number } {
    return { ...this.totals };
  }

  /** noble cache entries the scanner currently accounts for (bounded by libraryCacheMax). */
  get libraryCacheSize(): number {
    return this.heard.size;
  }

  /**
   * Periodic work, at `now`: the watchdog, the tracker's quiet-period timeout, library cache
   * pruning. Runs on the scanner's timer unless autoTick is false.
   */
  tick(now: number = this.now()): void {
    if (!this.running) return;
    if (this.state === 'scanning') {
      if (this.strayStopAt !== undefined && now - this.strayStopAt >= this.settings.restartAfterStopMs) {
        this.restartScan('scanning was stopped by another client', now);
      } else if (now - Math.max(this.lastHeardAt, this.scanRequestedAt) >= this.watchdogPeriod) {
        this.watchdogRestarts += 1;
        this.logger.warn({ quietMs: now - Math.max(this.lastHeardAt, this.scanRequestedAt), restarts: this.watchdogRestarts }, 'no advert heard; restarting the scan');
        this.watchdogPeriod = Math.min(this.watchdogPeriod * 2, this.settings.maxWatchdogMs);
        this.restartScan('watchdog: no advert heard', now);
      }
      this.tracker.tick(now);
    }
    if (this.settings.pruneLibraryCache) {
      for (const [id, at] of this.heard) {
        if (now - at < this.settings.libraryCacheMs) break;
        this.forgetPeripheral(id);
      }
    }
  }

  private handleState(state: NobleAdapterState): void {
    const now = this.now();
    const previous = this.adapterState;
    this.adapterState = state;
    if (!this.running) return;
    if (state === 'poweredOn') {
      if (this.state !== 'scanning' || previous !== 'poweredOn') this.beginScan(now);
      return;
    }
    const unavailable = unavailableReasons[state];
    if (unavailable) this.setState('unavailable', unavailable, now);
    else this.setState('waiting-for-adapter', `Bluetooth adapter is ${state}`, now);
  }

  private beginScan(now: number): void {
    // noble throws (without a callback) unless poweredOn: check first, and catch what slips through.
    let adapter: NobleAdapterState;
    try {
      adapter = this.noble.state;
    } catch {
      adapter = 'unknown';
    }
    if (adapter !== 'poweredOn') {
      this.setState('waiting-for-adapter', `Bluetooth adapter is ${adapter}`, now);
      return;
    }
    try {
      this.noble.startScanning([], true);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not start scanning');
      this.setState('waiting-for-adapter', `could not start scanning: ${(error as Error).message}`, now);
      return;
    }
    this.scanRequestedAt = now;
    this.strayStopAt = undefined;
    this.setState('scanning', undefined, now);
  }

  private restartScan(why: string, now: number): void {
    this.expectedStops += 1;
    try {
      this.noble.stopScanning();
    } catch (error) {
      this.expectedStops -= 1;
      this.logger.warn({ err: error }, 'could not stop scanning before the restart');
    }
    this.beginScan(now);
    if (this.state === 'scanning') this.reason = `restarted: ${why}`;
  }

  private handleScanStop(): void {
    if (this.expectedStops > 0) {
      this.expectedStops -= 1;
      return;
    }
    if (!this.running || this.state !== 'scanning') return;
    // Someone else (another HCI client, bleno, bluetoothctl) turned scanning off: restart soon,
    // unless it comes back by itself (scanStart or adverts clear this).
    this.logger.warn('scanning stopped without our asking');
    this.strayStopAt ??= this.now();
  }

  private handleWarning(message: string): void {
    this.logger.warn({ noble: message }, 'noble warning');
    if (this.running && message.startsWith('Initialization of USB device failed')) {
      this.setState('unavailable', `Bluetooth unavailable: ${message}`, this.now());
    }
  }

  private handleDiscover(peripheral: NoblePeripheral): void {
    const now = this.now();
    this.lastHeardAt = now;
    this.watchdogPeriod = this.settings.watchdogMs;
    this.strayStopAt = undefined;
    const bucket = this.bucket(now);
    bucket.seen += 1;
    this.totals.seen += 1;
    if (this.settings.pruneLibraryCache) this.touchPeripheral(peripheral.id, now);

    const rssi = peripheral.rssi;
    if (typeof rssi !== 'number' || !Number.isFinite(rssi) || rssi > MAX_RSSI || rssi < MIN_RSSI) return;
    let match: { tagId: string } | null;
    try {
      match = this.classify(peripheral.address, peripheral.advertisement, rssi);
    } catch (error) {
      this.classifyErrors += 1;
      if (now - this.lastClassifyErrorLog >= 60_000) {
        this.lastClassifyErrorLog = now;
        this.logger.warn({ err: error, address: peripheral.address, errors: this.classifyErrors }, 'advert classifier failed; advert ignored');
      }
      return;
    }
    if (!match) return;
    bucket.accepted += 1;
    this.totals.accepted += 1;
    this.tracker.observe(match.tagId, rssi, now);
  }

  private setState(state: ScannerState, reason: string | undefined, now: number): void {
    const changed = state !== this.state || reason !== this.reason;
    const wasScanning = this.state === 'scanning';
    this.state = state;
    this.reason = reason;
    if (state === 'scanning' && !wasScanning) this.tracker.resume(now);
    if (state !== 'scanning' && wasScanning) this.tracker.suspend(now);
    if (changed) {
      const fields = { state, ...(reason !== undefined ? { reason } : {}), adapter: this.adapterState };
      if (state === 'unavailable') this.logger.warn(fields, 'BLE scanner unavailable');
      else this.logger.info(fields, 'BLE scanner state');
    }
  }

  private bucket(now: number): { second: number; seen: number; accepted: number } {
    const second = Math.floor(now / 1000);
    const bucket = this.buckets[second % this.buckets.length] as { second: number; seen: number; accepted: number };
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.seen = 0;
      bucket.accepted = 0;
    }
    return bucket;
  }

  /** Averages over the complete seconds of the window (the current second is still counting). */
  private rates(now: number): { seen: number; accepted: number } {
    const current = Math.floor(now / 1000);
    const windowSeconds = this.buckets.length - 1;
    const elapsed = Math.min(windowSeconds, current - Math.floor(this.countingSince / 1000));
    if (elapsed <= 0) return { seen: 0, accepted: 0 };
    let seen = 0;
    let accepted = 0;
    for (const bucket of this.buckets) {
      if (bucket.second >= current - elapsed && bucket.second < current) {
        seen += bucket.seen;
        accepted += bucket.accepted;
      }
    }
    return { seen: seen / elapsed, accepted: accepted / elapsed };
  }

  private touchPeripheral(id: string, now: number): void {
    this.heard.delete(id);
    this.heard.set(id, now);
    if (this.heard.size > this.settings.libraryCacheMax) {
      const oldest = this.heard.keys().next();
      if (!oldest.done) this.forgetPeripheral(oldest.value);
    }
  }

  /** Deletes one address from noble's caches and the Linux HCI binding's, unless it is connected. */
  private forgetPeripheral(id: string): void {
    this.heard.delete(id);
    const internals = this.noble as unknown as NobleInternals;
    const peripheral = internals._peripherals?.[id];
    if (peripheral && peripheral.state !== 'disconnected') return;
    const address = peripheral?.address;
    if (internals._peripherals) delete internals._peripherals[id];
    if (internals._services) delete internals._services[id];
    if (internals._characteristics) delete internals._characteristics[id];
    if (internals._descriptors) delete internals._descriptors[id];
    if (internals._discoveredPeripheralUUids) delete internals._discoveredPeripheralUUids[id];
    const binding = internals._bindings;
    if (!binding) return;
    if (binding._addresses) delete binding._addresses[id];
    if (binding._addresseTypes) delete binding._addresseTypes[id];
    if (binding._connectable) delete binding._connectable[id];
    if (binding.scannable) delete binding.scannable[id];
    if (address !== undefined && binding._gap?._discoveries) delete binding._gap._discoveries[address];
  }
}
