import { bytesOfHex, hexOf, int8At, int8Byte } from './bytes.js';
import { accept, AltBeaconFrame, checkFrame, malformed, type BeaconFrameInput, type BeaconParse } from './frames.js';

/*
 * AltBeacon (AltBeacon/spec v1.0), carried in manufacturer specific data (AD length byte 0x1B):
 *   MFG ID (2, LE) | BE AC | beacon id (20, BE) | reference RSSI at 1 m (int8) | MFG reserved (1)
 * 26 bytes. Any company may send it: the beacon code 0xBEAC says what it is.
 */

export const ALTBEACON_CODE = 0xbeac;
/** Manufacturer data bytes of an AltBeacon, company id included. */
export const ALTBEACON_PAYLOAD_BYTES = 26;

/** Whether manufacturer data `bytes[start, end)` carries the AltBeacon code after its company id. */
export function claimsAltBeacon(bytes: Uint8Array, start: number, end: number): boolean {
  return end - start >= 4 && bytes[start + 2] === 0xbe && bytes[start + 3] === 0xac;
}

/** Decodes manufacturer data `bytes[start, end)` (company id included) that claims an AltBeacon. */
export function decodeAltBeacon(bytes: Buffer, start: number, end: number): BeaconParse {
  const length = end - start;
  if (length !== ALTBEACON_PAYLOAD_BYTES) {
    return malformed(`AltBeacon manufacturer data is ${length} bytes, expected ${ALTBEACON_PAYLOAD_BYTES}`);
  }
  return accept({
    kind: 'altbeacon',
    manufacturerId: bytes.readUInt16LE(start),
    beaconId: hexOf(bytes, start + 4, start + 24),
    referenceRssi: int8At(bytes, start + 24),
    reserved: bytes[start + 25] as number,
  });
}

/** The manufacturer data of an AltBeacon (company id included); RangeError for invalid fields. */
export function encodeAltBeaconPayload(input: Extract<BeaconFrameInput, { kind: 'altbeacon' }>): Buffer {
  const frame = checkFrame(AltBeaconFrame, input);
  const out = Buffer.alloc(ALTBEACON_PAYLOAD_BYTES);
  out.writeUInt16LE(frame.manufacturerId, 0);
  out.writeUInt16BE(ALTBEACON_CODE, 2);
  bytesOfHex(frame.beaconId).copy(out, 4);
  out[24] = int8Byte(frame.referenceRssi);
  out[25] = frame.reserved;
  return out;
}
