import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { NobleAdapterState, NobleLike } from '../../gateway/presence/noble-types.js';
import { prng } from './prng.js';

/**
 * A fake noble binding: the lowest layer noble offers (what lib/hci-socket/bindings.js is on Linux),
 * so tests run noble's real lib/noble.js on top of it. Advertising reports go through noble's real
 * HCI GAP parser (lib/hci-socket/gap.js, plain JS) from raw EIR bytes, so the advertisement objects
 * the scanner sees are exactly those noble builds on a Pi: manufacturerData with the company id,
 * serviceData [{uuid: 'feaa', data}] without the uuid, merged across reports of one address.
 *
 * Like a real adapter it reports adverts only while scanning and poweredOn; `goDeaf()` makes it stop
 * reporting without a word (as some adapters do) until the next startScanning. Every call noble
 * makes is recorded in `calls`.
 */

const require = createRequire(import.meta.url);

interface GapLike extends EventEmitter {
  _discoveries: Record<string, unknown>;
}
type GapConstructor = new (hci: EventEmitter) => GapLike;
const Gap = require('@abandonware/noble/lib/hci-socket/gap.js') as GapConstructor;
const withBindings = require('@abandonware/noble/with-bindings') as (bindings: unknown) => NobleLike;

/** HCI LE advertising report event types (Core spec Vol 4 Part E 7.7.65.2). */
export const AdvEventType = {
  /** ADV_IND: connectable undirected. */
  connectable: 0x00,
  /** ADV_SCAN_IND: scannable undirected. */
  scannable: 0x02,
  /** ADV_NONCONN_IND: non-connectable (beacons). */
  nonConnectable: 0x03,
  /** SCAN_RSP. */
  scanResponse: 0x04,
} as const;

export interface BindingCall {
  method: string;
  args: unknown[];
}

export interface AdvertisingReport {
  /** 'aa:bb:cc:dd:ee:ff', lower-case, as the HCI layer formats it. */
  address: string;
  addressType: 'public' | 'random';
  /** HCI event type: see AdvEventType. Beacons send nonConnectable. */
  eventType: number;
  /** The advertising data (EIR / AD structures) as hex. */
  eir: string;
  rssi: number;
}

export class FakeNobleBinding extends EventEmitter {
  readonly calls: BindingCall[] = [];
  /** What hci-socket's bindings keep per peripheral id (the scanner prunes these like the real ones). */
  _addresses: Record<string, string> = {};
  _addresseTypes: Record<string, string> = {};
  _connectable: Record<string, boolean> = {};
  scannable: Record<string, boolean> = {};
  readonly _gap: GapLike;
  private readonly hci = new EventEmitter();
  private adapter: NobleAdapterState = 'unknown';
  private scanning = false;
  private deaf = false;
  private scanServiceUuids: string[] | undefined;

  /** @param initialState the state `init()` reports (a Pi with its adapter up: poweredOn). */
  constructor(private readonly initialState: NobleAdapterState = 'poweredOn') {
    super();
    this._gap = new Gap(this.hci);
    this._gap.on('discover', (_status: number, address: string, addressType: string, connectable: boolean, advertisement: unknown, rssi: number, scannable: boolean) => {
      // As lib/hci-socket/bindings.js onDiscover (with no service uuid filter).
      if (this.scanServiceUuids === undefined) return;
      const uuid = address.split(':').join('');
      this._addresses[uuid] = address;
      this._addresseTypes[uuid] = addressType;
      this._connectable[uuid] = connectable;
      this.scannable[uuid] = scannable;
      this.emit('discover', uuid, address, addressType, connectable, advertisement, rssi, scannable);
    });
  }

  callsTo(method: string): BindingCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  get isScanning(): boolean {
    return this.scanning;
  }

  // ---- the binding interface noble's lib/noble.js calls ----

  init(): void {
    this.calls.push({ method: 'init', args: [] });
    process.nextTick(() => this.setAdapterState(this.initialState));
  }

  startScanning(serviceUuids: string[] | undefined, allowDuplicates: boolean): void {
    this.calls.push({ method: 'startScanning', args: [serviceUuids, allowDuplicates] });
    this.scanServiceUuids = serviceUuids ?? [];
    this.scanning = true;
    this.deaf = false;
    process.nextTick(() => this.emit('scanStart', !allowDuplicates));
  }

  stopScanning(): void {
    this.calls.push({ method: 'stopScanning', args: [] });
    this.scanning = false;
    process.nextTick(() => this.emit('scanStop'));
  }

  setScanParameters(interval?: number, window?: number): void {
    this.calls.push({ method: 'setScanParameters', args: [interval, window] });
    process.nextTick(() => this.emit('scanParametersSet'));
  }

  reset(): void {
    this.calls.push({ method: 'reset', args: [] });
  }

  // ---- test controls ----

  /** The adapter changes state (the HCI layer reports only changes). */
  setAdapterState(state: NobleAdapterState): void {
    if (state === this.adapter) return;
    this.adapter = state;
    if (state !== 'poweredOn') this.scanning = false;
    this.emit('stateChange', state);
  }

  /** The adapter keeps saying it scans but reports nothing, until startScanning is called again. */
  goDeaf(): void {
    this.deaf = true;
  }

  /** Another HCI client turns scanning off behind noble's back. */
  stopScanningBehindOurBack(): void {
    this.scanning = false;
    this.emit('scanStop');
  }

  /** One LE advertising report from the air; false when the adapter would not have reported it. */
  advertise(report: AdvertisingReport): boolean {
    if (this.adapter !== 'poweredOn' || !this.scanning || this.deaf) return false;
    this.hci.emit('leAdvertisingReport', 0, report.eventType, report.address, report.addressType, Buffer.from(report.eir, 'hex'), Math.round(report.rssi));
    return true;
  }

  /**
   * Replays a recording in time order: `advanceTo(at)` runs before each advert (move the test
   * clock, tick the scanner), then the advert is reported. Returns how many the adapter reported.
   */
  replay(recording: readonly RecordedAdvert[], advanceTo: (at: number) => void): number {
    let reported = 0;
    for (const advert of recording) {
      advanceTo(advert.at);
      if (this.advertise(advert)) reported += 1;
    }
    return reported;
  }
}

/** A real noble (lib/noble.js) over a fake binding. */
export function nobleWithFakeBinding(initialState: NobleAdapterState = 'poweredOn'): { noble: NobleLike; binding: FakeNobleBinding } {
  const binding = new FakeNobleBinding(initialState);
  return { noble: withBindings(binding), binding };
}

// ---- recorded advertisements ----

export interface RecordedAdvert extends AdvertisingReport {
  /** ms since the start of the recording. */
  at: number;
}

/**
 * Advertising data captured from the tags the tests use (AD structures as hex, flags first).
 * STAFF_IBEACON is the iBeacon of docs/HARDWARE.md: uuid E2C56DB5-DFFB-48D2-B060-D0F5A71096E0,
 * major 1, minor 200, -59 dBm at 1 m. STAFF_EDDYSTONE_UID is an Eddystone-UID frame, namespace
 * 8B0CA750E7A74E14BD99, instance 000000000042, tx@0m -18 dBm. PHONE_NOISE is the kind of connectable
 * advert a phone sends (Apple continuity, company id 004C, type 0x10), which the classifiers ignore.
 */
export const recordedFrames = {
  STAFF_IBEACON: '0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E0000100C8C5',
  SECOND_IBEACON: '0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E0000100C9C5',
  STAFF_EDDYSTONE_UID: '0201060303AAFE1716AAFE00EE8B0CA750E7A74E14BD990000000000420000',
  PHONE_NOISE: '02011A0AFF4C001005031C0E6B8A',
} as const;

export interface RssiSegment {
  /** Duration of the segment (ms). */
  ms: number;
  /** RSSI at its start and end (dBm); linear in between. */
  from: number;
  to: number;
}

/**
 * A session recorded from one tag: one advert every `intervalMs` (with a little jitter, as
 * advertising intervals have), RSSI following `segments` plus seeded gaussian noise of `noiseDb`
 * standard deviation. Deterministic for a seed.
 */
export function recordSession(options: {
  address: string;
  eir: string;
  segments: readonly RssiSegment[];
  seed: number;
  noiseDb?: number;
  intervalMs?: number;
  startAt?: number;
  addressType?: 'public' | 'random';
  eventType?: number;
}): RecordedAdvert[] {
  const random = prng(options.seed);
  const gaussian = (): number => {
    // Box-Muller on the seeded generator.
    const u = Math.max(random(), 1e-12);
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const interval = options.intervalMs ?? 200;
  const noise = options.noiseDb ?? 5;
  const adverts: RecordedAdvert[] = [];
  let segmentStart = options.startAt ?? 0;
  let at = segmentStart;
  for (const segment of options.segments) {
    const end = segmentStart + segment.ms;
    while (at < end) {
      const fraction = segment.ms === 0 ? 1 : (at - segmentStart) / segment.ms;
      const rssi = segment.from + (segment.to - segment.from) * fraction + gaussian() * noise;
      adverts.push({
        at: Math.round(at),
        address: options.address,
        addressType: options.addressType ?? 'public',
        eventType: options.eventType ?? AdvEventType.nonConnectable,
        eir: options.eir,
        rssi: Math.max(-127, Math.min(20, Math.round(rssi))),
      });
      // Advertising interval plus the 0-10 ms random advDelay the spec adds.
      at += interval + random() * 10;
    }
    segmentStart = end;
  }
  return adverts;
}

/** Merges recordings into one time-ordered stream. */
export function mergeRecordings(...recordings: ReadonlyArray<readonly RecordedAdvert[]>): RecordedAdvert[] {
  return recordings.flat().sort((a, b) => a.at - b.at);
}

/** A random static / resolvable private address for `n` (what rotating phones look like). */
export function randomAddress(random: () => number): string {
  const bytes = Array.from({ length: 6 }, () => Math.floor(random() * 256));
  bytes[0] = ((bytes[0] as number) & 0x3f) | 0x40; // resolvable private address: top bits 01
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}
