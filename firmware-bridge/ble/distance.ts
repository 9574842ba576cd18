import type { BeaconFrame } from './frames.js';

/*
 * Log-distance path loss (../shared/HARDWARE.md "Distance"): d = 10 ^ ((P1m - RSSI) / (10 n)).
 * RSSI is noisy: filter it (median, Kalman) and use hysteresis before acting on a distance.
 */

/** Eddystone sends the power at 0 m; one metre of free space costs about 41 dB. */
export const EDDYSTONE_LOSS_AT_ONE_METRE_DB = 41;

/** Path-loss exponent: about 2 in free space, 2.7 to 4 indoors. */
export const FREE_SPACE_PATH_LOSS_EXPONENT = 2;

/**
 * Estimated distance in metres from the power at 1 m (`p1m`, dBm), the received `rssi` (dBm) and
 * the path-loss exponent `n`. RangeError for a non-finite input or n <= 0.
 */
export function distanceMetres(p1m: number, rssi: number, n: number = FREE_SPACE_PATH_LOSS_EXPONENT): number {
  if (!Number.isFinite(p1m) || !Number.isFinite(rssi)) throw new RangeError(`distance needs finite powers (got P1m ${p1m}, RSSI ${rssi})`);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`path-loss exponent must be a positive number (got ${n})`);
  return 10 ** ((p1m - rssi) / (10 * n));
}

/**
 * The frame's power at 1 m (dBm): iBeacon measured power, AltBeacon reference RSSI, Eddystone
 * tx@0m - 41. Null for Eddystone-TLM, which carries no ranging data.
 */
export function referencePower(frame: BeaconFrame): number | null {
  switch (frame.kind) {
    case 'ibeacon':
      return frame.measuredPower;
    case 'altbeacon':
      return frame.referenceRssi;
    case 'eddystone-uid':
    case 'eddystone-url':
    case 'eddystone-eid':
      return frame.txPower - EDDYSTONE_LOSS_AT_ONE_METRE_DB;
    case 'eddystone-tlm':
      return null;
  }
}
