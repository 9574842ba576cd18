import { describe, expect, it } from 'vitest';
import { keyFromHex } from '../../core/beacon/aes-block.js';
import type { BeaconRegistrationInput } from '../../core/beacon/beacon-registry.js';
import { computeEid } from '../../core/beacon/eddystone-eid.js';
import { BeaconResolver } from '../../core/beacon/resolver.js';
import { rotatingMinor } from '../../core/beacon/rotating-ibeacon.js';

const IK_A = '000102030405060708090A0B0C0D0E0F';
const IK_B = 'F0E1D2C3B4A5968778695A4B3C2D1E0F';
const SITE_KEY_A = '2B7E151628AED2A6ABF7158809CF4F3C';
const SITE_KEY_B = '603DEB1015CA71BE2B73AEF0857D7781';
const UUID = 'E2C56DB5-DFFB-48D2-B060-D0F5A71096E0';
/** 2023-11-14T22:13:20Z, a multiple of 1024 and of 32768: windows aligned on it. */
const EPOCH = 1_700_003_840;

const eidBeacon = (over: Partial<Extract<BeaconRegistrationInput, { kind: 'eid' }>> = {}): BeaconRegistrationInput => ({
  kind: 'eid',
  siteId: 'site-a',
  gatewayId: 'gw-a1',
  identityKey: IK_A,
  rotationExponent: 10,
  epochUnixSeconds: EPOCH,
  ...over,
});

/** The EID a registered beacon advertises in its window `window`. */
function eidOf(ik: string, k: number, window: number): string {
  return computeEid(keyFromHex(ik), k, window * 2 ** k).toString('hex').toUpperCase();
}

describe('BeaconResolver: Eddystone-EID', () => {
  const resolver = new BeaconResolver([eidBeacon(), eidBeacon({ siteId: 'site-b', gatewayId: 'gw-b1', identityKey: IK_B })]);
  const w = 100; // the beacon's window at the observation time
  const now = EPOCH + w * 1024 + 500;

  it('resolves the current window to its site, gateway and window', () => {
    expect(resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w) }, now)).toEqual({
      ok: true,
      siteId: 'site-a',
      gatewayId: 'gw-a1',
      kind: 'eid',
      offset: 0,
      window: {
        index: w,
        startUnix: EPOCH + w * 1024,
        endUnix: EPOCH + (w + 1) * 1024,
        start: new Date((EPOCH + w * 1024) * 1000).toISOString(),
        end: new Date((EPOCH + (w + 1) * 1024) * 1000).toISOString(),
      },
    });
    const other = resolver.resolve({ kind: 'eid', eid: eidOf(IK_B, 10, w).toLowerCase() }, new Date(now * 1000));
    expect(other).toMatchObject({ ok: true, siteId: 'site-b', gatewayId: 'gw-b1', offset: 0 });
  });

  it('accepts the adjacent windows for clock skew (-1 and +1)', () => {
    expect(resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w - 1) }, now)).toMatchObject({ ok: true, offset: -1 });
    expect(resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w + 1) }, now)).toMatchObject({ ok: true, offset: 1 });
  });

  it('refuses ±2 windows as expired, and older ids within the look-back, nearest first', () => {
    const minus2 = resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w - 2) }, now);
    expect(minus2).toMatchObject({ ok: false, reason: 'expired', candidates: [{ siteId: 'site-a', gatewayId: 'gw-a1', offset: -2 }] });
    const plus2 = resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w + 2) }, now);
    expect(plus2).toMatchObject({ ok: false, reason: 'expired', candidates: [{ offset: 2 }] });
    // 80 windows of 1024 s = 22.7 h ago: still within the default 24 h look-back.
    const old = resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w - 80) }, now);
    expect(old).toMatchObject({ ok: false, reason: 'expired', candidates: [{ offset: -80, window: { index: w - 80 } }] });
  });

  it('says unknown beyond the look-back and for ids nobody produces', () => {
    const far = new BeaconResolver([eidBeacon()], { lookBackSeconds: 3_600 });
    const at = EPOCH + 1_000 * 1024;
    expect(far.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, 1_000 - 3) }, at)).toMatchObject({ reason: 'expired' });
    expect(far.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, 1_000 - 5) }, at)).toEqual({ ok: false, reason: 'unknown' });
    expect(resolver.resolve({ kind: 'eid', eid: '0123456789ABCDEF' }, now)).toEqual({ ok: false, reason: 'unknown' });
    // Before the beacon's epoch its counter does not exist.
    expect(resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, 0) }, EPOCH - 5_000)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('looks ahead only as far as lookAheadSeconds (but always ±2)', () => {
    const r = new BeaconResolver([eidBeacon()], { lookAheadSeconds: 0, lookBackSeconds: 0 });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w + 2) }, now)).toMatchObject({ reason: 'expired', candidates: [{ offset: 2 }] });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w - 2) }, now)).toMatchObject({ reason: 'expired', candidates: [{ offset: -2 }] });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w + 3) }, now)).toEqual({ ok: false, reason: 'unknown' });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w - 3) }, now)).toEqual({ ok: false, reason: 'unknown' });
    // The default looks an hour ahead: 4 windows of 1024 s.
    expect(resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w + 4) }, now)).toMatchObject({ reason: 'expired' });
    expect(resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w + 6) }, now)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('rotates exactly at window boundaries, with an epoch not aligned on 2^K', () => {
    const epoch = 1_700_000_123; // 1_700_000_123 mod 1024 = 891
    const r = new BeaconResolver([eidBeacon({ epochUnixSeconds: epoch })]);
    const start = epoch + 50 * 1024;
    const id = eidOf(IK_A, 10, 50);
    expect(r.resolve({ kind: 'eid', eid: id }, start)).toMatchObject({ ok: true, offset: 0, window: { startUnix: start } });
    expect(r.resolve({ kind: 'eid', eid: id }, start + 1023)).toMatchObject({ ok: true, offset: 0 });
    expect(r.resolve({ kind: 'eid', eid: id }, start - 1)).toMatchObject({ ok: true, offset: 1 });
    expect(r.resolve({ kind: 'eid', eid: id }, start + 1024)).toMatchObject({ ok: true, offset: -1 });
    expect(r.resolve({ kind: 'eid', eid: id }, start + 2048)).toMatchObject({ ok: false, reason: 'expired', candidates: [{ offset: -2 }] });
    expect(r.resolve({ kind: 'eid', eid: id }, start - 1025)).toMatchObject({ ok: false, reason: 'expired', candidates: [{ offset: 2 }] });
  });

  it('handles K=0 (a new id every second) and K=15 (every 32768 s)', () => {
    const r = new BeaconResolver([eidBeacon({ rotationExponent: 0 }), eidBeacon({ identityKey: IK_B, siteId: 'site-b', rotationExponent: 15 })]);
    const t = EPOCH + 1_000_000;
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 0, 1_000_000) }, t)).toMatchObject({ ok: true, siteId: 'site-a', offset: 0 });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 0, 999_999) }, t)).toMatchObject({ ok: true, offset: -1 });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 0, 999_998) }, t)).toMatchObject({ reason: 'expired', candidates: [{ offset: -2 }] });
    // K=0 with 24 h of look-back is capped at maxLookWindows (1024 by default).
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 0, 1_000_000 - 1_000) }, t)).toMatchObject({ reason: 'expired' });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 0, 1_000_000 - 2_000) }, t)).toEqual({ ok: false, reason: 'unknown' });
    const q = Math.floor(1_000_000 / 32_768); // 30
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_B, 15, q) }, t)).toMatchObject({ ok: true, siteId: 'site-b', offset: 0 });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_B, 15, q - 1) }, t)).toMatchObject({ ok: true, offset: -1 });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_B, 15, q - 2) }, t)).toMatchObject({ reason: 'expired', candidates: [{ offset: -2 }] });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_B, 15, q + 2) }, t)).toMatchObject({ reason: 'expired', candidates: [{ offset: 2 }] });
  });

  it('crosses the temporary-key rollover (counter 65535 -> 65536) with its cached TK', () => {
    const r = new BeaconResolver([eidBeacon({ rotationExponent: 0 })]);
    const t = EPOCH + 65_536;
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 0, 65_535) }, t)).toMatchObject({ ok: true, offset: -1 });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 0, 65_536) }, t)).toMatchObject({ ok: true, offset: 0 });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 0, 65_537) }, t)).toMatchObject({ ok: true, offset: 1 });
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 0, 65_534) }, t)).toMatchObject({ reason: 'expired', candidates: [{ offset: -2 }] });
  });

  it('refuses malformed observations and bad registrations', () => {
    expect(() => resolver.resolve({ kind: 'eid', eid: 'XYZ' }, now)).toThrow(/16 hex/);
    expect(() => new BeaconResolver([eidBeacon({ identityKey: 'ABCD' })])).toThrow(/32 hex/);
    expect(() => new BeaconResolver([eidBeacon({ rotationExponent: 16 })])).toThrow();
    expect(() => resolver.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w) }, Number.NaN)).toThrow(/valid time/);
  });
});

describe('BeaconResolver: rotating iBeacon minor', () => {
  const site = (siteId: string, siteKey: string, major = 1): BeaconRegistrationInput => ({
    kind: 'ibeacon-minor',
    siteId,
    siteKey,
    rotationExponent: 9,
    uuid: UUID,
    major,
  });
  const minorAt = (key: string, step: number): number => rotatingMinor(keyFromHex(key), 9, step);
  const step = 3_400_000; // unix 1_740_800_000 .. +512
  const t = step * 512 + 100;

  it('resolves uuid/major/minor in the current and adjacent steps, whatever the UUID spelling', () => {
    const r = new BeaconResolver([site('site-a', SITE_KEY_A, 1), site('site-b', SITE_KEY_B, 2)]);
    expect(r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: minorAt(SITE_KEY_A, step) }, t)).toEqual({
      ok: true,
      siteId: 'site-a',
      kind: 'ibeacon-minor',
      offset: 0,
      window: {
        index: step,
        startUnix: step * 512,
        endUnix: (step + 1) * 512,
        start: new Date(step * 512_000).toISOString(),
        end: new Date((step + 1) * 512_000).toISOString(),
      },
    });
    const lower = UUID.toLowerCase().replaceAll('-', '');
    expect(r.resolve({ kind: 'ibeacon', uuid: lower, major: 2, minor: minorAt(SITE_KEY_B, step + 1) }, t)).toMatchObject({
      ok: true,
      siteId: 'site-b',
      offset: 1,
    });
    expect(r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: minorAt(SITE_KEY_A, step - 1) }, t)).toMatchObject({ offset: -1 });
    // The right minor under the wrong major is someone else's beacon (or nobody's).
    const wrongMajor = r.resolve({ kind: 'ibeacon', uuid: UUID, major: 7, minor: minorAt(SITE_KEY_A, step) }, t);
    expect(wrongMajor).toEqual({ ok: false, reason: 'unknown' });
  });

  it('refuses ±2 steps as expired, and rotates exactly on the unix boundary', () => {
    const r = new BeaconResolver([site('site-a', SITE_KEY_A)]);
    const minus2 = minorAt(SITE_KEY_A, step - 2);
    const plus2 = minorAt(SITE_KEY_A, step + 2);
    const near = new Set([step - 1, step, step + 1].map((s) => minorAt(SITE_KEY_A, s)));
    // A 16-bit minor may repeat in a neighbouring step; with these keys and steps it does not.
    expect(near.has(minus2) || near.has(plus2)).toBe(false);
    expect(r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: minus2 }, t)).toMatchObject({ reason: 'expired', candidates: [{ offset: -2 }] });
    expect(r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: plus2 }, t)).toMatchObject({ reason: 'expired', candidates: [{ offset: 2 }] });
    const first = minorAt(SITE_KEY_A, step);
    expect(r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: first }, step * 512)).toMatchObject({ offset: 0 });
    expect(r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: first }, step * 512 + 511)).toMatchObject({ offset: 0 });
    expect(r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: first }, step * 512 - 1)).toMatchObject({ offset: 1 });
    expect(r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: first }, (step + 1) * 512)).toMatchObject({ offset: -1 });
  });

  it('reports a collision between two sites sharing uuid and major as ambiguous', () => {
    // Find a second where site A's minor equals one of site B's accepted minors (about 1 in 22000 steps).
    const keyA = keyFromHex(SITE_KEY_A);
    const keyB = keyFromHex(SITE_KEY_B);
    let collision: { step: number; minor: number } | undefined;
    let prev = rotatingMinor(keyB, 9, 999);
    let cur = rotatingMinor(keyB, 9, 1000);
    for (let s = 1000; s < 1_000_000 && !collision; s++) {
      const next = rotatingMinor(keyB, 9, s + 1);
      const a = rotatingMinor(keyA, 9, s);
      if (a === prev || a === cur || a === next) collision = { step: s, minor: a };
      prev = cur;
      cur = next;
    }
    expect(collision).toBeDefined();
    const { step: s, minor } = collision!;
    const r = new BeaconResolver([site('site-a', SITE_KEY_A), site('site-b', SITE_KEY_B)]);
    const result = r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor }, s * 512 + 7);
    expect(result).toMatchObject({ ok: false, reason: 'ambiguous' });
    if (result.ok || result.reason !== 'ambiguous') throw new Error('unreachable');
    expect(result.candidates.map((c) => c.siteId).sort()).toEqual(['site-a', 'site-b']);
    expect(result.candidates[0]).toMatchObject({ siteId: 'site-a', offset: 0 });
    // With a major per site the same minor is no collision: each site's own beacon resolves.
    const separated = new BeaconResolver([site('site-a', SITE_KEY_A, 1), site('site-b', SITE_KEY_B, 2)]);
    expect(separated.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor }, s * 512 + 7)).toMatchObject({ ok: true, siteId: 'site-a' });
  });

  it('gives one match when only registrations of the same site produce the id', () => {
    const r = new BeaconResolver([site('site-a', SITE_KEY_A), site('site-a', SITE_KEY_A)]);
    expect(r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: minorAt(SITE_KEY_A, step) }, t)).toMatchObject({
      ok: true,
      siteId: 'site-a',
      offset: 0,
    });
  });

  it('keeps EIDs and iBeacons apart, and a misconfigured shared key is always ambiguous', () => {
    const r = new BeaconResolver([site('site-a', SITE_KEY_A), site('site-b', SITE_KEY_A), eidBeacon()]);
    const result = r.resolve({ kind: 'ibeacon', uuid: UUID, major: 1, minor: minorAt(SITE_KEY_A, step) }, t);
    expect(result).toMatchObject({ ok: false, reason: 'ambiguous' });
    const w = Math.floor((t - EPOCH) / 1024);
    expect(r.resolve({ kind: 'eid', eid: eidOf(IK_A, 10, w) }, t)).toMatchObject({ ok: true, siteId: 'site-a', gatewayId: 'gw-a1' });
  });
});

describe('BeaconResolver: cost', () => {
  it('resolves thousands of observations from cached per-window tables, without AES per registration each time', () => {
    const registrations: BeaconRegistrationInput[] = [];
    const hex = (n: number): string => n.toString(16).toUpperCase().padStart(32, '0');
    for (let i = 0; i < 1_000; i++) {
      registrations.push(eidBeacon({ siteId: `site-${i % 300}`, gatewayId: `gw-${i}`, identityKey: hex(i + 1), epochUnixSeconds: EPOCH + i * 7 }));
    }
    for (let i = 0; i < 300; i++) {
      registrations.push({ kind: 'ibeacon-minor', siteId: `site-${i}`, siteKey: hex(100_000 + i), rotationExponent: 10, uuid: UUID, major: i });
    }
    const r = new BeaconResolver(registrations);
    const bucketStart = Math.ceil((EPOCH + 10_000_000) / 1024) * 1024;
    const observations = Array.from({ length: 5_000 }, (_, n) => {
      const i = n % 1_000;
      const at = bucketStart + (n % 1024);
      const window = Math.floor((at - (EPOCH + i * 7)) / 1024);
      return { eid: eidOf(hex(i + 1), 10, window), at, gateway: `gw-${i}` };
    });

    const started = performance.now();
    for (const o of observations) {
      const result = r.resolve({ kind: 'eid', eid: o.eid }, o.at);
      if (!result.ok || result.gatewayId !== o.gateway) throw new Error(`${o.eid} at ${o.at}: ${JSON.stringify(result)}`);
    }
    const elapsed = performance.now() - started;
    const stats = r.stats();
    // One table for the EID group in this bucket (the iBeacon group is not consulted for EIDs),
    // at most 4 ids per registration in it, and no look-back index (nothing missed).
    expect(stats.tablesBuilt).toBe(1);
    expect(stats.idsComputed).toBeLessThanOrEqual(4 * 1_000);
    expect(stats.lookIndexUpdates).toBe(0);
    expect(elapsed).toBeLessThan(2_000);

    // Repeating the same observations costs no AES at all.
    for (const o of observations.slice(0, 500)) r.resolve({ kind: 'eid', eid: o.eid }, o.at);
    expect(r.stats().idsComputed).toBe(stats.idsComputed);

    // A miss builds the look-back index once; the next bucket slides it by about one id per registration.
    expect(r.resolve({ kind: 'eid', eid: 'FFFFFFFFFFFFFFFF' }, bucketStart)).toEqual({ ok: false, reason: 'unknown' });
    const afterBuild = r.stats();
    expect(afterBuild.lookIndexUpdates).toBe(1);
    r.resolve({ kind: 'eid', eid: 'FFFFFFFFFFFFFFFF' }, bucketStart + 1024);
    const afterSlide = r.stats();
    expect(afterSlide.lookIndexUpdates).toBe(2);
    // The next bucket: its accepted table (<= 4 per registration) plus the slide (~1 per registration).
    expect(afterSlide.idsComputed - afterBuild.idsComputed).toBeLessThanOrEqual(6 * 1_000);
  });
});
