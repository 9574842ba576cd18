import { bytesOfHex, hexOf, int8At, int8Byte } from './bytes.js';
import { decodeEddystoneUrl, encodeEddystoneUrl } from './eddystone-url.js';
import {
  accept,
  checkFrame,
  EddystoneEidFrame,
  EddystoneTlmFrame,
  EddystoneUidFrame,
  EddystoneUrlFrame,
  hexByte,
  malformed,
  refuse,
  TLM_TEMPERATURE_NOT_SUPPORTED,
  type BeaconFrameInput,
  type BeaconParse,
} from './frames.js';

/*
 * Eddystone (google/eddystone protocol-specification.md and each frame's README): service data
 * for the 16-bit service UUID 0xFEAA (AA FE on the air). The frame is the service data after the
 * UUID; its first byte is the frame type, high nibble the type, low nibble reserved (0000).
 *   UID  00 tx@0m NID(10) BID(6) RFU(2)         20 bytes (18: older beacons omit RFU; accepted)
 *   URL  10 tx@0m scheme encoded-url(0..17)     3..20 bytes
 *   TLM  20 version=00 VBATT(2) TEMP(8.8, 2) ADV_CNT(4) SEC_CNT(4)   14 bytes
 *   EID  30 tx@0m EID(8)                        10 bytes
 * All multi-byte values big-endian. The RFU bytes of UID "must be 0x00" for senders; a receiver
 * ignores them, so they are not part of the decoded frame.
 */

export const EDDYSTONE_SERVICE_UUID = 0xfeaa;

export const EddystoneFrameType = { uid: 0x00, url: 0x10, tlm: 0x20, eid: 0x30 } as const;

export const EDDYSTONE_UID_BYTES = 20;
/** A UID frame without its two reserved bytes, as older beacons send it. */
export const EDDYSTONE_UID_SHORT_BYTES = 18;
export const EDDYSTONE_TLM_BYTES = 14;
export const EDDYSTONE_EID_BYTES = 10;
/** Frame type, tx power and scheme: the shortest URL frame. */
export const EDDYSTONE_URL_MIN_BYTES = 3;

/** Whether 16-bit service data `bytes[start, end)` (UUID included) is for Eddystone. */
export function claimsEddystone(bytes: Uint8Array, start: number, end: number): boolean {
  return end - start >= 2 && bytes[start] === 0xaa && bytes[start + 1] === 0xfe;
}

/** Decodes an Eddystone frame: the service data `bytes[start, end)` after the 0xFEAA UUID. */
export function decodeEddystone(bytes: Buffer, start: number, end: number): BeaconParse {
  const length = end - start;
  if (length === 0) return malformed('Eddystone service data holds no frame');
  const frameType = bytes[start] as number;
  switch (frameType) {
    case EddystoneFrameType.uid:
      if (length !== EDDYSTONE_UID_BYTES && length !== EDDYSTONE_UID_SHORT_BYTES) {
        return malformed(`Eddystone-UID frame is ${length} bytes, expected ${EDDYSTONE_UID_BYTES} (or ${EDDYSTONE_UID_SHORT_BYTES} without the reserved bytes)`);
      }
      return accept({
        kind: 'eddystone-uid',
        txPower: int8At(bytes, start + 1),
        namespace: hexOf(bytes, start + 2, start + 12),
        instance: hexOf(bytes, start + 12, start + 18),
      });
    case EddystoneFrameType.url: {
      if (length < EDDYSTONE_URL_MIN_BYTES) {
        return malformed(`Eddystone-URL frame is ${length} bytes, at least ${EDDYSTONE_URL_MIN_BYTES} (type, tx power, scheme)`);
      }
      const url = decodeEddystoneUrl(bytes, start + 2, end);
      if (!url.ok) return malformed(url.reason);
      return accept({ kind: 'eddystone-url', txPower: int8At(bytes, start + 1), url: url.url });
    }
    case EddystoneFrameType.tlm: {
      if (length !== EDDYSTONE_TLM_BYTES) return malformed(`Eddystone-TLM frame is ${length} bytes, expected ${EDDYSTONE_TLM_BYTES}`);
      const version = bytes[start + 1] as number;
      if (version !== 0) {
        return refuse('unsupported', `Eddystone-TLM version 0x${hexByte(version)} is not read (only 0x00, unencrypted${version === 1 ? '; 0x01 is encrypted TLM' : ''})`);
      }
      const temperature = bytes.readUInt16BE(start + 4);
      return accept({
        kind: 'eddystone-tlm',
        version: 0,
        batteryMillivolts: bytes.readUInt16BE(start + 2),
        temperatureCelsius: temperature === TLM_TEMPERATURE_NOT_SUPPORTED ? null : bytes.readInt16BE(start + 4) / 256,
        advertisingCount: bytes.readUInt32BE(start + 6),
        uptimeSeconds: bytes.readUInt32BE(start + 10) / 10,
      });
    }
    case EddystoneFrameType.eid:
      if (length !== EDDYSTONE_EID_BYTES) return malformed(`Eddystone-EID frame is ${length} bytes, expected ${EDDYSTONE_EID_BYTES}`);
      return accept({ kind: 'eddystone-eid', txPower: int8At(bytes, start + 1), eid: hexOf(bytes, start + 2, start + 10) });
    default:
      return refuse('unsupported', `Eddystone frame type 0x${hexByte(frameType)} is not read (UID 00, URL 10, TLM 20, EID 30)`);
  }
}

type EddystoneInput = Extract<BeaconFrameInput, { kind: `eddystone-${string}` }>;

/** The Eddystone frame bytes (service data after the UUID); RangeError for invalid fields. */
export function encodeEddystoneFrame(input: EddystoneInput): Buffer {
  switch (input.kind) {
    case 'eddystone-uid': {
      const frame = checkFrame(EddystoneUidFrame, input);
      const out = Buffer.alloc(EDDYSTONE_UID_BYTES);
      out[0] = EddystoneFrameType.uid;
      out[1] = int8Byte(frame.txPower);
      bytesOfHex(frame.namespace).copy(out, 2);
      bytesOfHex(frame.instance).copy(out, 12);
      return out;
    }
    case 'eddystone-url': {
      const frame = checkFrame(EddystoneUrlFrame, input);
      return Buffer.concat([Buffer.of(EddystoneFrameType.url, int8Byte(frame.txPower)), encodeEddystoneUrl(frame.url)]);
    }
    case 'eddystone-tlm': {
      const frame = checkFrame(EddystoneTlmFrame, input);
      const out = Buffer.alloc(EDDYSTONE_TLM_BYTES);
      out[0] = EddystoneFrameType.tlm;
      out[1] = frame.version;
      out.writeUInt16BE(frame.batteryMillivolts, 2);
      if (frame.temperatureCelsius === null) out.writeUInt16BE(TLM_TEMPERATURE_NOT_SUPPORTED, 4);
      else out.writeInt16BE(Math.round(frame.temperatureCelsius * 256), 4);
      out.writeUInt32BE(frame.advertisingCount, 6);
      out.writeUInt32BE(Math.round(frame.uptimeSeconds * 10), 10);
      return out;
    }
    case 'eddystone-eid': {
      const frame = checkFrame(EddystoneEidFrame, input);
      const out = Buffer.alloc(EDDYSTONE_EID_BYTES);
      out[0] = EddystoneFrameType.eid;
      out[1] = int8Byte(frame.txPower);
      bytesOfHex(frame.eid).copy(out, 2);
      return out;
    }
  }
}
