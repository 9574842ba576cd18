import { createCipheriv } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Aes128Block, keyFromHex } from '../../core/beacon/aes-block.js';
import {
  computeEid,
  eidAt,
  eidBlock,
  eidFromTemporaryKey,
  eidTemporaryKey,
  eidTimeCounter,
  temporaryKeyBlock,
} from '../../core/beacon/eddystone-eid.js';

/*
 * google/eddystone eid-computation.md gives no worked example. The published vectors below come from
 * RadiusNetworks/ephemeral_calc (spec/encryptor_spec.rb), an independent implementation of the
 * same spec: IK 0102030405060708090A111213141516, K = 10, counter 0 and counter 2000 (its second
 * case starts the beacon 2000 s in the past). Checked here also with `openssl enc`.
 */
const PUBLISHED_IK = '0102030405060708090A111213141516';

/** A second, independent EID: AES-128-CBC with a zero IV over one block equals ECB; blocks built by hand. */
function referenceEid(ikHex: string, k: number, counter: number): string {
  const aes = (key: Buffer, block: number[]): Buffer => {
    const cipher = createCipheriv('aes-128-cbc', key, Buffer.alloc(16));
    cipher.setAutoPadding(false);
    return Buffer.concat([cipher.update(Buffer.from(block)), cipher.final()]);
  };
  const zeros11 = Array.from({ length: 11 }, () => 0);
  const tk = aes(Buffer.from(ikHex, 'hex'), [...zeros11, 0xff, 0, 0, (counter >>> 24) & 0xff, (counter >>> 16) & 0xff]);
  const masked = Number((BigInt(counter) >> BigInt(k)) << BigInt(k));
  const eid = aes(tk, [...zeros11, k, (masked >>> 24) & 0xff, (masked >>> 16) & 0xff, (masked >>> 8) & 0xff, masked & 0xff]);
  return eid.subarray(0, 8).toString('hex').toUpperCase();
}


function opensslEcb(keyHex: string, block: Buffer): Buffer {
  return execFileSync('openssl', ['enc', '-aes-128-ecb', '-nopad', '-K', keyHex], { input: block });
}

const eidHex = (ik: string, k: number, counter: number): string =>
  computeEid(keyFromHex(ik), k, counter).toString('hex').toUpperCase();

describe('Eddystone-EID computation', () => {
  it('matches the published vectors (ephemeral_calc): K=10 at counters 0 and 2000', () => {
    expect(eidHex(PUBLISHED_IK, 10, 0)).toBe('A9B76A71C5F89290');
    // Counter 2000 lies in window 1 (1024..2047): the EID block carries 1024.
    expect(eidHex(PUBLISHED_IK, 10, 2000)).toBe('4144413E45FEFA58');
    expect(eidHex(PUBLISHED_IK, 10, 1024)).toBe('4144413E45FEFA58');
    expect(eidTemporaryKey(keyFromHex(PUBLISHED_IK), 2000).toString('hex')).toBe('6f291c5c48264b8a0b38a19e7fed73cc');
  });

  it('lays out the blocks exactly as the spec tables', () => {
    expect(temporaryKeyBlock(0x12345678).toString('hex')).toBe('0000000000000000000000ff00001234');
    expect(eidBlock(10, 0x12345678).toString('hex')).toBe('0000000000000000000000' + '0a' + '12345400');
    expect(eidBlock(0, 0xffffffff).toString('hex')).toBe('0000000000000000000000' + '00' + 'ffffffff');
    expect(eidBlock(15, 0xffffffff).toString('hex')).toBe('0000000000000000000000' + '0f' + 'ffff8000');
  });

  it('agrees with a second implementation (AES-CBC, hand-built blocks) over many keys, K and counters', () => {
    let seed = 0x2545f491;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    for (let i = 0; i < 300; i++) {
      const ik = Array.from({ length: 4 }, () => next().toString(16).padStart(8, '0')).join('');
      const k = i % 16;
      const counter = next();
      expect(eidHex(ik, k, counter), `IK ${ik} K ${k} counter ${counter}`).toBe(referenceEid(ik, k, counter));
    }
  });

  it('agrees with `openssl enc -aes-128-ecb -nopad` step by step', () => {
    const cases: Array<[string, number, number]> = [
      [PUBLISHED_IK, 10, 0],
      [PUBLISHED_IK, 10, 2000],
      ['00112233445566778899AABBCCDDEEFF', 0, 65_535],
      ['00112233445566778899AABBCCDDEEFF', 0, 65_536],
      ['FFEEDDCCBBAA99887766554433221100', 15, 0xfffffffe],
      ['8A8B8C8D8E8F90919293949596979899', 7, 1_700_000_000],
    ];
    for (const [ik, k, counter] of cases) {
      const tk = opensslEcb(ik, temporaryKeyBlock(counter));
      const eid = opensslEcb(tk.toString('hex'), eidBlock(k, counter)).subarray(0, 8);
      expect(eidTemporaryKey(keyFromHex(ik), counter)).toEqual(tk);
      expect(computeEid(keyFromHex(ik), k, counter)).toEqual(eid);
    }
  });

  it('rotates exactly at window boundaries: same id inside a window, a new one at its first second', () => {
    const ik = keyFromHex('000102030405060708090A0B0C0D0E0F');
    for (const k of [0, 1, 4, 10, 15]) {
      const period = 2 ** k;
      const start = 7 * period;
      const id = computeEid(ik, k, start).toString('hex');
      expect(computeEid(ik, k, start + period - 1).toString('hex'), `K=${k} last second`).toBe(id);
      expect(computeEid(ik, k, start - 1).toString('hex'), `K=${k} second before`).not.toBe(id);
      expect(computeEid(ik, k, start + period).toString('hex'), `K=${k} next window`).not.toBe(id);
    }
  });

  it('K=0 changes every second; K=15 holds for 32768 s', () => {
    const ik = keyFromHex('F0E1D2C3B4A5968778695A4B3C2D1E0F');
    const perSecond = new Set(Array.from({ length: 50 }, (_, s) => computeEid(ik, 0, 1_000 + s).toString('hex')));
    expect(perSecond.size).toBe(50);
    expect(computeEid(ik, 15, 32_768).toString('hex')).toBe(computeEid(ik, 15, 65_535).toString('hex'));
    expect(computeEid(ik, 15, 32_767).toString('hex')).not.toBe(computeEid(ik, 15, 32_768).toString('hex'));
  });

  it('changes the temporary key when the top 16 bits of the counter roll over (every 65536 s)', () => {
    const ik = keyFromHex(PUBLISHED_IK);
    const tk = (counter: number): string => eidTemporaryKey(ik, counter).toString('hex');
    expect(tk(0)).toBe(tk(65_535));
    expect(tk(65_536)).not.toBe(tk(65_535));
    expect(tk(65_536)).toBe(tk(131_071));
    expect(tk(0xffff0000)).toBe(tk(0xffffffff));
    // A K=16-long window does not exist (K <= 15), so every EID window lies inside one TK span:
    // using the TK of the window start gives the same EID as the TK of any second in it.
    const cachedTk = new Aes128Block(eidTemporaryKey(ik, 65_536));
    expect(eidFromTemporaryKey(cachedTk, 15, 65_536 + 40_000)).toEqual(computeEid(ik, 15, 65_536 + 40_000));
    // Across the rollover the EID uses the new TK (reference implementation agrees).
    expect(eidHex(PUBLISHED_IK, 0, 65_536)).toBe(referenceEid(PUBLISHED_IK, 0, 65_536));
    expect(eidHex(PUBLISHED_IK, 0, 65_535)).toBe(referenceEid(PUBLISHED_IK, 0, 65_535));
  });

  it('maps unix time to the counter and window from the epoch', () => {
    const beacon = { identityKey: keyFromHex(PUBLISHED_IK), rotationExponent: 10, epochUnixSeconds: 1_700_000_000 };
    const at = eidAt(beacon, 1_700_002_000.9);
    expect(at).toEqual({
      eid: '4144413E45FEFA58',
      timeCounter: 2000,
      window: 1,
      startUnix: 1_700_001_024,
      endUnix: 1_700_002_048,
    });
    expect(eidTimeCounter(100, 100.9)).toBe(0);
    expect(() => eidTimeCounter(100, 99.5)).toThrow(/32-bit/);
    expect(() => eidTimeCounter(100, 98)).toThrow(/32-bit/);
  });

  it('refuses wrong key lengths, K outside 0..15 and counters outside 32 bits', () => {
    expect(() => computeEid(Buffer.alloc(15), 10, 0)).toThrow(/16 bytes, got 15/);
    expect(() => computeEid(Buffer.alloc(32), 10, 0)).toThrow(/16 bytes, got 32/);
    expect(() => computeEid(Buffer.alloc(16), 16, 0)).toThrow(/0\.\.15/);
    expect(() => computeEid(Buffer.alloc(16), -1, 0)).toThrow(/0\.\.15/);
    expect(() => computeEid(Buffer.alloc(16), 10, 2 ** 32)).toThrow(/32-bit/);
    expect(() => computeEid(Buffer.alloc(16), 10, -1)).toThrow(/32-bit/);
    expect(() => computeEid(Buffer.alloc(16), 10, 1.5)).toThrow(/32-bit/);
    expect(() => keyFromHex('0102')).toThrow(/32 hex/);
  });
});
