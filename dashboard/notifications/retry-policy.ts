/**
 * When a failed delivery is tried again: exponential back-off with jitter. After the n-th failed
 * attempt of a cycle (a cycle starts at the first attempt and again at each replay) the next one
 * waits about `baseMs * factor^(n-1)`, at most `capMs`, each spread by ±`jitter` so that
 * deliveries that failed together (a receiver's outage) do not all come back at the same second.
 * Defaults: 10 s, 30 s, 90 s, 4.5 min, 13.5 min, 40.5 min, 1 h, ...; given up after 8 attempts.
 */
export interface RetryPolicy {
  maxAttempts: number;
  /** The wait after the `failedAttempts`-th failed attempt of the cycle (1-based). */
  delayMs(failedAttempts: number): number;
}

export interface BackoffSettings {
  maxAttempts: number;
  baseMs: number;
  factor: number;
  capMs: number;
  /** 0.2: each delay is drawn from [0.8, 1.2] times the nominal one (never above the cap). */
  jitter: number;
  /** In [0, 1): Math.random, or a fixed value in tests. */
  random: () => number;
}

export const defaultBackoff: BackoffSettings = { maxAttempts: 8, baseMs: 10_000, factor: 3, capMs: 60 * 60_000, jitter: 0.2, random: Math.random };

export function exponentialBackoff(settings: Partial<BackoffSettings> = {}): RetryPolicy {
  const { maxAttempts, baseMs, factor, capMs, jitter, random } = { ...defaultBackoff, ...settings };
  return {
    maxAttempts,
    delayMs(failedAttempts: number): number {
      const nominal = Math.min(capMs, baseMs * factor ** Math.max(0, failedAttempts - 1));
      const spread = 1 + jitter * (2 * random() - 1);
      return Math.round(Math.min(capMs, nominal * spread));
    },
  };
}

/** The longest wait after the `failedAttempts`-th failure (the top of its jitter): what a test moves its clock by. */
export function longestDelayMs(failedAttempts: number, settings: Partial<BackoffSettings> = {}): number {
  const { baseMs, factor, capMs, jitter } = { ...defaultBackoff, ...settings };
  return Math.ceil(Math.min(capMs, Math.min(capMs, baseMs * factor ** Math.max(0, failedAttempts - 1)) * (1 + jitter)));
}
