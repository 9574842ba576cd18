import { describe, expect, it } from 'vitest';
import { PresenceTracker, PresenceTrackerSettings, type PresenceTransition, type PresenceTrackerOptions } from '../../gateway/presence/presence-tracker.js';
import { testLogger } from '../support/logger.js';
import { prng } from '../support/prng.js';

function gaussian(seed: number): () => number {
  const random = prng(seed);
  return () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
}

function tracker(options: Partial<PresenceTrackerOptions> = {}): { tracker: PresenceTracker; transitions: PresenceTransition[] } {
  const instance = new PresenceTracker({ logger: testLogger(), now: () => 0, ...options });
  const transitions: PresenceTransition[] = [];
  instance.on('transition', (transition) => transitions.push(transition));
  return { tracker: instance, transitions };
}

/** Feeds one tag at 5 adverts/s with RSSI from `profile(t)` plus seeded noise; returns the last time. */
function feed(target: PresenceTracker, tagId: string, from: number, to: number, profile: (at: number) => number, seed: number, noiseDb = 5): number {
  const noise = gaussian(seed);
  let at = from;
  for (; at < to; at += 200) target.observe(tagId, Math.round(profile(at) + noise() * noiseDb), at);
  return at;
}

const TAG = 'E2C56DB5DFFB48D2B060D0F5A71096E0000100C8';

describe('presence tracker', () => {
  it('a person walking in (RSSI rising, noisy) becomes present once, without flapping', () => {
    const { tracker: target, transitions } = tracker();
    // 10 s walking in from -95 to -60 dBm, then 2 minutes at the counter around -62.
    let at = feed(target, TAG, 0, 10_000, (t) => -95 + (35 * t) / 10_000, 1);
    at = feed(target, TAG, at, at + 120_000, () => -62, 2);
    target.tick(at);
    expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual(['away->near', 'near->present']);
    const present = transitions[1] as PresenceTransition;
    expect(present.rssi).toBeGreaterThanOrEqual(-70);
    expect(present.at).toBeGreaterThan(5_000);
    expect(target.stateOf(TAG)).toBe('present');
  });

  it('walking out: away only after the quiet period, with when it was last heard', () => {
    const { tracker: target, transitions } = tracker({ absentAfterMs: 30_000 });
    const lastAt = feed(target, TAG, 0, 60_000, () => -60, 3) - 200;
    transitions.length = 0;
    target.tick(lastAt + 29_999);
    expect(transitions).toEqual([]);
    expect(target.stateOf(TAG)).toBe('present');
    target.tick(lastAt + 30_000);
    expect(transitions).toHaveLength(1);
    expect(transitions[0]).toMatchObject({ tagId: TAG, from: 'present', to: 'away', reason: 'quiet', at: lastAt + 30_000, lastSeenAt: lastAt });
    expect(target.size).toBe(0);
  });

  it('a signal hovering inside the hysteresis band does not flap, for 50 recordings and both filters (and would without the band)', () => {
    // Present first, then 10 minutes hovering at -75 dBm (between leave -80 and enter -70) with 5 dB noise.
    const profile = (t: number): number => (t < 20_000 ? -60 : -75);
    for (const filter of [{ kind: 'kalman' }, { kind: 'median' }] as const) {
      for (let seed = 1; seed <= 50; seed += 1) {
        const banded = tracker({ filter });
        const end = feed(banded.tracker, TAG, 0, 620_000, profile, seed);
        banded.tracker.tick(end);
        expect(banded.transitions.map((t) => `${t.from}->${t.to}`), `${filter.kind} seed ${seed}`).toEqual(['away->near', 'near->present']);
      }
    }

    // Same recording, thresholds almost touching and no extra readings or dwell asked: it flaps.
    const narrow = tracker({ enterRssi: -75, leaveRssi: -75.5, minReadings: 1, leaveReadings: 1, minDwellMs: 0, minLeaveMs: 0 });
    feed(narrow.tracker, TAG, 0, 620_000, profile, 4);
    expect(narrow.transitions.length).toBeGreaterThan(10);
  });

  it('from near, hovering in the band never becomes present', () => {
    const { tracker: target, transitions } = tracker();
    feed(target, TAG, 0, 300_000, () => -75, 5);
    expect(transitions.map((t) => t.to)).toEqual(['near']);
  });

  it('a passer-by with a brief strong signal is not present (minimum readings and dwell)', () => {
    const { tracker: target, transitions } = tracker({ minReadings: 3, minDwellMs: 2_000 });
    // Under a second at -55 (walking past the door at 1 m/s), then gone down the street.
    for (let at = 0; at <= 800; at += 200) target.observe(TAG, -55, at);
    expect(target.stateOf(TAG)).toBe('near');
    for (let at = 1_000; at < 5_000; at += 200) target.observe(TAG, -95, at);
    expect(transitions.map((t) => t.to)).toEqual(['near']);
  });

  it('present -> near once the filtered signal stays below the leave threshold for leaveReadings and minLeaveMs', () => {
    const { tracker: target, transitions } = tracker({ leaveReadings: 3, minLeaveMs: 5_000 });
    let at = feed(target, TAG, 0, 20_000, () => -60, 6, 2);
    at = feed(target, TAG, at, at + 20_000, () => -92, 7, 2);
    expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual(['away->near', 'near->present', 'present->near']);
    const leave = transitions[2] as PresenceTransition;
    expect(leave.rssi).toBeLessThan(-80);
    // The filtered value needs a moment to fall, then 5 s of dwell: not before 25 s.
    expect(leave.at).toBeGreaterThanOrEqual(25_000);
    expect(leave.at).toBeLessThan(32_000);
  });

  it('silence during a suspension does not send anyone away; they keep the quiet time they had left', () => {
    const { tracker: target, transitions } = tracker({ absentAfterMs: 30_000 });
    const lastAt = feed(target, TAG, 0, 20_000, () => -60, 8) - 200;
    transitions.length = 0;
    target.suspend(lastAt + 10_000);
    target.tick(lastAt + 3_600_000);
    expect(target.stateOf(TAG)).toBe('present');
    target.resume(lastAt + 3_600_000);
    target.tick(lastAt + 3_600_000 + 19_999);
    expect(transitions).toEqual([]);
    target.tick(lastAt + 3_600_000 + 20_000);
    expect(transitions).toMatchObject([{ to: 'away', reason: 'quiet', lastSeenAt: lastAt }]);
  });

  it('rotating addresses: the table never holds more than maxTags, near tags are evicted least recently heard first', () => {
    const { tracker: target, transitions } = tracker({ maxTags: 100 });
    const random = prng(9);
    let max = 0;
    for (let i = 0; i < 10_000; i += 1) {
      target.observe(`R${i.toString(16).padStart(6, '0')}`, -90 + random() * 10, i * 10);
      max = Math.max(max, target.size);
    }
    expect(max).toBe(100);
    expect(target.size).toBe(100);
    const evictions = transitions.filter((t) => t.reason === 'evicted');
    expect(evictions).toHaveLength(9_900);
    expect(evictions[0]).toMatchObject({ tagId: 'R000000', from: 'near', to: 'away' });
    expect(target.stats().evicted).toBe(9_900);
  });

  it('at the cap, tags past the quiet period leave first; present tags are never dropped, new tags are refused instead', () => {
    const { tracker: target, transitions } = tracker({ maxTags: 3, absentAfterMs: 30_000, minReadings: 1, minDwellMs: 0 });
    for (const tag of ['AA', 'BB', 'CC']) target.observe(tag, -50, 0);
    expect(target.stats().present).toBe(3);
    // All present and fresh: a fourth tag is refused, nobody leaves.
    transitions.length = 0;
    target.observe('DD', -50, 1_000);
    expect(target.stateOf('DD')).toBe('away');
    expect(transitions).toEqual([]);
    expect(target.stats().refused).toBe(1);
    // Keep BB and CC fresh; AA falls quiet. At the cap, AA leaves with its quiet transition (not evicted).
    target.observe('BB', -50, 25_000);
    target.observe('CC', -50, 25_000);
    target.observe('DD', -50, 31_000);
    expect(transitions).toMatchObject([
      { tagId: 'AA', from: 'present', to: 'away', reason: 'quiet' },
      { tagId: 'DD', from: 'away', to: 'near' },
      { tagId: 'DD', from: 'near', to: 'present' },
    ]);
    expect(target.size).toBe(3);
  });

  it('validates its settings: enter must be above leave', () => {
    expect(PresenceTrackerSettings.safeParse({ enterRssi: -80, leaveRssi: -70 }).success).toBe(false);
    expect(() => new PresenceTracker({ logger: testLogger(), enterRssi: -70, leaveRssi: -70 })).toThrow(/hysteresis/);
    expect(PresenceTrackerSettings.parse({})).toMatchObject({ enterRssi: -70, leaveRssi: -80, minReadings: 3, minDwellMs: 2_000, leaveReadings: 3, minLeaveMs: 5_000, absentAfterMs: 30_000, maxTags: 1_024, filter: { kind: 'kalman', processNoise: 2, measurementNoise: 25 } });
  });

  it('works with the median filter too', () => {
    const { tracker: target, transitions } = tracker({ filter: { kind: 'median', window: 11 } });
    let at = feed(target, TAG, 0, 10_000, (t) => -95 + (35 * t) / 10_000, 10);
    at = feed(target, TAG, at, at + 120_000, () => -62, 11);
    expect(transitions.map((t) => t.to)).toEqual(['near', 'present']);
  });
});
