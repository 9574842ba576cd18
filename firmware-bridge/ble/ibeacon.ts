import { bytesOfHex, int8At, int8Byte, uuidOf } from './bytes.js';
import { accept, checkFrame, hexByte, IBeaconFrame, malformed, type BeaconFrameInput, type BeaconParse } from './frames.js';

/*
 * iBeacon, carried in manufacturer specific data (AD type 0xFF, length byte 0x1A):
 *   4C 00 | 02 15 | UUID (16) | major (2, BE) | minor (2, BE) | measured power at 1 m (int8)
 * 25 bytes including Apple's company id 0x004C (little-endian on the air). Apple sends other
 * manufacturer data under the same company id (subtype 0x10, 0x12, ...): only subtype 0x02 is an
 * iBeacon, and a subtype 0x02 of any other length is refused.
 */

export const APPLE_COMPANY_ID = 0x004c;
export const IBEACON_SUBTYPE = 0x02;
/** The iBeacon's own length byte: what follows it (UUID + major + minor + power). */
export const IBEACON_SUBTYPE_LENGTH = 0x15;
/** Manufacturer data bytes of an iBeacon, company id included. */
export const IBEACON_PAYLOAD_BYTES = 25;

/** Whether manufacturer data `bytes[start, end)` says it is an iBeacon (Apple, subtype 0x02). */
export function claimsIBeacon(bytes: Uint8Array, start: number, end: number): boolean {
  return end - start >= 3 && bytes[start] === 0x4c && bytes[start + 1] === 0x00 && bytes[start + 2] === IBEACON_SUBTYPE;
}

/** Decodes manufacturer data `bytes[start, end)` (company id included) that claims an iBeacon. */
export function decodeIBeacon(bytes: Buffer, start: number, end: number): BeaconParse {
  const length = end - start;
  if (length !== IBEACON_PAYLOAD_BYTES) {
    return malformed(`iBeacon manufacturer data is ${length} bytes, expected ${IBEACON_PAYLOAD_BYTES}`);
  }
  const stated = bytes[start + 3] as number;
  if (stated !== IBEACON_SUBTYPE_LENGTH) {
    return malformed(`iBeacon length byte is 0x${hexByte(stated)}, expected 0x${hexByte(IBEACON_SUBTYPE_LENGTH)}`);
  }
  return accept({
    kind: 'ibeacon',
    uuid: uuidOf(bytes, start + 4),
    major: bytes.readUInt16BE(start + 20),
    minor: bytes.readUInt16BE(start + 22),
    measuredPower: int8At(bytes, start + 24),
  });
}

/** The manufacturer data of an iBeacon (company id included); RangeError for invalid fields. */
export function encodeIBeaconPayload(input: Extract<BeaconFrameInput, { kind: 'ibeacon' }>): Buffer {
  const frame = checkFrame(IBeaconFrame, input);
  const out = Buffer.alloc(IBEACON_PAYLOAD_BYTES);
  out.writeUInt16LE(APPLE_COMPANY_ID, 0);
  out[2] = IBEACON_SUBTYPE;
  out[3] = IBEACON_SUBTYPE_LENGTH;
  bytesOfHex(frame.uuid).copy(out, 4);
  out.writeUInt16BE(frame.major, 20);
  out.writeUInt16BE(frame.minor, 22);
  out[24] = int8Byte(frame.measuredPower);
  return out;
}
