import { aes128, type AesKey } from './aes-block.js';

/**
 * Eddystone-EID, exactly as google/eddystone `eddystone-eid/eid-computation.md`:
 *
 * - identity key IK: 128-bit AES key shared by the beacon and the resolver;
 * - beacon time counter: 32-bit seconds counter (here: unix seconds minus the beacon's epoch);
 * - rotation exponent K (0..15): a new EID every 2^K seconds.
 *
 * ```
 * TK  = AES128-ECB_IK( 00×11 ‖ FF ‖ 00 00 ‖ counter >>> 16 as u16 BE )
 * EID = AES128-ECB_TK( 00×11 ‖ K  ‖ (counter with its low K bits cleared) as u32 BE )[0..8]
 * ```
 *
 * TK therefore changes every 65536 s (when the top 16 bits of the counter roll over), the EID
 * every 2^K s. Pure computation: no clock is read here, callers pass the counter or the time.
 */

export const EID_BYTES = 8;
export const MIN_ROTATION_EXPONENT = 0;
export const MAX_ROTATION_EXPONENT = 15;
/** The counter is 32 bits: 0 .. 2^32 - 1. */
export const EID_COUNTER_LIMIT = 2 ** 32;
/** The temporary key changes when the top 16 bits of the counter do: every 65536 s. */
export const TEMPORARY_KEY_PERIOD_SECONDS = 2 ** 16;

export function assertRotationExponent(rotationExponent: number): void {
  if (!Number.isInteger(rotationExponent) || rotationExponent < MIN_ROTATION_EXPONENT || rotationExponent > MAX_ROTATION_EXPONENT) {
    throw new RangeError(`rotation exponent K must be an integer 0..15, got ${rotationExponent}`);
  }
}

export function assertTimeCounter(timeCounter: number): void {
  if (!Number.isInteger(timeCounter) || timeCounter < 0 || timeCounter >= EID_COUNTER_LIMIT) {
    throw new RangeError(`the EID time counter is a 32-bit unsigned integer, got ${timeCounter}`);
  }
}

/** The 16-byte block encrypted with IK to give TK: 00×11 ‖ FF ‖ 00 00 ‖ top 16 bits of the counter. */
export function temporaryKeyBlock(timeCounter: number): Buffer {
  assertTimeCounter(timeCounter);
  const block = Buffer.alloc(16);
  block[11] = 0xff;
  block.writeUInt16BE(Math.floor(timeCounter / TEMPORARY_KEY_PERIOD_SECONDS), 14);
  return block;
}

/** The 16-byte block encrypted with TK to give the EID: 00×11 ‖ K ‖ counter with low K bits cleared (u32 BE). */
export function eidBlock(rotationExponent: number, timeCounter: number): Buffer {
  assertRotationExponent(rotationExponent);
  assertTimeCounter(timeCounter);
  const block = Buffer.alloc(16);
  block[11] = rotationExponent;
  block.writeUInt32BE(eidWindowCounter(rotationExponent, timeCounter), 12);
  return block;
}

/** The counter value at the start of the counter's window: its low K bits cleared. */
export function eidWindowCounter(rotationExponent: number, timeCounter: number): number {
  const period = 2 ** rotationExponent;
  return Math.floor(timeCounter / period) * period;
}

/** TK = AES128-ECB_IK(temporaryKeyBlock(counter)). 16 bytes. */
export function eidTemporaryKey(identityKey: AesKey, timeCounter: number): Buffer {
  return aes128(identityKey).encrypt(temporaryKeyBlock(timeCounter));
}

/**
 * The EID from an already computed temporary key (the spec recommends caching TK for its 65536 s):
 * the caller must pass the TK of the same counter's top 16 bits.
 */
export function eidFromTemporaryKey(temporaryKey: AesKey, rotationExponent: number, timeCounter: number): Buffer {
  return aes128(temporaryKey).encrypt(eidBlock(rotationExponent, timeCounter)).subarray(0, EID_BYTES);
}

/** The 8-byte EID a beacon with this identity key and K advertises at this 32-bit time counter. */
export function computeEid(identityKey: AesKey, rotationExponent: number, timeCounter: number): Buffer {
  assertRotationExponent(rotationExponent);
  return eidFromTemporaryKey(eidTemporaryKey(identityKey, timeCounter), rotationExponent, timeCounter);
}

/** The beacon's counter at a unix time: whole seconds since its epoch (the unix time when it read 0). */
export function eidTimeCounter(epochUnixSeconds: number, unixSeconds: number): number {
  const counter = Math.floor(unixSeconds) - Math.floor(epochUnixSeconds);
  assertTimeCounter(counter);
  return counter;
}

export interface EidBeaconParams {
  identityKey: AesKey;
  rotationExponent: number;
  /** The unix time (seconds) at which the beacon's time counter was 0. */
  epochUnixSeconds: number;
}

export interface EidAt {
  /** Upper-case hex of the 8 EID bytes, as the resolver and the dashboard show it. */
  eid: string;
  timeCounter: number;
  /** Window index: counter >>> K. */
  window: number;
  /** The window's first second and the first second after it, in unix seconds. */
  startUnix: number;
  endUnix: number;
}

/** What the beacon advertises at a unix time, and the window it belongs to: for the gateway's advertiser. */
export function eidAt(beacon: EidBeaconParams, unixSeconds: number): EidAt {
  assertRotationExponent(beacon.rotationExponent);
  const timeCounter = eidTimeCounter(beacon.epochUnixSeconds, unixSeconds);
  const period = 2 ** beacon.rotationExponent;
  const window = Math.floor(timeCounter / period);
  const startUnix = Math.floor(beacon.epochUnixSeconds) + window * period;
  return {
    eid: computeEid(beacon.identityKey, beacon.rotationExponent, timeCounter).toString('hex').toUpperCase(),
    timeCounter,
    window,
    startUnix,
    endUnix: startUnix + period,
  };
}
