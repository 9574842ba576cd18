import { aes128, type AesKey } from './aes-block.js';
import { assertRotationExponent } from './eddystone-eid.js';

/**
 * The rotating iBeacon minor: the iOS twin of Eddystone-EID (iOS ranges iBeacons by UUID and
 * major, and hands the app the minor). Every gateway of a site advertises the site's fixed UUID
 * and major, and a minor that changes every 2^K seconds:
 *
 * ```
 * step  = floor(unixSeconds / 2^K)                         (unix time base, no per-beacon epoch)
 * block = "pg-ibminor" ‖ 01 ‖ K ‖ step as u32 BE            (16 bytes)
 *       = 70 67 2D 69 62 6D 69 6E 6F 72 | 01 | K | s3 s2 s1 s0
 * minor = first 2 bytes of AES128-ECB_siteKey(block), as u16 BE
 * ```
 *
 * - `siteKey`: a 128-bit AES key per site, known to the site's gateways and to the dashboard.
 * - The 10 ASCII bytes "pg-ibminor" and the version byte 01 separate this use of a key from any
 *   other (an Eddystone-EID block starts with eleven 00 bytes, so even a key reused by mistake
 *   for both never encrypts the same block for both purposes). A future construction bumps 01.
 * - K is in the block, so changing a site's K changes the whole sequence rather than reusing it.
 * - The step is a u32: good until 2106 even at K = 0.
 *
 * Unlike an EID, a 16-bit minor collides: a random guess is right once in 65536, and two sites
 * sharing a UUID and major will show the same minor from time to time. The minor alone is weak
 * evidence; see docs/rotating-beacon.md and the resolver.
 */

export const IBEACON_MINOR_DOMAIN = Buffer.from('pg-ibminor', 'ascii');
export const IBEACON_MINOR_VERSION = 0x01;
export const IBEACON_STEP_LIMIT = 2 ** 32;

export function assertStep(step: number): void {
  if (!Number.isInteger(step) || step < 0 || step >= IBEACON_STEP_LIMIT) {
    throw new RangeError(`the iBeacon rotation step is a 32-bit unsigned integer, got ${step}`);
  }
}

/** The time step of a unix time: floor(unixSeconds / 2^K). */
export function rotationStep(rotationExponent: number, unixSeconds: number): number {
  assertRotationExponent(rotationExponent);
  const step = Math.floor(Math.floor(unixSeconds) / 2 ** rotationExponent);
  assertStep(step);
  return step;
}

/** The 16-byte domain-separated block for a step: "pg-ibminor" ‖ 01 ‖ K ‖ step (u32 BE). */
export function rotatingMinorBlock(rotationExponent: number, step: number): Buffer {
  assertRotationExponent(rotationExponent);
  assertStep(step);
  const block = Buffer.alloc(16);
  IBEACON_MINOR_DOMAIN.copy(block, 0);
  block[10] = IBEACON_MINOR_VERSION;
  block[11] = rotationExponent;
  block.writeUInt32BE(step, 12);
  return block;
}

/** minor = u16 BE of the first two bytes of AES128-ECB_siteKey(rotatingMinorBlock(K, step)). */
export function rotatingMinor(siteKey: AesKey, rotationExponent: number, step: number): number {
  return aes128(siteKey).encrypt(rotatingMinorBlock(rotationExponent, step)).readUInt16BE(0);
}

export interface RotatingMinorAt {
  minor: number;
  step: number;
  /** The step's first second and the first second after it, in unix seconds. */
  startUnix: number;
  endUnix: number;
}

/** The minor a site's gateways advertise at a unix time, and the step it belongs to. */
export function rotatingMinorAt(siteKey: AesKey, rotationExponent: number, unixSeconds: number): RotatingMinorAt {
  const step = rotationStep(rotationExponent, unixSeconds);
  const period = 2 ** rotationExponent;
  return {
    minor: rotatingMinor(siteKey, rotationExponent, step),
    step,
    startUnix: step * period,
    endUnix: (step + 1) * period,
  };
}
