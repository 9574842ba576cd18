import type { Logger } from 'pino';
import { aes128, keyFromHex, type Aes128Block } from '../../core/beacon/aes-block.js';
import { eidAt } from '../../core/beacon/eddystone-eid.js';
import { rotatingMinorAt } from '../../core/beacon/rotating-ibeacon.js';
import type { PresenceStatus } from '../../core/messages.js';
import type { PresenceSettings } from '../../core/presence-settings.js';
import type { RosterEntry } from '../../core/roster.js';
import { buildAdvertisement } from '../../firmware-bridge/ble/advertisement.js';
import type { Clock } from '../clock.js';
import type { GatewayConfig } from '../config.js';
import type { Tap, TapOutcome } from '../punch-desk.js';
import type { RosterIndex } from '../roster-index.js';
import { BleAdvertiser, type AdvertisingFrame } from './ble-advertiser.js';
import { loadBleno, loadNoble, type BleModuleLoad, type BlenoLike } from './ble-modules.js';
import { BleScanner } from './ble-scanner.js';
import { HandsFree } from './hands-free.js';
import type { NobleLike } from './noble-types.js';
import { PresenceTracker } from './presence-tracker.js';
import { rosterTagClassifier, rosterTagUids } from './tag-classifier.js';
import { WifiScanner } from './wifi-scanner.js';
import { WifiSiteCheck } from './wifi-site-check.js';

export interface PresenceOptions {
  hardware: GatewayConfig['presence'];
  /** The site's presence settings in force (pushed or local); read again at `reconfigure()`. */
  settings: () => PresenceSettings;
  roster: () => RosterIndex;
  /** The punch desk: hands-free punches go the same way as badges (`method: 'ble'`). */
  submit: (tap: Tap) => Promise<TapOutcome>;
  clock: Pick<Clock, 'now'>;
  logger: Logger;
  /** Tests hand in noble over a fake binding, bleno over a fake HCI socket, nmcli's PATH. */
  deps?: {
    noble?: NobleLike | BleModuleLoad<NobleLike>;
    bleno?: BlenoLike | BleModuleLoad<BlenoLike>;
    wifiEnv?: Readonly<Record<string, string | undefined>>;
    handsFreeTickMs?: number;
  };
}

type Unavailable = { state: 'unavailable' | 'disabled' | 'not-configured'; reason: string };

const MIN_FRAME_MS = 1000;

/**
 * The gateway's presence: the BLE scanner feeding the tracker and hands-free punching, the
 * rotating-beacon advertiser, the Wi-Fi site check. Each part that lacks its hardware, permission
 * or settings reports why and stays out of the way; nothing here stops the gateway from starting.
 */
export class Presence {
  private readonly logger: Logger;
  private scanner: BleScanner | undefined;
  private tracker: PresenceTracker | undefined;
  private handsFree: HandsFree | undefined;
  private handsFreeTimer: NodeJS.Timeout | undefined;
  private advertiser: BleAdvertiser | undefined;
  private wifi: WifiScanner | undefined;
  private readonly wifiCheck: WifiSiteCheck;
  private scannerDown: Unavailable | undefined;
  private advertiserDown: Unavailable | undefined;
  private wifiDown: Unavailable | undefined;
  private bleno: BlenoLike | BleModuleLoad<BlenoLike> | undefined;
  private advertisedKeys = '';
  private tagCache: { roster: RosterIndex; uids: Set<string> } | undefined;
  private readonly keyCache = new Map<string, Aes128Block>();
  private sigintGuard: (() => void) | undefined;

  constructor(private readonly options: PresenceOptions) {
    this.logger = options.logger.child({ part: 'presence' });
    this.wifiCheck = new WifiSiteCheck({ expectedBssids: [], logger: this.logger });
  }

  start(): void {
    this.startScanner();
    this.reconfigure();
  }

  /** Takes the settings in force again (after a pushed config): hands-free, advertiser keys, BSSIDs. */
  reconfigure(): void {
    const settings = this.options.settings();
    this.handsFree?.updateSettings({ enabled: settings.handsFree?.enabled ?? false, punchOutAfterMs: (settings.handsFree?.punchOutAfterSeconds ?? 600) * 1000 });
    this.reconfigureAdvertiser(settings);
    this.reconfigureWifi(settings);
  }

  async stop(): Promise<void> {
    clearInterval(this.handsFreeTimer);
    this.scanner?.stop();
    await this.advertiser?.stop();
    await this.wifi?.stop();
    if (this.sigintGuard) process.removeListener('SIGINT', this.sigintGuard);
  }

  /** Scans Wi-Fi now (a technician's check after moving a terminal); resolves with the site check's verdict. */
  async scanWifiNow(): Promise<void> {
    await this.wifi?.scanNow();
  }

  /** Alarms for the status and the kiosk: a terminal that no longer sees its shop's access points. */
  alarms(): string[] {
    const wifi = this.wifiCheck.status();
    return wifi.alarm ? [`terminal may have been moved: it sees ${wifi.seenExpected} of its site's ${wifi.expected} Wi-Fi access points (score ${wifi.score ?? 0})`] : [];
  }

  /**
   * What makes the gateway unhealthy: an alarm, or a part the site relies on that cannot run. A
   * radio missing where the site asks nothing of it is reported in status, not as a problem.
   */
  problems(): string[] {
    const status = this.status();
    const problems = this.alarms();
    if (this.options.settings().handsFree?.enabled && status.scanner.state !== 'scanning') {
      problems.push(`hands-free punching is on but BLE scanning is ${status.scanner.state}${status.scanner.reason ? ` (${status.scanner.reason})` : ''}`);
    }
    if (this.advertiser && (status.advertiser.state === 'unavailable' || status.advertiser.state === 'error')) {
      problems.push(`rotating beacon: ${status.advertiser.state}${status.advertiser.reason ? ` (${status.advertiser.reason})` : ''}`);
    }
    return problems;
  }

  /** BLE adverts heard and accepted since start (counters for /metrics); undefined without a scanner. */
  advertCounts(): { seen: number; accepted: number } | undefined {
    return this.scanner?.advertCounts();
  }

  status(): PresenceStatus {
    return {
      scanner: this.scanner ? this.scanner.status() : (this.scannerDown ?? { state: 'disabled', reason: 'not started' }),
      advertiser: this.advertiser ? this.advertiser.status() : (this.advertiserDown ?? { state: 'disabled', reason: 'not started' }),
      wifi: this.wifiDown && !this.wifi ? this.wifiDown : this.wifiCheck.status(),
      handsFree: { enabled: this.handsFree?.enabled ?? false, clockedIn: this.handsFree?.clockedIn().length ?? 0 },
    };
  }

  private startScanner(): void {
    const { hardware, logger } = this.options;
    if (!hardware.ble.scan) {
      this.scannerDown = { state: 'disabled', reason: 'presence.ble.scan is false' };
      return;
    }
    const loaded = this.options.deps?.noble ?? loadNoble();
    const noble = 'ok' in loaded ? (loaded.ok ? loaded.module : undefined) : loaded;
    if (!noble) {
      this.scannerDown = { state: 'unavailable', reason: (loaded as { reason: string }).reason };
      this.logger.warn({ reason: this.scannerDown.reason }, 'BLE scanning unavailable; badges and the rest run on');
      return;
    }
    const now = (): number => this.options.clock.now().getTime();
    this.tracker = new PresenceTracker({ logger: logger.child({ part: 'presence.tracker' }), now });
    this.handsFree = new HandsFree({
      roster: this.options.roster,
      recordPunch: async (request) => {
        const outcome = await this.options.submit(request);
        if (outcome.result === 'error') throw new Error(outcome.reason ?? 'the punch could not be recorded');
        return outcome;
      },
      logger: logger.child({ part: 'presence.hands-free' }),
      now,
    });
    this.handsFree.attach(this.tracker);
    this.handsFreeTimer = setInterval(() => this.handsFree?.tick(), this.options.deps?.handsFreeTickMs ?? 1000);
    this.handsFreeTimer.unref();
    this.scanner = new BleScanner({
      noble,
      classify: rosterTagClassifier(() => this.tagUids()),
      tracker: this.tracker,
      logger: logger.child({ part: 'presence.scanner' }),
      now,
    });
    this.scanner.start();
  }

  /** The roster's tag uids, recomputed only when the roster object changes. */
  private tagUids(): ReadonlySet<string> {
    const roster = this.options.roster();
    if (this.tagCache?.roster !== roster) {
      const entries: RosterEntry[] = [...roster.entries()];
      this.tagCache = { roster, uids: rosterTagUids(entries) };
    }
    return this.tagCache.uids;
  }

  private reconfigureAdvertiser(settings: PresenceSettings): void {
    const { hardware } = this.options;
    const beacon = settings.beacon;
    const keys = JSON.stringify(beacon ?? null);
    if (keys === this.advertisedKeys && (this.advertiser || this.advertiserDown)) return;
    this.advertisedKeys = keys;
    void this.advertiser?.stop();
    this.advertiser = undefined;
    if (!hardware.ble.advertise) {
      this.advertiserDown = { state: 'disabled', reason: 'presence.ble.advertise is false' };
      return;
    }
    if (!beacon?.eid && !beacon?.ibeacon) {
      this.advertiserDown = { state: 'not-configured', reason: 'no rotating-beacon keys in the site settings' };
      return;
    }
    this.bleno ??= this.options.deps?.bleno ?? loadBleno();
    this.advertiserDown = undefined;
    this.advertiser = new BleAdvertiser({
      bleno: this.bleno,
      frameAt: (nowMs) => this.framesAt(beacon, nowMs),
      logger: this.options.logger,
      clock: this.options.clock,
    });
    this.advertiser.start();
    // bleno's init adds a SIGINT listener that calls process.exit(1) when it is the last one,
    // which would skip the graceful stop (the offline status, the last commits). One after it
    // keeps it from being last; the process's own handler still decides.
    const blenoLoaded = !('ok' in this.bleno) || this.bleno.ok;
    if (blenoLoaded && !this.sigintGuard) {
      this.sigintGuard = () => undefined;
      process.on('SIGINT', this.sigintGuard);
    }
  }

  /** The rotating frames on air now: the Eddystone-EID and the iBeacon with the rotating minor. */
  private framesAt(beacon: NonNullable<PresenceSettings['beacon']>, nowMs: number): AdvertisingFrame[] {
    const unix = Math.floor(nowMs / 1000);
    const frames: AdvertisingFrame[] = [];
    if (beacon.eid) {
      const at = eidAt({ identityKey: this.key(beacon.eid.identityKey), rotationExponent: beacon.eid.rotationExponent, epochUnixSeconds: beacon.eid.epochUnixSeconds }, unix);
      frames.push({
        advertisement: buildAdvertisement({ kind: 'eddystone-eid', txPower: beacon.eid.txPower, eid: at.eid }),
        validUntilMs: Math.max(at.endUnix * 1000, nowMs + MIN_FRAME_MS),
        label: 'eddystone-eid',
      });
    }
    if (beacon.ibeacon) {
      const at = rotatingMinorAt(this.key(beacon.ibeacon.siteKey), beacon.ibeacon.rotationExponent, unix);
      frames.push({
        advertisement: buildAdvertisement({ kind: 'ibeacon', uuid: beacon.ibeacon.uuid, major: beacon.ibeacon.major, minor: at.minor, measuredPower: beacon.ibeacon.measuredPower }),
        validUntilMs: Math.max(at.endUnix * 1000, nowMs + MIN_FRAME_MS),
        label: 'ibeacon',
      });
    }
    return frames;
  }

  /** The AES key schedules of the keys in force (the EID key and the site key, both used at each rotation). */
  private key(hex: string): Aes128Block {
    let key = this.keyCache.get(hex);
    if (!key) {
      key = aes128(keyFromHex(hex));
      // Keys change only with a pushed config: forget the old ones then, not at every other lookup.
      if (this.keyCache.size >= 4) this.keyCache.clear();
      this.keyCache.set(hex, key);
    }
    return key;
  }

  private reconfigureWifi(settings: PresenceSettings): void {
    const { hardware } = this.options;
    const expected = settings.wifi?.expectedBssids ?? [];
    this.wifiCheck.configure({ expectedBssids: expected });
    if (!hardware.wifi.enabled) {
      this.wifiDown = { state: 'disabled', reason: 'presence.wifi.enabled is false' };
      return;
    }
    // Scanning proves nothing without the shop's own access points to look for.
    if (expected.length === 0) {
      void this.wifi?.stop();
      this.wifi = undefined;
      this.wifiDown = { state: 'not-configured', reason: 'no expected Wi-Fi access points in the site settings' };
      return;
    }
    this.wifiDown = undefined;
    if (this.wifi) {
      void this.wifi.scanNow();
      return;
    }
    this.wifi = new WifiScanner({
      logger: this.options.logger,
      iface: hardware.wifi.iface,
      intervalMs: hardware.wifi.scanIntervalSeconds * 1000,
      siteCheck: this.wifiCheck,
      ...(this.options.deps?.wifiEnv ? { env: this.options.deps.wifiEnv } : {}),
    });
    void this.wifi.start();
  }
}
