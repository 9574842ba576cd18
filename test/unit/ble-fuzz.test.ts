import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readAdStructures, type AdStructure } from '../../firmware-bridge/ble/ad-structures.js';
import { buildAdvertisement, parseAdvertisement } from '../../firmware-bridge/ble/advertisement.js';
import { BeaconFrame, type BeaconParse } from '../../firmware-bridge/ble/frames.js';
import { nobleAdvertisementFromBytes, parseNobleAdvertisement, type NobleAdvertisement } from '../../firmware-bridge/ble/noble-advertisement.js';
import { adStructure, bytes, eddystoneAdvert, FLAGS, manufacturerAdvert, nobleParse } from '../support/ble.js';
import { prng } from '../support/prng.js';

/**
 * Fuzzing the BLE parsers with random bytes, random AD structures, and valid adverts (written by
 * hand here, not by the builder) corrupted the ways a radio or a buggy beacon corrupts them.
 * Properties: nothing throws; a refusal has a code and a reason; an accepted frame is valid,
 * re-encodes to the same significant bytes (URL: to the same URL, never longer) and reads back
 * the same; raw bytes and noble's object of the same bytes agree. BLE frames carry no checksum,
 * so a corrupted field byte is just another valid frame: what must never happen is a frame read
 * from bytes that do not hold it. Set PUNCHGATE_FUZZ_SEED to replay a failure.
 */
const SEED = Number(process.env.PUNCHGATE_FUZZ_SEED ?? 0xb1e5eed);

type Random = () => number;
const int = (random: Random, below: number) => Math.floor(random() * below);
const randomBytes = (random: Random, count: number) => Buffer.from(Array.from({ length: count }, () => int(random, 256)));
const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, items.length)] as T;

/** Bytes an Eddystone-URL may hold: expansion codes and printable ASCII. */
const URL_BYTES = [...Array.from({ length: 14 }, (_, code) => code), ...Array.from({ length: 0x7e - 0x20 }, (_, at) => 0x21 + at)];

function randomUrlFrame(random: Random): Buffer {
  const encoded = Array.from({ length: int(random, 18) }, () => pick(random, URL_BYTES));
  return Buffer.from([0x10, int(random, 256), int(random, 4), ...encoded]);
}

/** A valid beacon advertisement laid out by hand from the specs, sometimes among other structures. */
function randomValidAdvert(random: Random): Buffer {
  let advert: Buffer;
  switch (int(random, 6)) {
    case 0:
      advert = manufacturerAdvert(Buffer.concat([bytes('4C 00 02 15'), randomBytes(random, 21)]));
      break;
    case 1:
      advert = manufacturerAdvert(Buffer.concat([randomBytes(random, 2), bytes('BE AC'), randomBytes(random, 22)]));
      break;
    case 2:
      advert = eddystoneAdvert(Buffer.concat([Buffer.of(0x00), randomBytes(random, 17), random() < 0.7 ? Buffer.alloc(2) : Buffer.alloc(0)]));
      break;
    case 3:
      advert = eddystoneAdvert(randomUrlFrame(random));
      break;
    case 4:
      advert = eddystoneAdvert(Buffer.concat([bytes('20 00'), randomBytes(random, 12)]));
      break;
    default:
      advert = eddystoneAdvert(Buffer.concat([Buffer.of(0x30), randomBytes(random, 9)]));
  }
  if (random() < 0.2) advert = Buffer.concat([advert.subarray(3), random() < 0.5 ? adStructure(0x09, Buffer.from('PG')) : Buffer.alloc(0)]);
  if (random() < 0.2) advert = Buffer.concat([advert, Buffer.alloc(int(random, 4))]);
  return advert;
}

/** Offsets of the length bytes of the structures, as far as the walk gets. */
function lengthOffsets(advert: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = 0; at < advert.length && advert[at] !== 0; at += 1 + (advert[at] as number)) offsets.push(at);
  return offsets;
}

function mutate(random: Random, advert: Buffer): Buffer {
  let out = Buffer.from(advert);
  const count = 1 + int(random, 3);
  for (let step = 0; step < count; step += 1) {
    const at = int(random, out.length + 1);
    switch (int(random, 7)) {
      case 0:
        if (at < out.length) out[at] = (out[at] as number) ^ (1 << int(random, 8));
        break;
      case 1:
        if (at < out.length) out[at] = int(random, 256);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), Buffer.of(int(random, 256)), out.subarray(at)]);
        break;
      case 4:
        out = out.subarray(0, at);
        break;
      case 5:
        out = Buffer.concat([out, randomBytes(random, 1 + int(random, 6))]);
        break;
      default: {
        const offsets = lengthOffsets(out);
        if (offsets.length > 0) {
          const lengthAt = pick(random, offsets);
          out[lengthAt] = Math.max(0, Math.min(255, (out[lengthAt] as number) + pick(random, [-2, -1, 1, 2])));
        }
      }
    }
  }
  return out;
}

/** Random AD structures of the types we read, often starting like a beacon frame. */
function randomStructures(random: Random): Buffer {
  const parts: Buffer[] = [];
  const count = int(random, 5);
  for (let index = 0; index < count; index += 1) {
    const type = pick(random, [0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x14, 0x16, 0x16, 0x16, 0x21, 0xff, 0xff, 0xff, int(random, 256)]);
    let data = randomBytes(random, int(random, 10));
    if (type === 0xff && random() < 0.7) data = Buffer.concat([random() < 0.5 ? bytes('4C 00 02 15') : Buffer.concat([randomBytes(random, 2), bytes('BE AC')]), randomBytes(random, 18 + int(random, 6))]);
    if (type === 0x16 && random() < 0.7) data = Buffer.concat([bytes('AA FE'), Buffer.of(pick(random, [0x00, 0x10, 0x20, 0x30, 0x40, 0x01])), randomBytes(random, int(random, 22))]);
    if (type === 0x16 && random() < 0.2) data = Buffer.concat([bytes('AA FE'), randomUrlFrame(random)]);
    parts.push(data.length < 255 ? adStructure(type, data) : Buffer.alloc(0));
  }
  return Buffer.concat(parts);
}

const CODES = new Set(['not-a-beacon', 'malformed', 'unsupported']);

/** Whether a structure claims a beacon frame, restated from the specs (independent of the parser). */
function claims(structure: AdStructure): boolean {
  const data = structure.data;
  if (structure.type === 0xff) return (data[0] === 0x4c && data[1] === 0x00 && data[2] === 0x02) || (data[2] === 0xbe && data[3] === 0xac);
  return structure.type === 0x16 && data[0] === 0xaa && data[1] === 0xfe;
}

/** The bytes of a structure that the decoded frame stands for: all of it, except the UID's reserved bytes. */
function significant(kind: BeaconFrame['kind'], data: Buffer): Buffer {
  return kind === 'eddystone-uid' ? data.subarray(0, 2 + 18) : data;
}

class Violation extends Error {}

function fail(what: string, input: string, detail: unknown): never {
  throw new Violation(`${what}\ninput: ${input}\nseed: ${SEED}\n${JSON.stringify(detail)}`);
}

/** Re-encoding an accepted frame gives back its significant bytes (or the same URL, not longer). */
function checkAccepted(result: Extract<BeaconParse, { ok: true }>, inputStructures: AdStructure[], input: string): void {
  const frame = result.frame;
  const canonical = BeaconFrame.safeParse(frame);
  if (!canonical.success || !isDeepStrictEqual(canonical.data, frame)) fail('accepted frame is not a valid canonical frame', input, frame);
  let rebuilt: Buffer;
  try {
    rebuilt = buildAdvertisement(frame);
  } catch (error) {
    fail(`accepted frame does not re-encode: ${(error as Error).message}`, input, frame);
  }
  if (rebuilt.length > 31) fail('re-encoded advert over 31 bytes', input, frame);
  if (!isDeepStrictEqual(parseAdvertisement(rebuilt), result)) fail('re-encoded advert reads back differently', input, frame);
  const rebuiltStructures = readAdStructures(rebuilt);
  if (!rebuiltStructures.ok) fail('re-encoded advert is not well-formed', input, frame);
  const claim = rebuiltStructures.structures.at(-1) as AdStructure;
  const found =
    frame.kind === 'eddystone-url'
      ? inputStructures.some((structure) => claims(structure) && structure.type === claim.type && structure.data.length >= claim.data.length)
      : inputStructures.some((structure) => structure.type === claim.type && significant(frame.kind, structure.data).equals(significant(frame.kind, claim.data)));
  if (!found) fail('re-encoded frame bytes are not in the input', input, { frame, rebuilt: rebuilt.toString('hex') });
}

interface Tally {
  accepted: Record<string, number>;
  refused: Record<string, number>;
  nobleCompared: number;
}

function check(advert: Buffer, tally: Tally): void {
  const input = advert.toString('hex');
  let result: BeaconParse;
  try {
    result = parseAdvertisement(advert);
  } catch (error) {
    fail(`parseAdvertisement threw: ${(error as Error).message}`, input, null);
  }
  const structures = readAdStructures(advert);
  if (result.ok) {
    tally.accepted[result.frame.kind] = (tally.accepted[result.frame.kind] ?? 0) + 1;
    if (!structures.ok) fail('accepted an advert whose AD structures are broken', input, result);
    checkAccepted(result, structures.structures, input);
  } else {
    tally.refused[result.code] = (tally.refused[result.code] ?? 0) + 1;
    if (!CODES.has(result.code) || typeof result.reason !== 'string' || result.reason.length === 0) fail('refusal without code or reason', input, result);
    if (!structures.ok && result.code !== 'malformed') fail('broken AD structures not refused as malformed', input, result);
  }

  // noble, fed the same bytes through its own GAP parser, must be mirrored and must agree.
  let fromNoble: NobleAdvertisement | undefined;
  try {
    fromNoble = nobleParse(advert);
  } catch {
    fromNoble = undefined; // noble itself throws on an empty TX power structure
  }
  let nobleResult: BeaconParse;
  try {
    nobleResult = parseNobleAdvertisement(fromNoble ?? nobleAdvertisementFromBytes(advert));
  } catch (error) {
    fail(`parseNobleAdvertisement threw: ${(error as Error).message}`, input, null);
  }
  if (fromNoble !== undefined) {
    const noble: Record<string, unknown> = { ...fromNoble };
    for (const [key, value] of Object.entries(nobleAdvertisementFromBytes(advert))) {
      if (!isDeepStrictEqual(noble[key], value)) fail(`nobleAdvertisementFromBytes differs from noble on ${key}`, input, { mine: value, noble: noble[key] });
    }
  }
  if (structures.ok && fromNoble !== undefined) {
    const manufacturer = structures.structures.filter((structure) => structure.type === 0xff).length;
    const claiming = structures.structures.filter(claims).length;
    if (manufacturer <= 1 && claiming <= 1) {
      tally.nobleCompared += 1;
      if (!isDeepStrictEqual(nobleResult, result)) fail('noble object and raw bytes disagree', input, { raw: result, noble: nobleResult });
    }
  }
}

function run(name: string, count: number, make: (random: Random) => Buffer): Tally {
  const random = prng(SEED ^ [...name].reduce((hash, char) => Math.imul(hash ^ char.charCodeAt(0), 16777619), 2166136261));
  const tally: Tally = { accepted: {}, refused: {}, nobleCompared: 0 };
  for (let index = 0; index < count; index += 1) check(make(random), tally);
  if (process.env.PUNCHGATE_FUZZ_TALLY) process.stderr.write(`${name}: ${JSON.stringify(tally)}\n`);
  return tally;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, value) => sum + value, 0);

describe('BLE parser fuzz', () => {
  it('survives random bytes', () => {
    const tally = run('random bytes', 4000, (random) => randomBytes(random, int(random, 40)));
    expect(total(tally.refused)).toBeGreaterThan(3900);
  });

  it('survives random AD structures that often look like beacon frames, and accepts some', () => {
    const tally = run('random structures', 6000, randomStructures);
    expect(total(tally.accepted)).toBeGreaterThan(100);
    expect(Object.keys(tally.refused).sort()).toEqual(['malformed', 'not-a-beacon', 'unsupported']);
    expect(tally.nobleCompared).toBeGreaterThan(1000);
  });

  it('accepts every hand-laid valid frame and re-encodes it to the same bytes', () => {
    const tally = run('valid adverts', 3000, randomValidAdvert);
    expect(total(tally.refused)).toBe(0);
    expect(Object.keys(tally.accepted).sort()).toEqual(['altbeacon', 'eddystone-eid', 'eddystone-tlm', 'eddystone-uid', 'eddystone-url', 'ibeacon']);
  });

  it('survives valid frames with bits flipped, bytes lost, added, truncated and lengths changed', () => {
    const tally = run('mutated adverts', 10000, (random) => mutate(random, randomValidAdvert(random)));
    expect(total(tally.accepted)).toBeGreaterThan(1000);
    expect(total(tally.refused)).toBeGreaterThan(1000);
    expect(tally.refused.malformed).toBeGreaterThan(1000);
  });

  it('survives random noble objects, and accepted ones re-encode to the same bytes', () => {
    const random = prng(SEED ^ 0x6e6f626c);
    let accepted = 0;
    for (let index = 0; index < 4000; index += 1) {
      const sometimesMutated = (data: Buffer): Buffer => (random() < 0.5 ? mutate(random, data) : data);
      const manufacturerBase = pick(random, [
        Buffer.concat([bytes('4C 00 02 15'), randomBytes(random, 21)]),
        Buffer.concat([randomBytes(random, 2), bytes('BE AC'), randomBytes(random, 22)]),
        randomBytes(random, int(random, 8)),
      ]);
      const manufacturerData = random() < 0.4 ? undefined : sometimesMutated(manufacturerBase);
      const eddystone = readAdStructures(randomValidAdvert(random));
      const frameData = eddystone.ok ? eddystone.structures.find((structure) => structure.type === 0x16)?.data.subarray(2) : undefined;
      const serviceData =
        random() < 0.3 ? undefined : [{ uuid: pick(random, ['feaa', 'FEAA', '180f']), data: frameData && random() < 0.8 ? sometimesMutated(frameData) : randomBytes(random, int(random, 22)) }];
      const advertisement: NobleAdvertisement = { manufacturerData, serviceData };
      let result: BeaconParse;
      try {
        result = parseNobleAdvertisement(advertisement);
      } catch (error) {
        throw new Error(`parseNobleAdvertisement threw on ${JSON.stringify(advertisement)} (seed ${SEED}): ${(error as Error).message}`);
      }
      if (!result.ok) continue;
      accepted += 1;
      const rebuilt = nobleParse(buildAdvertisement(result.frame));
      expect(parseNobleAdvertisement(rebuilt)).toEqual(result);
      if (result.frame.kind === 'ibeacon' || result.frame.kind === 'altbeacon') {
        expect(rebuilt.manufacturerData).toEqual(manufacturerData);
      } else if (result.frame.kind !== 'eddystone-url') {
        const sent = serviceData?.[0]?.data as Buffer;
        const kind = result.frame.kind;
        expect(significant(kind, Buffer.concat([bytes('AA FE'), rebuilt.serviceData?.[0]?.data as Buffer]))).toEqual(significant(kind, Buffer.concat([bytes('AA FE'), sent])));
      }
    }
    expect(accepted).toBeGreaterThan(500);
  });
});
