import { createCipheriv } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { keyFromHex } from '../../core/beacon/aes-block.js';
import { rotatingMinor, rotatingMinorAt, rotatingMinorBlock, rotationStep } from '../../core/beacon/rotating-ibeacon.js';

const SITE_KEY = '2B7E151628AED2A6ABF7158809CF4F3C';

/** Independent minor: AES-CBC (zero IV, one block) over a hand-built block, as docs/rotating-beacon.md states it. */
function referenceMinor(siteKeyHex: string, k: number, step: number): number {
  const block = [...Buffer.from('pg-ibminor', 'ascii'), 0x01, k, (step >>> 24) & 0xff, (step >>> 16) & 0xff, (step >>> 8) & 0xff, step & 0xff];
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(siteKeyHex, 'hex'), Buffer.alloc(16));
  cipher.setAutoPadding(false);
  const out = Buffer.concat([cipher.update(Buffer.from(block)), cipher.final()]);
  return out[0]! * 256 + out[1]!;
}


describe('rotating iBeacon minor', () => {
  it('builds the documented block: "pg-ibminor" ‖ 01 ‖ K ‖ step u32 BE', () => {
    expect(rotatingMinorBlock(10, 0x01020304).toString('hex')).toBe('70672d6962' + '6d696e6f72' + '01' + '0a' + '01020304');
    expect(rotatingMinorBlock(0, 0xffffffff).toString('hex')).toBe('70672d69626d696e6f72' + '01' + '00' + 'ffffffff');
  });

  it('agrees with a second implementation over many keys, K and steps', () => {
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed;
    };
    for (let i = 0; i < 300; i++) {
      const key = Array.from({ length: 4 }, () => next().toString(16).padStart(8, '0')).join('');
      const k = i % 16;
      const step = next();
      expect(rotatingMinor(keyFromHex(key), k, step)).toBe(referenceMinor(key, k, step));
    }
  });

  it('agrees with `openssl enc -aes-128-ecb -nopad`', () => {
    for (const [k, step] of [
      [10, 1_660_156],
      [0, 1_700_000_000],
      [15, 51_879],
    ] as const) {
      const out = execFileSync('openssl', ['enc', '-aes-128-ecb', '-nopad', '-K', SITE_KEY], { input: rotatingMinorBlock(k, step) });
      expect(rotatingMinor(keyFromHex(SITE_KEY), k, step)).toBe(out.readUInt16BE(0));
    }
  });

  it('steps on unix time: floor(unix / 2^K), changing exactly at the boundary', () => {
    const key = keyFromHex(SITE_KEY);
    for (const k of [0, 3, 10, 15]) {
      const period = 2 ** k;
      const boundary = Math.ceil(1_750_000_000 / period) * period;
      const before = rotatingMinorAt(key, k, boundary - 1);
      const at = rotatingMinorAt(key, k, boundary);
      const last = rotatingMinorAt(key, k, boundary + period - 1);
      expect(at.step).toBe(before.step + 1);
      expect(at.startUnix).toBe(boundary);
      expect(at.endUnix).toBe(boundary + period);
      expect(last.step).toBe(at.step);
      expect(last.minor).toBe(at.minor);
      expect(before.endUnix).toBe(boundary);
    }
    expect(rotationStep(10, 1_700_000_000.7)).toBe(Math.floor(1_700_000_000 / 1024));
  });

  it('K=0 rotates every second, K=15 every 32768 s; the minor covers 16 bits', () => {
    const key = keyFromHex(SITE_KEY);
    const minors = Array.from({ length: 4096 }, (_, s) => rotatingMinorAt(key, 0, 1_700_000_000 + s));
    expect(new Set(minors.map((m) => m.step)).size).toBe(4096);
    // 4096 draws from 65536 values: about 120 repeats expected, but not one value over and over.
    expect(new Set(minors.map((m) => m.minor)).size).toBeGreaterThan(3800);
    expect(minors.every((m) => m.minor >= 0 && m.minor <= 0xffff)).toBe(true);
    expect(rotatingMinorAt(key, 15, 32_768 * 50_000).minor).toBe(rotatingMinorAt(key, 15, 32_768 * 50_001 - 1).minor);
  });

  it('separates K: the same step under another K gives an unrelated sequence', () => {
    const key = keyFromHex(SITE_KEY);
    const underK = (k: number): number[] => Array.from({ length: 32 }, (_, step) => rotatingMinor(key, k, 1000 + step));
    expect(underK(9)).not.toEqual(underK(10));
  });

  it('refuses bad keys, K and steps', () => {
    expect(() => rotatingMinor(Buffer.alloc(8), 10, 1)).toThrow(/16 bytes, got 8/);
    expect(() => rotatingMinor(Buffer.alloc(16), 16, 1)).toThrow(/0\.\.15/);
    expect(() => rotatingMinor(Buffer.alloc(16), 10, 2 ** 32)).toThrow(/32-bit/);
    expect(() => rotationStep(10, -5)).toThrow(/32-bit/);
  });
});
