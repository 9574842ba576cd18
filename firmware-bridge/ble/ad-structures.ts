import { hexByte } from './frames.js';

/*
 * Advertising data is a sequence of AD structures: a length byte L, then L bytes holding a type
 * byte and L-1 bytes of data (Bluetooth Core Vol 3 Part C §11, Supplement Part A). A length of 0
 * ends the significant part: what follows is padding. Multi-byte values inside the standard
 * structures (UUIDs, company ids) are little-endian.
 */

export const AdType = {
  flags: 0x01,
  incompleteUuids16: 0x02,
  completeUuids16: 0x03,
  incompleteUuids32: 0x04,
  completeUuids32: 0x05,
  incompleteUuids128: 0x06,
  completeUuids128: 0x07,
  shortenedLocalName: 0x08,
  completeLocalName: 0x09,
  txPowerLevel: 0x0a,
  serviceData16: 0x16,
  serviceData32: 0x20,
  serviceData128: 0x21,
  manufacturerData: 0xff,
} as const;

/** A legacy advertising (or scan response) payload holds at most 31 bytes. */
export const MAX_ADVERTISING_BYTES = 31;

/** The usual flags of a beacon: LE General Discoverable, BR/EDR not supported. */
export const DEFAULT_FLAGS = 0x06;

/**
 * The length rule of the structure types we read, or undefined when `dataLength` bytes of data
 * are fine. Types not listed here are skipped whatever their length.
 */
export function adDataProblem(type: number, dataLength: number): string | undefined {
  switch (type) {
    case AdType.incompleteUuids16:
    case AdType.completeUuids16:
      return dataLength % 2 === 0 ? undefined : `16-bit service UUID list of ${dataLength} bytes (not a multiple of 2)`;
    case AdType.incompleteUuids32:
    case AdType.completeUuids32:
      return dataLength % 4 === 0 ? undefined : `32-bit service UUID list of ${dataLength} bytes (not a multiple of 4)`;
    case AdType.incompleteUuids128:
    case AdType.completeUuids128:
      return dataLength % 16 === 0 ? undefined : `128-bit service UUID list of ${dataLength} bytes (not a multiple of 16)`;
    case AdType.txPowerLevel:
      return dataLength === 1 ? undefined : `TX power level of ${dataLength} bytes (must be 1)`;
    case AdType.serviceData16:
      return dataLength >= 2 ? undefined : `16-bit service data of ${dataLength} bytes (too short for its UUID)`;
    case AdType.serviceData32:
      return dataLength >= 4 ? undefined : `32-bit service data of ${dataLength} bytes (too short for its UUID)`;
    case AdType.serviceData128:
      return dataLength >= 16 ? undefined : `128-bit service data of ${dataLength} bytes (too short for its UUID)`;
    case AdType.manufacturerData:
      return dataLength >= 2 ? undefined : `manufacturer data of ${dataLength} bytes (too short for its company id)`;
    default:
      return undefined;
  }
}

/** Called for each AD structure; its data is `bytes[start, end)`. */
export type AdVisitor<S> = (state: S, type: number, bytes: Uint8Array, start: number, end: number) => void;

/**
 * Walks the AD structures of `bytes`, calling `visit` for each (the caller's `state` is passed
 * through, so a module-level visitor allocates nothing). Returns undefined when every structure is
 * whole and of a legal length, else the reason; `visit` may have been called for the structures
 * before the bad one, so callers act only on an undefined result.
 */
export function walkAdStructures<S>(bytes: Uint8Array, state: S, visit: AdVisitor<S>): string | undefined {
  const total = bytes.length;
  let offset = 0;
  while (offset < total) {
    const length = bytes[offset] as number;
    if (length === 0) return undefined; // padding: the significant part ends here
    if (offset + 1 + length > total) {
      return `AD structure at byte ${offset} claims ${length} bytes but only ${total - offset - 1} follow`;
    }
    const type = bytes[offset + 1] as number;
    const problem = adDataProblem(type, length - 1);
    if (problem !== undefined) return `AD structure at byte ${offset} (type 0x${hexByte(type)}): ${problem}`;
    visit(state, type, bytes, offset + 2, offset + 1 + length);
    offset += 1 + length;
  }
  return undefined;
}

export interface AdStructure {
  type: number;
  data: Buffer;
}

export type AdStructuresResult = { ok: true; structures: AdStructure[] } | { ok: false; reason: string };

const collect: AdVisitor<AdStructure[]> = (list, type, bytes, start, end) => {
  list.push({ type, data: Buffer.from(bytes.subarray(start, end)) });
};

/** Every AD structure, copied out (for tools and tests; the hot path uses `walkAdStructures`). */
export function readAdStructures(bytes: Uint8Array): AdStructuresResult {
  const structures: AdStructure[] = [];
  const reason = walkAdStructures(bytes, structures, collect);
  return reason === undefined ? { ok: true, structures } : { ok: false, reason };
}

/**
 * Lays AD structures end to end. Throws a RangeError when one breaks its type's length rule or
 * when the whole exceeds `maxBytes` (31, one legacy advertising payload).
 */
export function encodeAdStructures(structures: readonly { type: number; data: Uint8Array }[], maxBytes = MAX_ADVERTISING_BYTES): Buffer {
  let total = 0;
  for (const { type, data } of structures) {
    if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new RangeError(`AD type ${type} is not a byte`);
    const problem = adDataProblem(type, data.length);
    if (problem !== undefined) throw new RangeError(`AD structure type 0x${hexByte(type)}: ${problem}`);
    if (data.length > 0xfe) throw new RangeError(`AD structure type 0x${hexByte(type)} has ${data.length} bytes of data (at most 254)`);
    total += 2 + data.length;
  }
  if (total > maxBytes) throw new RangeError(`advertising data of ${total} bytes exceeds ${maxBytes}`);
  const out = Buffer.alloc(total);
  let offset = 0;
  for (const { type, data } of structures) {
    out[offset] = data.length + 1;
    out[offset + 1] = type;
    out.set(data, offset + 2);
    offset += 2 + data.length;
  }
  return out;
}
