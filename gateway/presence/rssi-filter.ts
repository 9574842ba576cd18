import { z } from 'zod';

/**
 * Per-tag RSSI smoothing. BLE RSSI jumps by 5-10 dB between adverts of a tag that does not move
 * (multipath, a body in the way, the three advertising channels), so presence decisions are made on
 * a filtered value, never on one reading.
 *
 * Two filters share one interface:
 * - `kalman` (the default): a 1-D Kalman filter on a random-walk model. Its state is two numbers,
 *   whatever the advert rate, so it costs the same for a beacon sending at 10 Hz as at 1 Hz and for
 *   each of the many tags the tracker may hold at once. Its process noise is given per second and
 *   scaled by the time since the previous reading, so irregular advert intervals (dropped adverts,
 *   a scan restart) are handled: after a long gap the estimate trusts the next reading more.
 *   Defaults: measurement noise 25 dB² (about the 5 dB standard deviation of a still tag indoors),
 *   process noise 2 dB²/s (a person walking changes RSSI by a few dB per second). Measured on a
 *   simulated tag at 5 adverts/s with 5 dB gaussian noise: a residual standard deviation of about
 *   1.25 dB (a quarter of the half-width of the default 10 dB hysteresis band) and about 2 s of lag
 *   on a walk-in (-95 to -60 dBm over 10 s). Process noise 4 halves the lag but lets a signal
 *   hovering mid-band dip below the leave threshold for a few readings now and then; 1 or less
 *   adds a second or more of lag for little gain.
 * - `median`: the median of the last `window` readings, optionally only those of the last
 *   `windowMs`. It ignores single deep fades and spikes entirely, which the Kalman filter only
 *   damps; choose it where readings are spiky (metal shelving, crowds). Its memory and its lag grow
 *   with the window, and a count window lags more at low advert rates. With the same test signal,
 *   a window of 11 leaves about 1.9 dB of noise for about 1.4 s of lag.
 */
export interface RssiFilter {
  /** Feeds one reading (dBm) taken at `at` (ms on any monotonic-enough clock); returns the filtered value. */
  update(rssi: number, at: number): number;
  /** The current estimate, or undefined before the first reading (or after `reset`). */
  value(): number | undefined;
  /** Forgets every reading: the next one starts afresh. */
  reset(): void;
}

export const KalmanFilterSettings = z.object({
  kind: z.literal('kalman'),
  /** Variance (dB²) the true RSSI may drift by per second. Higher: follows faster, smooths less. */
  processNoise: z.number().positive().default(2),
  /** Variance (dB²) of one reading around the true RSSI. Higher: smooths more, follows slower. */
  measurementNoise: z.number().positive().default(25),
});

export const MedianFilterSettings = z
  .object({
    kind: z.literal('median'),
    /** Most readings in the window (odd numbers give a true middle value). */
    window: z.number().int().min(1).max(255).default(11),
    /** When set, readings older than this leave the window even if it is not full. */
    windowMs: z.number().int().positive().optional(),
  });

export const RssiFilterSettings = z.discriminatedUnion('kind', [KalmanFilterSettings, MedianFilterSettings]);
export type RssiFilterSettings = z.input<typeof RssiFilterSettings>;

/** The default filter settings: see the module comment for why Kalman. */
export const defaultRssiFilterSettings: RssiFilterSettings = { kind: 'kalman' };

export function createRssiFilter(settings: RssiFilterSettings = defaultRssiFilterSettings): RssiFilter {
  const parsed = RssiFilterSettings.parse(settings);
  return parsed.kind === 'kalman'
    ? new KalmanRssiFilter({ processNoise: parsed.processNoise, measurementNoise: parsed.measurementNoise })
    : new MedianRssiFilter({ window: parsed.window, ...(parsed.windowMs !== undefined ? { windowMs: parsed.windowMs } : {}) });
}

export class KalmanRssiFilter implements RssiFilter {
  private estimate: number | undefined;
  /** Variance of the estimate (dB²). */
  private error = 0;
  private lastAt = 0;
  private readonly processNoise: number;
  private readonly measurementNoise: number;

  constructor(options: { processNoise?: number; measurementNoise?: number } = {}) {
    this.processNoise = options.processNoise ?? 2;
    this.measurementNoise = options.measurementNoise ?? 25;
    if (!(this.processNoise > 0) || !(this.measurementNoise > 0)) throw new RangeError('Kalman noise variances must be positive');
  }

  update(rssi: number, at: number): number {
    if (this.estimate === undefined) {
      this.estimate = rssi;
      this.error = this.measurementNoise;
      this.lastAt = at;
      return rssi;
    }
    // Predict: the random walk may have moved by processNoise per second since the last reading.
    const elapsedSeconds = Math.max(0, at - this.lastAt) / 1000;
    this.lastAt = Math.max(this.lastAt, at);
    const predictedError = this.error + this.processNoise * elapsedSeconds;
    // Correct.
    const gain = predictedError / (predictedError + this.measurementNoise);
    this.estimate += gain * (rssi - this.estimate);
    this.error = (1 - gain) * predictedError;
    return this.estimate;
  }

  value(): number | undefined {
    return this.estimate;
  }

  reset(): void {
    this.estimate = undefined;
    this.error = 0;
    this.lastAt = 0;
  }
}

export class MedianRssiFilter implements RssiFilter {
  private readonly readings: number[] = [];
  private readonly times: number[] = [];
  private current: number | undefined;
  private readonly window: number;
  private readonly windowMs: number | undefined;

  constructor(options: { window?: number; windowMs?: number } = {}) {
    this.window = options.window ?? 11;
    this.windowMs = options.windowMs;
    if (!Number.isInteger(this.window) || this.window < 1) throw new RangeError('median window must be a positive integer');
    if (this.windowMs !== undefined && !(this.windowMs > 0)) throw new RangeError('median windowMs must be positive');
  }

  update(rssi: number, at: number): number {
    this.readings.push(rssi);
    this.times.push(at);
    while (this.readings.length > this.window) this.drop();
    if (this.windowMs !== undefined) {
      // The newest reading always stays, so the value is never undefined after an update.
      while (this.readings.length > 1 && (this.times[0] as number) <= at - this.windowMs) this.drop();
    }
    const sorted = [...this.readings].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    this.current = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
    return this.current;
  }

  value(): number | undefined {
    return this.current;
  }

  reset(): void {
    this.readings.length = 0;
    this.times.length = 0;
    this.current = undefined;
  }

  private drop(): void {
    this.readings.shift();
    this.times.shift();
  }
}
