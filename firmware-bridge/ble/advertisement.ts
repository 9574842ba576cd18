import { AdType, DEFAULT_FLAGS, encodeAdStructures, MAX_ADVERTISING_BYTES, walkAdStructures, type AdVisitor } from './ad-structures.js';
import { claimsAltBeacon, decodeAltBeacon, encodeAltBeaconPayload } from './altbeacon.js';
import { asBuffer } from './bytes.js';
import { claimsEddystone, decodeEddystone, EDDYSTONE_SERVICE_UUID, encodeEddystoneFrame } from './eddystone.js';
import { malformed, refuse, type BeaconFrameInput, type BeaconParse, type BeaconRefusal } from './frames.js';
import { claimsIBeacon, decodeIBeacon, encodeIBeaconPayload } from './ibeacon.js';

/*
 * Raw advertising data -> beacon frame, and back. This runs for every advertisement the scanner
 * hears (thousands a second in a busy shop), so the parse walks the bytes once, in place, and
 * allocates only the decoded frame.
 *
 * Which structure decides: the first (in AD order) that claims a beacon frame, i.e. manufacturer
 * data of an iBeacon (Apple, subtype 02) or an AltBeacon (code BEAC), or service data for
 * Eddystone (0xFEAA). If it is malformed the advertisement is refused, whatever follows; other
 * manufacturer data, other services, names and unknown AD types are skipped. Any broken AD
 * structure (truncated, or a length its type does not allow) refuses the whole advertisement.
 */

/** The common answer for the many adverts that are not beacons: one shared object, no allocation. */
export const NOT_A_BEACON: BeaconRefusal = Object.freeze(refuse('not-a-beacon', 'no iBeacon, AltBeacon or Eddystone frame in the advertisement')) as BeaconRefusal;

/** Decodes manufacturer data (company id included) into an iBeacon or AltBeacon frame. */
export function decodeManufacturerData(bytes: Buffer, start: number, end: number): BeaconParse {
  if (claimsIBeacon(bytes, start, end)) return decodeIBeacon(bytes, start, end);
  if (claimsAltBeacon(bytes, start, end)) return decodeAltBeacon(bytes, start, end);
  return NOT_A_BEACON;
}

/** Which structure claimed a frame: none yet, manufacturer data, Eddystone service data. */
const NONE = 0;
const MANUFACTURER = 1;
const EDDYSTONE = 2;

interface WalkState {
  claim: number;
  start: number;
  end: number;
}

const findClaim: AdVisitor<WalkState> = (state, type, bytes, start, end) => {
  if (state.claim !== NONE) return;
  if (type === AdType.manufacturerData) {
    if (claimsIBeacon(bytes, start, end) || claimsAltBeacon(bytes, start, end)) {
      state.claim = MANUFACTURER;
      state.start = start;
      state.end = end;
    }
  } else if (type === AdType.serviceData16 && claimsEddystone(bytes, start, end)) {
    state.claim = EDDYSTONE;
    state.start = start + 2;
    state.end = end;
  }
};

/** Decodes raw advertising data (AD structures as broadcast, e.g. 02 01 06 1A FF 4C 00 02 15 ...). */
export function parseAdvertisement(bytes: Uint8Array): BeaconParse {
  const state: WalkState = { claim: NONE, start: 0, end: 0 };
  const problem = walkAdStructures(bytes, state, findClaim);
  if (problem !== undefined) return malformed(problem);
  if (state.claim === NONE) return NOT_A_BEACON;
  const buffer = asBuffer(bytes);
  return state.claim === MANUFACTURER ? decodeManufacturerData(buffer, state.start, state.end) : decodeEddystone(buffer, state.start, state.end);
}

export interface BuildOptions {
  /** The flags structure's value (default 0x06: LE General Discoverable, no BR/EDR); null leaves it out. */
  flags?: number | null;
}

/**
 * The advertising data of a frame, ready for bleno's `startAdvertisingWithEIRData`: flags, then
 * - iBeacon / AltBeacon: the manufacturer data (30 / 31 bytes with flags);
 * - Eddystone: the complete 16-bit service UUID list [FEAA] (which iOS needs to see it in the
 *   background) and the service data (UID 31 bytes; URL up to 31).
 * Throws a RangeError for invalid fields or data over 31 bytes.
 */
export function buildAdvertisement(frame: BeaconFrameInput, options: BuildOptions = {}): Buffer {
  const flags = options.flags === undefined ? DEFAULT_FLAGS : options.flags;
  const structures: { type: number; data: Uint8Array }[] = [];
  if (flags !== null) {
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) throw new RangeError(`flags ${flags} is not a byte`);
    structures.push({ type: AdType.flags, data: Buffer.of(flags) });
  }
  switch (frame.kind) {
    case 'ibeacon':
      structures.push({ type: AdType.manufacturerData, data: encodeIBeaconPayload(frame) });
      break;
    case 'altbeacon':
      structures.push({ type: AdType.manufacturerData, data: encodeAltBeaconPayload(frame) });
      break;
    default: {
      const uuid = Buffer.alloc(2);
      uuid.writeUInt16LE(EDDYSTONE_SERVICE_UUID, 0);
      structures.push({ type: AdType.completeUuids16, data: uuid });
      structures.push({ type: AdType.serviceData16, data: Buffer.concat([uuid, encodeEddystoneFrame(frame)]) });
    }
  }
  return encodeAdStructures(structures, MAX_ADVERTISING_BYTES);
}
