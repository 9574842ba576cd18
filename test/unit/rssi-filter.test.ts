import { describe, expect, it } from 'vitest';
import { createRssiFilter, KalmanRssiFilter, MedianRssiFilter, RssiFilterSettings } from '../../gateway/presence/rssi-filter.js';
import { prng } from '../support/prng.js';

function gaussian(seed: number): () => number {
  const random = prng(seed);
  return () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
}

function stats(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length);
  return { mean, sd };
}

describe('Kalman RSSI filter', () => {
  it('starts at the first reading and has no value before it', () => {
    const filter = new KalmanRssiFilter();
    expect(filter.value()).toBeUndefined();
    expect(filter.update(-64, 0)).toBe(-64);
    expect(filter.value()).toBe(-64);
    filter.reset();
    expect(filter.value()).toBeUndefined();
  });

  it('cuts 5 dB noise on a still tag (5 adverts/s) to about 1.3 dB around the true value', () => {
    const noise = gaussian(7);
    const filter = new KalmanRssiFilter();
    const raw: number[] = [];
    const filtered: number[] = [];
    for (let i = 0; i < 600; i += 1) {
      const reading = Math.round(-65 + noise() * 5);
      const value = filter.update(reading, i * 200);
      if (i >= 50) {
        raw.push(reading);
        filtered.push(value);
      }
    }
    const rawStats = stats(raw);
    const filteredStats = stats(filtered);
    expect(rawStats.sd).toBeGreaterThan(4);
    expect(filteredStats.sd).toBeLessThan(1.6);
    expect(Math.abs(filteredStats.mean + 65)).toBeLessThan(1);
  });

  it('follows a step of 20 dB within a few seconds', () => {
    const filter = new KalmanRssiFilter();
    let at = 0;
    for (; at < 10_000; at += 200) filter.update(-90, at);
    const stepAt = at;
    let crossedAt: number | undefined;
    for (; at < stepAt + 10_000; at += 200) {
      if (filter.update(-70, at) >= -72 && crossedAt === undefined) crossedAt = at;
    }
    expect(crossedAt).toBeDefined();
    expect((crossedAt as number) - stepAt).toBeLessThan(5_000);
  });

  it('trusts a reading more after a long silence (process noise scales with time)', () => {
    const quick = new KalmanRssiFilter();
    const slow = new KalmanRssiFilter();
    for (let i = 0; i < 50; i += 1) {
      quick.update(-80, i * 200);
      slow.update(-80, i * 200);
    }
    const afterShortGap = quick.update(-60, 49 * 200 + 200);
    const afterLongGap = slow.update(-60, 49 * 200 + 60_000);
    expect(afterLongGap).toBeGreaterThan(afterShortGap + 5);
  });
});

describe('median RSSI filter', () => {
  it('ignores a single spike and a single deep fade', () => {
    const filter = new MedianRssiFilter({ window: 5 });
    for (const [index, reading] of [-60, -61, -59, -60].entries()) filter.update(reading, index * 100);
    expect(filter.update(-20, 500)).toBe(-60);
    expect(filter.update(-99, 600)).toBe(-60);
  });

  it('keeps at most N readings', () => {
    const filter = new MedianRssiFilter({ window: 3 });
    filter.update(-90, 0);
    filter.update(-90, 1);
    filter.update(-60, 2);
    expect(filter.update(-60, 3)).toBe(-60);
  });

  it('drops readings older than windowMs, keeping the newest', () => {
    const filter = new MedianRssiFilter({ window: 9, windowMs: 1_000 });
    for (let i = 0; i < 5; i += 1) filter.update(-90, i * 100);
    expect(filter.value()).toBe(-90);
    // 2 s later the old readings are gone: only the new one counts.
    expect(filter.update(-60, 2_500)).toBe(-60);
    expect(filter.update(-62, 2_600)).toBe(-61);
  });
});

describe('createRssiFilter', () => {
  it('defaults to the Kalman filter', () => {
    expect(createRssiFilter()).toBeInstanceOf(KalmanRssiFilter);
    expect(createRssiFilter({ kind: 'median', window: 5 })).toBeInstanceOf(MedianRssiFilter);
  });

  it('refuses nonsense settings with a reason', () => {
    const result = RssiFilterSettings.safeParse({ kind: 'kalman', processNoise: 0 });
    expect(result.success).toBe(false);
    expect(() => createRssiFilter({ kind: 'median', window: 0 })).toThrow();
  });
});
