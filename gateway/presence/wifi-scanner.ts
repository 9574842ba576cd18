import { EventEmitter } from 'node:events';
import type { NodeWifi } from 'node-wifi';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isPlaceholderBssid, normaliseBssid } from '../../core/location/site-location-policy.js';
import { WifiSiteCheck, type WifiSiteStatus } from './wifi-site-check.js';

/**
 * Periodic Wi-Fi scans through node-wifi (which runs `nmcli --terse ... device wifi list ifname
 * IFACE`), fed to a {@link WifiSiteCheck}.
 *
 * What node-wifi@2.0.16 does, read in node_modules/node-wifi/src, and what this file does about it:
 *
 * - **Loading it mutates the process.** `src/env.js` is `Object.assign(process.env, {LANG, LC_ALL,
 *   LC_MESSAGES: 'en_US.UTF-8'})`, run at require time, and node-wifi passes that very object
 *   (`process.env`) as the child's env. We import it lazily inside try/catch, put the three
 *   variables back as they were right after, and set node-wifi's values again only around the
 *   synchronous call that spawns nmcli (so nmcli still answers in English, which the parser and
 *   our error matching need, and the rest of the gateway keeps its own locale).
 * - **The same trick gives the scanner an `env` option** (e.g. a PATH with a test's fake nmcli
 *   first): execFile copies the env and looks nmcli up on its PATH synchronously, inside
 *   `scan()`, before it returns its promise.
 * - **`init({iface})` is mandatory** and its config is module-global: a falsy iface does not unset
 *   an earlier one. We call it before every scan so the iface is ours; one iface per process.
 * - **Named ESM exports are stale**: `init()` replaces `exports.scan`, but the `scan` named export
 *   Node snapshotted at import stays the "use init before" stub: only `default.scan` works.
 * - **Lower-case BSSIDs**: its BSSID regex is `[A-F0-9]` with no `i` flag, so a line whose BSSID is
 *   lower-case is dropped before we ever see it. Not fixable from outside node-wifi; real nmcli
 *   prints BSSIDs upper-case (NetworkManager formats them so), so it only matters for other tools.
 * - **An SSID containing `:`** (nmcli escapes it as `\:`) is split at that colon: every later field
 *   shifts, so mode/channel/frequency/quality become other fields' text (quality 2462 from
 *   "2462 MHz", NaN, ...). An SSID that itself looks like a BSSID is even taken for the BSSID. We
 *   validate every record (BSSID 6 hex bytes, known mode, plausible channel, frequency 2400-7200
 *   MHz, integer quality 0-100, SSID not ending in half an escape) and drop the rest as *garbled*
 *   with a debug log; their BSSIDs never count. node-wifi cannot be made correct here: it throws
 *   the raw line away, so an access point whose SSID contains `:` is invisible to the site check
 *   (do not list such an AP as expected; the site check warns if one of its expected BSSIDs only
 *   shows up in a garbled record).
 * - **`signal_level` is not dBm**: node-wifi computes `quality / 2 - 100` from nmcli's 0-100 SIGNAL.
 *   We use `quality` (0-100) as the only strength measure and expose no dBm.
 * - **No timeout** and no handle on the child: a hung nmcli cannot be killed through node-wifi. A
 *   scan not answered within `timeoutMs` makes the state unavailable; no new nmcli is started until
 *   the hung one exits (scans never overlap), and its late answer is dropped.
 */

/** The scanner's settings (e.g. `presence.wifi` in the gateway config). */
export const WifiScannerConfig = z
  .object({
    /** The Wi-Fi interface (`ifname` for nmcli); null lists every Wi-Fi device NetworkManager has. */
    iface: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be a network interface name such as wlan0')
      .nullable()
      .default('wlan0'),
    scanIntervalSeconds: z.number().min(5).max(86_400).default(60),
    /** An nmcli not answering within this makes the Wi-Fi state unavailable. */
    scanTimeoutSeconds: z.number().min(1).max(300).default(20),
  })
  .strict();
export type WifiScannerConfig = z.output<typeof WifiScannerConfig>;

/** One access point of a scan, validated. */
export interface WifiNetwork {
  /** Upper-case, colon-separated. */
  bssid: string;
  /** null: hidden SSID. nmcli's `\\` escapes are undone. */
  ssid: string | null;
  /** nmcli's SIGNAL, 0-100: the only strength measure (node-wifi's signal_level is not dBm). */
  quality: number;
  channel: number;
  frequencyMhz: number;
  /** nmcli's mode: Infra, Ad-Hoc, Mesh or N/A. */
  mode: string;
  /** nmcli's SECURITY, e.g. `WPA2`, `WPA1 WPA2`, `WPA2 802.1X`; `none` for an open network. */
  security: string;
}

/** A record node-wifi produced from a line it mis-parsed: nothing in it is trusted. */
export interface GarbledRecord {
  /** What node-wifi called the BSSID, normalised if it has the form, else null. Not trusted. */
  bssid: string | null;
  ssid: string;
  why: string;
}

export interface WifiScan {
  /** ISO time the scan was started. */
  at: string;
  /** Valid networks, one per BSSID (the strongest line when nmcli lists one several times). */
  networks: WifiNetwork[];
  garbled: GarbledRecord[];
}

export type WifiScanFailureKind =
  | 'nmcli-missing'
  | 'permission-denied'
  | 'no-wifi-device'
  | 'networkmanager-down'
  | 'nmcli-failed'
  | 'timeout'
  | 'busy'
  | 'no-networks'
  | 'node-wifi-unavailable'
  | 'unsupported-platform';

export interface WifiScanFailure {
  at: string;
  kind: WifiScanFailureKind;
  reason: string;
}

export interface WifiScannerOptions {
  logger: Logger;
  /** Passed to `wifi.init({iface})` (nmcli `ifname`); null: all Wi-Fi devices. */
  iface: string | null;
  /** Pause between the end of one scan and the start of the next. */
  intervalMs: number;
  /** 20 s by default. */
  timeoutMs?: number;
  /** Fed with every scan and failure; a `not-configured` one (no expected BSSIDs) by default. */
  siteCheck?: WifiSiteCheck;
  /**
   * Variables set on top of process.env for the nmcli child only (undefined removes one), e.g.
   * `{PATH: '/opt/fake:' + process.env.PATH}`. Read at every scan, so a caller may change it.
   */
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => Date;
}

interface WifiScannerEvents {
  /** A scan worked (before the site check's verdict, which follows as `status`). */
  scan: [WifiScan];
  /** A scan attempt failed. */
  failure: [WifiScanFailure];
  /** After every attempt. */
  status: [WifiSiteStatus];
  /** The moved-terminal alarm was raised or cleared. */
  alarm: [{ change: 'raised' | 'cleared'; status: WifiSiteStatus }];
}

/** What node-wifi's `src/env.js` sets on process.env at require time and on nmcli's env. */
const NMCLI_LOCALE = { LANG: 'en_US.UTF-8', LC_ALL: 'en_US.UTF-8', LC_MESSAGES: 'en_US.UTF-8' } as const;
const LOCALE_KEYS = Object.keys(NMCLI_LOCALE) as (keyof typeof NMCLI_LOCALE)[];

const DEFAULT_TIMEOUT_MS = 20_000;
const MAX_REASON_CHARS = 200;

/** The modes nmcli prints (in the English locale node-wifi forces). */
const NMCLI_MODES = new Set(['Infra', 'Ad-Hoc', 'Mesh', 'N/A']);
const MIN_FREQUENCY_MHZ = 2400;
const MAX_FREQUENCY_MHZ = 7200;
const MAX_CHANNEL = 233;

function shorten(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_REASON_CHARS ? `${flat.slice(0, MAX_REASON_CHARS - 1)}…` : flat;
}

function setEnv(values: Readonly<Record<string, string | undefined>>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

function snapshotEnv(keys: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(keys.map((key) => [key, process.env[key]]));
}

/** Runs `fn` with process.env changed, and puts it back before returning (fn must spawn synchronously). */
function withProcessEnv<T>(values: Readonly<Record<string, string | undefined>>, fn: () => T): T {
  const saved = snapshotEnv(Object.keys(values));
  setEnv(values);
  try {
    return fn();
  } finally {
    setEnv(saved);
  }
}

type Loaded = { ok: true; wifi: NodeWifi } | { ok: false; kind: WifiScanFailureKind; reason: string };

/**
 * Imports node-wifi (lazily: only a gateway that scans pays for it), then restores the locale
 * variables its env.js overwrote on process.env. Never throws.
 */
async function loadNodeWifi(logger: Logger): Promise<Loaded> {
  if (process.platform !== 'linux') {
    return { ok: false, kind: 'unsupported-platform', reason: `Wi-Fi scanning needs Linux with NetworkManager (nmcli); this is ${process.platform}` };
  }
  const saved = snapshotEnv(LOCALE_KEYS);
  try {
    const module = await import('node-wifi');
    const wifi = module.default;
    if (typeof wifi?.init !== 'function') {
      return { ok: false, kind: 'node-wifi-unavailable', reason: 'node-wifi loaded but has no init() (an unexpected version?)' };
    }
    return { ok: true, wifi };
  } catch (error) {
    return { ok: false, kind: 'node-wifi-unavailable', reason: `node-wifi could not be loaded: ${shorten(error instanceof Error ? error.message : String(error))}` };
  } finally {
    const changed = LOCALE_KEYS.filter((key) => process.env[key] !== saved[key]);
    setEnv(saved);
    if (changed.length > 0) {
      logger.debug({ changed }, 'node-wifi set locale variables on process.env when loaded: restored; they are set for nmcli only, around each scan');
    }
  }
}

/** Undoes nmcli's terse-mode escapes (`\\` and `\:`). */
function unescapeTerse(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

function endsInHalfEscape(text: string): boolean {
  const trailing = /\\+$/.exec(text)?.[0].length ?? 0;
  return trailing % 2 === 1;
}

/** node-wifi's record: the strings must be strings; the numbers are checked by garbleReason (they can be NaN). */
const RawRecord = z.object({
  ssid: z.string(),
  bssid: z.string(),
  mode: z.unknown(),
  channel: z.unknown(),
  frequency: z.unknown(),
  quality: z.unknown(),
  security: z.unknown(),
});
type RawRecord = z.infer<typeof RawRecord>;

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Why node-wifi's record cannot be trusted, or null when it is well-formed. */
function garbleReason(record: RawRecord, bssid: string | null): string | null {
  if (bssid === null) return `BSSID ${JSON.stringify(record.bssid)} is not six hex bytes`;
  if (isPlaceholderBssid(bssid)) return `BSSID ${bssid} is a placeholder`;
  if (endsInHalfEscape(record.ssid)) return 'the SSID ends in half an escape: the line was split at an escaped ":" in the SSID';
  if (typeof record.mode !== 'string' || !NMCLI_MODES.has(record.mode)) return `mode ${JSON.stringify(record.mode)} is not an nmcli mode (fields shifted)`;
  if (!isIntegerIn(record.channel, 1, MAX_CHANNEL)) return `channel ${String(record.channel)} is not a Wi-Fi channel`;
  if (!isIntegerIn(record.frequency, MIN_FREQUENCY_MHZ, MAX_FREQUENCY_MHZ)) return `frequency ${String(record.frequency)} MHz is not a Wi-Fi frequency`;
  if (!isIntegerIn(record.quality, 0, 100)) return `quality ${String(record.quality)} is not 0-100`;
  if (record.security !== undefined && typeof record.security !== 'string') return 'security is not text';
  return null;
}

/**
 * Turns what node-wifi's scan() resolved with into validated networks (one per BSSID, the
 * strongest) and the garbled records it made of lines it mis-split. Throws if the value is not an
 * array at all.
 */
export function readNodeWifiNetworks(raw: unknown): { networks: WifiNetwork[]; garbled: GarbledRecord[] } {
  if (!Array.isArray(raw)) throw new Error(`node-wifi's scan gave ${raw === null ? 'null' : typeof raw}, not a list of networks`);
  const byBssid = new Map<string, WifiNetwork>();
  const garbled: GarbledRecord[] = [];
  for (const item of raw as unknown[]) {
    const parsed = RawRecord.safeParse(item);
    if (!parsed.success) {
      const bssid = typeof (item as { bssid?: unknown } | null)?.bssid === 'string' ? normaliseBssid((item as { bssid: string }).bssid) : null;
      garbled.push({ bssid, ssid: String((item as { ssid?: unknown } | null)?.ssid ?? ''), why: 'not a node-wifi network record' });
      continue;
    }
    const record = parsed.data;
    const bssid = normaliseBssid(record.bssid);
    const why = garbleReason(record, bssid);
    if (why !== null) {
      garbled.push({ bssid, ssid: record.ssid, why });
      continue;
    }
    // garbleReason() has checked every field's type and range.
    const network: WifiNetwork = {
      bssid: bssid as string,
      ssid: record.ssid === '' ? null : unescapeTerse(record.ssid),
      quality: record.quality as number,
      channel: record.channel as number,
      frequencyMhz: record.frequency as number,
      mode: record.mode as string,
      security: typeof record.security === 'string' && record.security !== '' ? record.security : 'none',
    };
    const known = byBssid.get(network.bssid);
    if (known === undefined || network.quality > known.quality || (network.quality === known.quality && known.ssid === null)) {
      byBssid.set(network.bssid, network);
    }
  }
  return { networks: [...byBssid.values()], garbled };
}

/** The first line of what nmcli wrote on stderr, from execFile's "Command failed: CMD\nSTDERR" message. */
function stderrOf(message: string): string {
  if (!message.startsWith('Command failed:')) return '';
  return shorten(message.split('\n').slice(1).join('\n'));
}

/** Turns node-wifi's rejection (an execFile error) into a failure kind and a reason for the status. */
export function describeScanError(error: unknown): { kind: WifiScanFailureKind; reason: string } {
  if (!(error instanceof Error)) return { kind: 'nmcli-failed', reason: `node-wifi failed: ${shorten(String(error))}` };
  const failure = error as Error & { code?: string | number | null; signal?: string | null };
  if (failure.code === 'ENOENT') return { kind: 'nmcli-missing', reason: 'nmcli was not found on PATH (is NetworkManager installed?)' };
  if (failure.code === 'EACCES' || failure.code === 'EPERM') {
    return { kind: 'permission-denied', reason: `permission denied running nmcli (${failure.code})` };
  }
  if (typeof failure.code === 'number') {
    const said = stderrOf(failure.message);
    const exited = `nmcli exited ${failure.code}${said ? `: ${said}` : ''}`;
    if (/No Wi-Fi device found|is not a Wi-Fi device|not recognized as a Wi-Fi device|Device '.*' not found/.test(said)) {
      return { kind: 'no-wifi-device', reason: `no Wi-Fi device (${exited})` };
    }
    if (/NetworkManager is not running/.test(said)) return { kind: 'networkmanager-down', reason: `NetworkManager is not running (${exited})` };
    if (/not authori[sz]ed|insufficient privileges|permission denied/i.test(said)) return { kind: 'permission-denied', reason: `permission denied (${exited})` };
    return { kind: 'nmcli-failed', reason: exited };
  }
  if (failure.signal) return { kind: 'nmcli-failed', reason: `nmcli was killed by ${failure.signal}` };
  return { kind: 'nmcli-failed', reason: `nmcli failed: ${shorten(failure.message)}` };
}

type Outcome = { kind: 'done'; value: unknown } | { kind: 'error'; error: unknown } | { kind: 'timeout' };

/**
 * The scanner: `start()` runs a first scan and then one every `intervalMs` after the previous one
 * ends (never two at once) until `stop()`. Failures never escape: they make the state
 * `unavailable` with a reason, and a later scan that works brings it back to `ok`.
 */
export class WifiScanner extends EventEmitter<WifiScannerEvents> {
  private readonly logger: Logger;
  private readonly siteCheck: WifiSiteCheck;
  private readonly timeoutMs: number;
  private readonly now: () => Date;
  private loading: Promise<Loaded> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** The attempt under way (scanNow() callers share it). */
  private attempt: Promise<WifiSiteStatus> | undefined;
  /** node-wifi's promise for an nmcli that outlived its timeout: no new nmcli until it settles. */
  private hung: { promise: Promise<unknown>; since: number } | undefined;
  private latest: WifiScan | null = null;
  /** The last failure reason logged at warn, so a failure repeating every scan is logged once. */
  private loggedFailure: string | null = null;

  constructor(private readonly options: WifiScannerOptions) {
    super();
    if (!(options.intervalMs > 0)) throw new RangeError('WifiScanner: intervalMs must be above 0');
    this.logger = options.logger.child({ part: 'presence.wifi' });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = options.now ?? (() => new Date());
    this.siteCheck = options.siteCheck ?? new WifiSiteCheck({ expectedBssids: [], logger: options.logger });
  }

  /** The site check's status: what the gateway's status/health reports. */
  status(): WifiSiteStatus {
    return this.siteCheck.status();
  }

  /** The last scan that worked, or null. */
  lastScan(): WifiScan | null {
    return this.latest;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Runs the first scan (bounded by the timeout), then one every interval until stop(). Never throws. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.scanNow();
    this.schedule();
  }

  /** Stops the scans; resolves once an attempt under way has finished (a hung nmcli is not waited for). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.attempt;
  }

  /** Scans now (even when not started); concurrent calls share one attempt. Never rejects. */
  scanNow(): Promise<WifiSiteStatus> {
    this.attempt ??= this.attemptOnce().finally(() => {
      this.attempt = undefined;
    });
    return this.attempt;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.scanNow().finally(() => this.schedule());
    }, this.options.intervalMs);
    // The scans alone must not keep the process alive; stop() still clears them.
    this.timer.unref();
  }

  private async attemptOnce(): Promise<WifiSiteStatus> {
    const at = this.now().toISOString();
    try {
      return await this.scanOnce(at);
    } catch (error) {
      // Only a bug of ours gets here; the gateway runs on all the same.
      this.logger.error({ err: error }, 'Wi-Fi scan failed unexpectedly');
      return this.fail({ at, kind: 'nmcli-failed', reason: `scan failed unexpectedly: ${shorten(error instanceof Error ? error.message : String(error))}` });
    }
  }

  private async scanOnce(at: string): Promise<WifiSiteStatus> {
    if (this.hung) {
      const since = new Date(this.hung.since).toISOString();
      return this.fail({ at, kind: 'busy', reason: `the nmcli started at ${since} has not exited (its scan timed out); no new scan until it does` });
    }
    this.loading ??= loadNodeWifi(this.logger);
    const loaded = await this.loading;
    if (!loaded.ok) return this.fail({ at, kind: loaded.kind, reason: loaded.reason });

    let pending: Promise<unknown>;
    const spawnedAt = Date.now();
    try {
      // node-wifi spawns nmcli synchronously inside scan(), with env = process.env: the locale
      // node-wifi wants and the caller's env apply to that spawn only.
      pending = withProcessEnv({ ...NMCLI_LOCALE, ...this.options.env }, () => {
        loaded.wifi.init({ iface: this.options.iface });
        return Promise.resolve(loaded.wifi.scan());
      });
    } catch (error) {
      const { kind, reason } = describeScanError(error);
      return this.fail({ at, kind, reason });
    }

    const outcome = await this.settleWithin(pending);
    if (outcome.kind === 'timeout') {
      const hung = { promise: pending, since: spawnedAt };
      this.hung = hung;
      void pending
        .catch(() => undefined)
        .finally(() => {
          if (this.hung === hung) this.hung = undefined;
          this.logger.debug('the nmcli that timed out has exited; its answer is dropped');
        });
      return this.fail({ at, kind: 'timeout', reason: `nmcli did not answer within ${this.timeoutMs} ms` });
    }
    if (outcome.kind === 'error') {
      const { kind, reason } = describeScanError(outcome.error);
      return this.fail({ at, kind, reason });
    }

    let scan: WifiScan;
    try {
      scan = { at, ...readNodeWifiNetworks(outcome.value) };
    } catch (error) {
      return this.fail({ at, kind: 'nmcli-failed', reason: shorten(error instanceof Error ? error.message : String(error)) });
    }
    for (const record of scan.garbled) {
      this.logger.debug({ bssid: record.bssid, ssid: record.ssid, why: record.why }, 'Wi-Fi scan: dropped a record node-wifi mis-parsed');
    }
    this.latest = scan;
    this.safeEmit('scan', scan);
    const update = this.siteCheck.recordScan(scan);
    // A scan listing no network at all is the radio being off, not a trip elsewhere: the site
    // check reports it unavailable, and it is logged and announced like any other failure.
    if (update.status.state === 'unavailable') this.noteFailure({ at, kind: 'no-networks', reason: update.status.reason ?? 'the scan saw no network' });
    else this.noteRecovery(scan);
    this.logger.debug({ networks: scan.networks.length, garbled: scan.garbled.length, state: update.status.state, score: update.status.score }, 'Wi-Fi scan');
    if (update.alarmChange !== null) this.safeEmit('alarm', { change: update.alarmChange, status: update.status });
    this.safeEmit('status', update.status);
    return update.status;
  }

  private settleWithin(pending: Promise<unknown>): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), this.timeoutMs);
    });
    const settled = pending.then(
      (value): Outcome => ({ kind: 'done', value }),
      (error: unknown): Outcome => ({ kind: 'error', error }),
    );
    return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
  }

  private fail(failure: WifiScanFailure): WifiSiteStatus {
    this.noteFailure(failure);
    const update = this.siteCheck.recordFailure(failure.reason);
    this.safeEmit('status', update.status);
    return update.status;
  }

  private noteFailure(failure: WifiScanFailure): void {
    if (failure.reason !== this.loggedFailure) {
      this.logger.warn({ kind: failure.kind, reason: failure.reason }, 'Wi-Fi scan unavailable; the gateway runs on without it');
      this.loggedFailure = failure.reason;
    }
    this.safeEmit('failure', failure);
  }

  private noteRecovery(scan: WifiScan): void {
    if (this.loggedFailure === null) return;
    this.logger.info({ networks: scan.networks.length, was: this.loggedFailure }, 'Wi-Fi scan works again');
    this.loggedFailure = null;
  }

  /** A throwing listener must not turn a good scan into a failure, nor escape the timer. */
  private safeEmit<K extends keyof WifiScannerEvents>(event: K, ...args: WifiScannerEvents[K]): void {
    try {
      (this.emit as (name: K, ...rest: WifiScannerEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.logger.error({ err: error, event }, 'a Wi-Fi scanner listener threw');
    }
  }
}
