/**
 * The presence bench's air: a recorded-style stream of BLE advertisements heard by a gateway in a
 * street-front shop in Mong Kok, with the roster of that shop. Deterministic for a seed. Used by
 * test/bench/presence.ts (throughput, in process) and test/bench/presence-gateway.ts (the child
 * gateway fed in real time).
 *
 * What is on air (per second, at the default 2,000 adverts/s; the figures are assumptions, chosen
 * to be plausible for a busy street, not measured in a shop):
 * - 9 staff tags of the roster (of 50 tags): 4 iBeacons, 3 Eddystone-UID tags that interleave a
 *   TLM frame every 10th advert, 1 AltBeacon, all at 10 Hz; 1 wristband known by its static
 *   address (no beacon frame) at 5 Hz. About 4 % of the adverts.
 * - Phones, earbuds, trackers and watches that are not in the roster: Apple continuity (Nearby,
 *   Handoff), AirPods proximity pairing, Find My, Google Fast Pair, Samsung, Microsoft Swift Pair,
 *   a fitness band's service data, headphones answering scans with their name. Most of them are
 *   passers-by (in range 6-20 s, random resolvable addresses, RSSI rising and falling); the rest
 *   are customers and staff phones in the shop, whose addresses rotate (every 15 min, random phase).
 * - Other shops' beacons: iBeacons (most with the same factory-default UUID as our tags, so they
 *   decode to a tag id and miss the roster), Eddystone URL / EID / TLM / UID, AltBeacons.
 * - A few broken adverts (a truncated iBeacon, an AD structure that overruns the buffer).
 * - RSSI: each advert carries gaussian noise (5 dB for tags, 6 dB for the rest).
 */
import { buildAdvertisement } from '../../firmware-bridge/ble/advertisement.js';
import { AdvEventType, randomAddress, type RssiSegment } from '../support/fake-noble-binding.js';
import { prng } from '../support/prng.js';

export type DeviceClass =
  | 'staff-tag'
  | 'iphone'
  | 'airpods'
  | 'find-my'
  | 'android-fast-pair'
  | 'samsung'
  | 'swift-pair'
  | 'fitness-band'
  | 'headphones'
  | 'neighbour-ibeacon'
  | 'other-eddystone'
  | 'other-altbeacon'
  | 'broken';

export interface ShopAdvert {
  /** ms since the start of the stream. */
  at: number;
  /** 'aa:bb:cc:dd:ee:ff', lower-case, as the HCI layer formats it. */
  address: string;
  addressType: 'public' | 'random';
  /** HCI LE advertising report event type (AdvEventType). */
  eventType: number;
  /** The advertising data as the radio delivered it. Shared between the adverts of one device. */
  eir: Buffer;
  rssi: number;
  source: DeviceClass;
  /** Staff tag index (0-8) for staff adverts. */
  staff?: number;
  /** True when the roster classifier must accept it (a staff tag's identifying frame). */
  rostered: boolean;
}

export interface RosterFileEntry {
  credential: { kind: 'ble-tag'; uid: string };
  employeeId: string;
  name: string;
  bleConsentAt: string;
}

export interface ShopStream {
  adverts: ShopAdvert[];
  durationMs: number;
  /** The roster file (ble-tag entries, consent recorded). */
  roster: RosterFileEntry[];
  /** The roster's tag uids, as the classifier sees them. */
  rosterUids: Set<string>;
  /** Staff tags on air: index, kind, uid, what they do. */
  staff: Array<{ index: number; kind: string; uid: string; plan: string }>;
  /** Adverts per device class, and distinct addresses per class. */
  mix: Record<string, { adverts: number; addresses: number }>;
  addresses: number;
  /** Adverts the roster classifier must accept. */
  rosteredAdverts: number;
}

/** The factory-default UUID of many cheap iBeacons: our staff tags and the neighbours' beacons alike. */
export const SHOP_UUID = 'e2c56db5-dffb-48d2-b060-d0f5a71096e0';
const OTHER_UUIDS = ['f7826da6-4fa2-4e98-8024-bc5b71e0893e', 'fda50693-a4e2-4fb1-afcf-c6eb07647825', '74278bda-b644-4520-8f0c-720eaf059935'];
export const STAFF_NAMESPACE = '8b0ca750e7a74e14bd99';
const STAFF_MAJOR = 1;
const STAFF_MINOR_BASE = 100;
const CONSENT_AT = '2026-11-01T02:00:00.000Z';

function hex(bytes: number, random: () => number): string {
  let out = '';
  for (let index = 0; index < bytes; index += 1) out += Math.floor(random() * 256).toString(16).padStart(2, '0');
  return out;
}

function ad(type: number, dataHex: string): string {
  return ((dataHex.length / 2 + 1).toString(16).padStart(2, '0') + type.toString(16).padStart(2, '0')).toUpperCase() + dataHex;
}

const FLAGS_BEACON = '020106';
const FLAGS_PHONE = '02011A';

function ibeaconUid(major: number, minor: number): string {
  return (SHOP_UUID.replaceAll('-', '') + major.toString(16).padStart(4, '0') + minor.toString(16).padStart(4, '0')).toUpperCase();
}

function instanceHex(index: number): string {
  return (0x100 + index).toString(16).padStart(12, '0');
}

function altBeaconId(index: number): string {
  return `5e1ec7ed00000000000000000000000000${(0x10 + index).toString(16).padStart(6, '0')}`;
}

function publicAddress(random: () => number): string {
  return Array.from({ length: 6 }, () => hex(1, random)).join(':');
}

function staticAddress(index: number): string {
  // Static random address: top two bits 11.
  return `c4:be:84:00:${(index >> 8).toString(16).padStart(2, '0')}:${(index & 0xff).toString(16).padStart(2, '0')}`;
}

/** The roster: `size` ble-tag entries (30 iBeacon, 15 Eddystone-UID, 3 AltBeacon, 2 addresses, scaled to size). */
export function shopRoster(size: number): RosterFileEntry[] {
  const entries: RosterFileEntry[] = [];
  const add = (uid: string): void => {
    const number = entries.length + 1;
    entries.push({ credential: { kind: 'ble-tag', uid }, employeeId: `E${String(number).padStart(3, '0')}`, name: `Staff ${number}`, bleConsentAt: CONSENT_AT });
  };
  const ibeacons = Math.max(4, Math.round(size * 0.6));
  const eddystones = Math.max(3, Math.round(size * 0.3));
  const altbeacons = Math.max(1, Math.round(size * 0.06));
  const byAddress = Math.max(1, size - ibeacons - eddystones - altbeacons);
  for (let index = 0; index < ibeacons; index += 1) add(ibeaconUid(STAFF_MAJOR, STAFF_MINOR_BASE + index));
  for (let index = 0; index < eddystones; index += 1) add((STAFF_NAMESPACE + instanceHex(index)).toUpperCase());
  for (let index = 0; index < altbeacons; index += 1) add(altBeaconId(index).toUpperCase());
  for (let index = 0; index < byAddress; index += 1) add(staticAddress(index).replaceAll(':', '').toUpperCase());
  return entries;
}

/**
 * The staff tags' RSSI over the stream. Walks happen inside [walkFrom, walkTo) (ms):
 * 0, 1 present throughout; 2, 3, 4 walk in at 10 / 30 / 50 % of the walk window; 5, 6 walk out at
 * 20 / 45 %; 7 hovers in the hysteresis band (near, never present); 8 (the address-only
 * wristband) present throughout. A tag out of range sends nothing.
 */
function staffPlan(index: number, durationMs: number, walkFrom: number, walkTo: number): { segments: Array<RssiSegment & { silent?: boolean }>; plan: string } {
  const span = walkTo - walkFrom;
  const walk = 8_000;
  const walkIn = (fraction: number): Array<RssiSegment & { silent?: boolean }> => {
    const at = walkFrom + span * fraction;
    return [
      { ms: at, from: -100, to: -100, silent: true },
      { ms: walk, from: -95, to: -58 },
      { ms: Math.max(0, durationMs - at - walk), from: -58, to: -58 },
    ];
  };
  const walkOut = (fraction: number): Array<RssiSegment & { silent?: boolean }> => {
    const at = walkFrom + span * fraction;
    return [
      { ms: at, from: -60, to: -60 },
      { ms: walk, from: -60, to: -97 },
      { ms: Math.max(0, durationMs - at - walk), from: -100, to: -100, silent: true },
    ];
  };
  switch (index) {
    case 0:
      return { segments: [{ ms: durationMs, from: -60, to: -60 }], plan: 'present throughout (-60 dBm)' };
    case 1:
      return { segments: [{ ms: durationMs, from: -66, to: -66 }], plan: 'present throughout (-66 dBm)' };
    case 2:
    case 3:
    case 4: {
      const fraction = [0.1, 0.3, 0.5][index - 2] as number;
      return { segments: walkIn(fraction), plan: `walks in at ${((walkFrom + span * fraction) / 1000).toFixed(1)} s (-95 -> -58 dBm over 8 s)` };
    }
    case 5:
    case 6: {
      const fraction = [0.2, 0.45][index - 5] as number;
      return { segments: walkOut(fraction), plan: `walks out at ${((walkFrom + span * fraction) / 1000).toFixed(1)} s (-60 -> -97 dBm over 8 s, then silent)` };
    }
    case 7:
      return { segments: [{ ms: durationMs, from: -76, to: -76 }], plan: 'in the back room: -76 dBm, inside the hysteresis band (near)' };
    default:
      return { segments: [{ ms: durationMs, from: -62, to: -62 }], plan: 'present throughout (-62 dBm)' };
  }
}

interface OtherClass {
  source: DeviceClass;
  /** Share of the non-staff adverts. */
  share: number;
  /** Adverts per second per device. */
  hz: number;
  /** Share of devices that pass by (the rest stay for the whole stream). */
  passersBy: number;
  addressType: 'public' | 'random';
}

const OTHERS: OtherClass[] = [
  { source: 'iphone', share: 0.34, hz: 5, passersBy: 0.7, addressType: 'random' },
  { source: 'airpods', share: 0.1, hz: 4, passersBy: 0.7, addressType: 'random' },
  { source: 'find-my', share: 0.04, hz: 0.5, passersBy: 0.8, addressType: 'random' },
  { source: 'android-fast-pair', share: 0.1, hz: 5, passersBy: 0.7, addressType: 'random' },
  { source: 'samsung', share: 0.08, hz: 5, passersBy: 0.7, addressType: 'random' },
  { source: 'swift-pair', share: 0.03, hz: 3, passersBy: 0.2, addressType: 'random' },
  { source: 'fitness-band', share: 0.05, hz: 2, passersBy: 0.7, addressType: 'public' },
  { source: 'headphones', share: 0.05, hz: 4, passersBy: 0.7, addressType: 'public' },
  { source: 'neighbour-ibeacon', share: 0.12, hz: 10, passersBy: 0, addressType: 'public' },
  { source: 'other-eddystone', share: 0.05, hz: 10, passersBy: 0, addressType: 'public' },
  { source: 'other-altbeacon', share: 0.025, hz: 10, passersBy: 0, addressType: 'public' },
  { source: 'broken', share: 0.005, hz: 2, passersBy: 0.5, addressType: 'random' },
];

/** A device's frames: the advert(s) it cycles through, and which event type each is sent as. */
interface DeviceFrames {
  frames: Array<{ eir: Buffer; eventType: number }>;
}

function framesOf(source: DeviceClass, random: () => number): DeviceFrames {
  const conn = AdvEventType.connectable;
  const nonconn = AdvEventType.nonConnectable;
  const one = (eirHex: string, eventType: number): DeviceFrames => ({ frames: [{ eir: Buffer.from(eirHex, 'hex'), eventType }] });
  switch (source) {
    case 'iphone': {
      const handoff = random() < 0.5 ? `0c0e${hex(14, random)}` : '';
      return one(FLAGS_PHONE + ad(0xff, `4c00${handoff}1005${hex(5, random)}`), conn);
    }
    case 'airpods':
      return one(ad(0xff, `4c000719${hex(25, random)}`), conn);
    case 'find-my':
      return one(ad(0xff, `4c001219${hex(25, random)}`), nonconn);
    case 'android-fast-pair':
      return one(FLAGS_BEACON + ad(0x03, '2cfe') + ad(0x16, `2cfe${hex(3, random)}`), conn);
    case 'samsung':
      return one(FLAGS_PHONE + ad(0xff, `7500${hex(24, random)}`), conn);
    case 'swift-pair':
      return one(FLAGS_PHONE + ad(0xff, `0600030080${Buffer.from('Surface Laptop').toString('hex')}`), conn);
    case 'fitness-band':
      return one(FLAGS_BEACON + ad(0x16, `95fe${hex(13, random)}`) + ad(0x09, Buffer.from('Mi Band 7').toString('hex')), conn);
    case 'headphones': {
      const name = random() < 0.5 ? 'WH-1000XM4' : 'Galaxy Buds2';
      return {
        frames: [
          { eir: Buffer.from(FLAGS_PHONE + ad(0xff, `2d01${hex(12, random)}`), 'hex'), eventType: conn },
          { eir: Buffer.from(ad(0x09, Buffer.from(name).toString('hex')), 'hex'), eventType: AdvEventType.scanResponse },
        ],
      };
    }
    case 'neighbour-ibeacon': {
      const uuid = random() < 0.6 ? SHOP_UUID : (OTHER_UUIDS[Math.floor(random() * OTHER_UUIDS.length)] as string);
      const major = 2 + Math.floor(random() * 60_000);
      return { frames: [{ eir: buildAdvertisement({ kind: 'ibeacon', uuid, major, minor: Math.floor(random() * 65_536), measuredPower: -59 }), eventType: nonconn }] };
    }
    case 'other-eddystone': {
      const tlm = buildAdvertisement({ kind: 'eddystone-tlm', version: 0, batteryMillivolts: 2900 + Math.floor(random() * 300), temperatureCelsius: 24.5, advertisingCount: Math.floor(random() * 1e6), uptimeSeconds: Math.floor(random() * 1e5) });
      const pick = random();
      const main =
        pick < 0.4
          ? buildAdvertisement({ kind: 'eddystone-url', txPower: -20, url: `https://mk${Math.floor(random() * 100)}.hk/sale` })
          : pick < 0.7
            ? buildAdvertisement({ kind: 'eddystone-eid', txPower: -20, eid: hex(8, random) })
            : buildAdvertisement({ kind: 'eddystone-uid', txPower: -20, namespace: hex(10, random), instance: hex(6, random) });
      // Nine of the main frame, then a TLM.
      return { frames: [...Array.from({ length: 9 }, () => ({ eir: main, eventType: nonconn })), { eir: tlm, eventType: nonconn }] };
    }
    case 'other-altbeacon':
      return { frames: [{ eir: buildAdvertisement({ kind: 'altbeacon', manufacturerId: 0x0118, beaconId: hex(20, random), referenceRssi: -59, reserved: 0 }), eventType: nonconn }] };
    case 'broken':
      return random() < 0.5
        ? one(FLAGS_BEACON + ad(0xff, `4c000215${hex(16, random)}`), nonconn) // an iBeacon cut short: malformed
        : { frames: [{ eir: Buffer.from(`${FLAGS_BEACON}1AFF4C000215${hex(10, random)}`, 'hex'), eventType: nonconn }] }; // AD structure overruns the buffer
    case 'staff-tag':
      throw new Error('staff tags are built by staffFrames');
  }
}

function staffFrames(index: number): { frames: DeviceFrames; kind: string; uid: string; hz: number; identifying: boolean[] } {
  const nonconn = AdvEventType.nonConnectable;
  if (index < 4) {
    const minor = STAFF_MINOR_BASE + index;
    return { frames: { frames: [{ eir: buildAdvertisement({ kind: 'ibeacon', uuid: SHOP_UUID, major: STAFF_MAJOR, minor, measuredPower: -59 }), eventType: nonconn }] }, kind: 'iBeacon', uid: ibeaconUid(STAFF_MAJOR, minor), hz: 10, identifying: [true] };
  }
  if (index < 7) {
    const instance = instanceHex(index - 4);
    const uid = buildAdvertisement({ kind: 'eddystone-uid', txPower: -18, namespace: STAFF_NAMESPACE, instance });
    const tlm = buildAdvertisement({ kind: 'eddystone-tlm', version: 0, batteryMillivolts: 3000, temperatureCelsius: 25, advertisingCount: 1000 * index, uptimeSeconds: 3600 });
    return {
      frames: { frames: [...Array.from({ length: 9 }, () => ({ eir: uid, eventType: nonconn })), { eir: tlm, eventType: nonconn }] },
      kind: 'Eddystone-UID (+TLM every 10th)',
      uid: (STAFF_NAMESPACE + instance).toUpperCase(),
      hz: 10,
      identifying: [...Array.from({ length: 9 }, () => true), false],
    };
  }
  if (index === 7) {
    return { frames: { frames: [{ eir: buildAdvertisement({ kind: 'altbeacon', manufacturerId: 0x0118, beaconId: altBeaconId(0), referenceRssi: -59, reserved: 0 }), eventType: nonconn }] }, kind: 'AltBeacon', uid: altBeaconId(0).toUpperCase(), hz: 10, identifying: [true] };
  }
  // A wristband with no beacon frame, known by its static address.
  return { frames: { frames: [{ eir: Buffer.from(FLAGS_BEACON + ad(0x09, Buffer.from('PG-TAG').toString('hex')), 'hex'), eventType: nonconn }] }, kind: 'address-only wristband', uid: staticAddress(0).replaceAll(':', '').toUpperCase(), hz: 5, identifying: [true] };
}

/**
 * Generates `durationMs` of air at about `rate` adverts/s, time-ordered. Staff walks happen
 * inside [walkFrom, walkTo) (default: the whole stream).
 */
export function mongKokShop(options: { durationMs: number; rate: number; seed: number; rosterSize: number; walkFrom?: number; walkTo?: number }): ShopStream {
  const { durationMs, rate, seed } = options;
  const random = prng(seed);
  const gaussian = (): number => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const clampRssi = (value: number): number => Math.max(-127, Math.min(20, Math.round(value)));
  const adverts: ShopAdvert[] = [];
  const walkFrom = options.walkFrom ?? 0;
  const walkTo = options.walkTo ?? durationMs;

  // Staff tags.
  const staff: ShopStream['staff'] = [];
  let staffRate = 0;
  for (let index = 0; index < 9; index += 1) {
    const tag = staffFrames(index);
    const { segments, plan } = staffPlan(index, durationMs, walkFrom, walkTo);
    staff.push({ index, kind: tag.kind, uid: tag.uid, plan });
    const address = index === 8 ? staticAddress(0) : `d0:0f:5a:71:00:${index.toString(16).padStart(2, '0')}`;
    const interval = 1000 / tag.hz;
    let at = random() * interval;
    let frame = 0;
    let segmentStart = 0;
    let staffAdverts = 0;
    for (const segment of segments) {
      const end = segmentStart + segment.ms;
      while (at < end && at < durationMs) {
        if (!segment.silent) {
          const fraction = segment.ms === 0 ? 1 : (at - segmentStart) / segment.ms;
          const slot = frame % tag.frames.frames.length;
          const sent = tag.frames.frames[slot] as { eir: Buffer; eventType: number };
          adverts.push({
            at,
            address,
            addressType: 'public',
            eventType: sent.eventType,
            eir: sent.eir,
            rssi: clampRssi(segment.from + (segment.to - segment.from) * fraction + gaussian() * 5),
            source: 'staff-tag',
            staff: index,
            rostered: tag.identifying[slot] as boolean,
          });
          staffAdverts += 1;
        }
        frame += 1;
        // The interval less 5 ms, plus the spec's random 0-10 ms advDelay: the mean is the interval.
        at += interval - 5 + random() * 10;
      }
      segmentStart = end;
    }
    staffRate += staffAdverts / (durationMs / 1000);
  }

  // Everyone else.
  const otherRate = Math.max(0, rate - staffRate);
  const totalShare = OTHERS.reduce((sum, item) => sum + item.share, 0);
  const ROTATE_MS = 15 * 60_000;
  for (const item of OTHERS) {
    const classRate = (otherRate * item.share) / totalShare;
    const concurrent = classRate / item.hz;
    const interval = 1000 / item.hz;
    const emit = (device: DeviceFrames, address: () => string, from: number, to: number, rssiAt: (at: number) => number): void => {
      let at = from + random() * interval;
      let frame = 0;
      while (at < to) {
        if (at >= 0 && at < durationMs) {
          const sent = device.frames[frame % device.frames.length] as { eir: Buffer; eventType: number };
          adverts.push({ at, address: address(), addressType: item.addressType, eventType: sent.eventType, eir: sent.eir, rssi: clampRssi(rssiAt(at) + gaussian() * 6), source: item.source, rostered: false });
        }
        frame += 1;
        at += interval - 5 + random() * 10;
      }
    };
    // Stayers: the whole stream; random addresses rotate every 15 min at a random phase.
    const stayers = concurrent * (1 - item.passersBy);
    const stayerCount = Math.floor(stayers) + (random() < stayers - Math.floor(stayers) ? 1 : 0);
    for (let index = 0; index < stayerCount; index += 1) {
      const device = framesOf(item.source, random);
      const base = -90 + random() * 35;
      let current = item.addressType === 'random' ? randomAddress(random) : publicAddress(random);
      const rotateAt = item.addressType === 'random' ? random() * ROTATE_MS : Number.POSITIVE_INFINITY;
      let rotated = false;
      emit(
        device,
        () => current,
        0,
        durationMs,
        (at) => {
          if (!rotated && at >= rotateAt) {
            rotated = true;
            current = randomAddress(random);
          }
          return base;
        },
      );
    }
    // Passers-by: in range 6-20 s, arriving evenly; RSSI rises to a peak and falls.
    const passers = concurrent * item.passersBy;
    if (passers > 0) {
      const meanDwell = 13_000;
      const count = Math.round((passers * (durationMs + 20_000)) / meanDwell);
      for (let index = 0; index < count; index += 1) {
        const device = framesOf(item.source, random);
        const enter = -20_000 + random() * (durationMs + 20_000);
        const dwell = 6_000 + random() * 14_000;
        const peak = -85 + random() * 23;
        const address = item.addressType === 'random' ? randomAddress(random) : publicAddress(random);
        emit(device, () => address, enter, enter + dwell, (at) => -98 + (peak + 98) * (1 - Math.abs((2 * (at - enter)) / dwell - 1)));
      }
    }
  }

  adverts.sort((a, b) => a.at - b.at);
  const mix: ShopStream['mix'] = {};
  const perClass = new Map<string, Set<string>>();
  const all = new Set<string>();
  let rosteredAdverts = 0;
  for (const advert of adverts) {
    const entry = (mix[advert.source] ??= { adverts: 0, addresses: 0 });
    entry.adverts += 1;
    let set = perClass.get(advert.source);
    if (!set) perClass.set(advert.source, (set = new Set()));
    set.add(advert.address);
    all.add(advert.address);
    if (advert.rostered) rosteredAdverts += 1;
  }
  for (const [source, set] of perClass) (mix[source] as { addresses: number }).addresses = set.size;
  const roster = shopRoster(options.rosterSize);
  return {
    adverts,
    durationMs,
    roster,
    rosterUids: new Set(roster.map((entry) => entry.credential.uid)),
    staff,
    mix,
    addresses: all.size,
    rosteredAdverts,
  };
}
