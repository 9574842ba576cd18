import { wiegandUid, type CardRead } from '../../core/credential.js';
import type { DecodeEvent, StreamDecoder } from '../codec.js';
import type { WiegandOptions } from '../reader-protocols.js';
import { LineDecoder, firstBadChar, type LineResult } from './line-decoder.js';

/**
 * Wiegand frames as printed by a Wiegand-to-UART converter, one per line (CR, LF or CR LF).
 *
 * - H10301 (26 bits): even parity over the next 12 bits, 8-bit facility, 16-bit card, odd parity
 *   over the 12 bits before it.
 * - H10306 (34 bits): the same shape with a 16-bit facility and parity over 16 + 16 bits.
 *
 * Output forms: `bits` prints the whole frame, so parity is checked; `hex` (6 or 8 characters)
 * and `decimal` (10 digits) print only the data bits, so nothing but the line's shape can be
 * checked. Lines must have exactly the documented length: converters zero-pad, and a short line
 * is more likely a cut one than a small number.
 */
export class WiegandDecoder implements StreamDecoder {
  private readonly lines: LineDecoder;

  constructor(options: WiegandOptions) {
    this.lines = new LineDecoder((line) => parseWiegandLine(line, options));
  }

  push(chunk: Buffer): DecodeEvent[] {
    return this.lines.push(chunk);
  }

  end(): DecodeEvent[] {
    return this.lines.end();
  }
}

/** The frame as '0'/'1' characters, parity bits included, first bit on the wire first. */
export function wiegandBitString(bits: 26 | 34, facility: number, card: number): string {
  const data = dataBits(bits, facility, card);
  const half = data.length / 2;
  const leading = ones(data.slice(0, half)) % 2 === 0 ? '0' : '1';
  const trailing = ones(data.slice(half)) % 2 === 1 ? '0' : '1';
  return leading + data + trailing;
}

/** One line as the converter prints it, line end included. */
export function encodeWiegand(facility: number, card: number, options: WiegandOptions): Buffer {
  const value = Number.parseInt(dataBits(options.bits, facility, card), 2);
  switch (options.output) {
    case 'bits':
      return Buffer.from(`${wiegandBitString(options.bits, facility, card)}\r\n`, 'latin1');
    case 'hex':
      // The hex-printing converters end a line with CR alone.
      return Buffer.from(`${hexDigits(value, options.bits)}\r`, 'latin1');
    case 'decimal':
      return Buffer.from(`${value.toString().padStart(10, '0')}\r\n`, 'latin1');
  }
}

/**
 * Facility and card a Wiegand reader sends for a presented card: a Wiegand card's own fields, or
 * for an EM4100 card the low 24 (26-bit) or 32 (34-bit) bits of its number, as EM readers with
 * Wiegand output do (the reason `credentialAliases` maps em4100 to wiegand26).
 */
export function wiegandFields(read: CardRead, bits: 26 | 34): { facility: number; card: number } {
  const expected = bits === 26 ? 'wiegand26' : 'wiegand34';
  if (read.kind === expected) {
    if (read.facility !== undefined && read.card !== undefined) return { facility: read.facility, card: read.card };
    if (read.uid.length !== hexLength(bits) || !/^[0-9A-Fa-f]+$/.test(read.uid)) {
      throw new RangeError(`${read.kind} uid "${read.uid}" must be ${hexLength(bits)} hex characters`);
    }
    return split(Number.parseInt(read.uid, 16));
  }
  if (read.kind === 'em4100' && /^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{10})$/.test(read.uid)) {
    const low32 = Number.parseInt(read.uid.slice(-8), 16);
    return split(bits === 26 ? low32 % 0x1000000 : low32);
  }
  throw new RangeError(`a ${bits}-bit Wiegand reader cannot send a ${read.kind} card with uid "${read.uid}"`);
}

function parseWiegandLine(line: string, options: WiegandOptions): LineResult {
  const { bits, output } = options;
  if (output === 'bits') {
    if (line.length !== bits) return { reason: `expected ${bits} bits, got ${line.length} characters` };
    const badChar = firstBadChar(line, /[01]/);
    if (badChar) return { reason: `${badChar} is not 0 or 1` };
    const data = line.slice(1, -1);
    const half = data.length / 2;
    if ((ones(data.slice(0, half)) + Number(line[0] === '1')) % 2 !== 0) {
      return { reason: `parity error: leading even parity bit does not match bits 2-${half + 1}` };
    }
    if ((ones(data.slice(half)) + Number(line[bits - 1] === '1')) % 2 !== 1) {
      return { reason: `parity error: trailing odd parity bit does not match bits ${half + 2}-${bits - 1}` };
    }
    return fields(bits, Number.parseInt(data, 2));
  }
  if (output === 'hex') {
    const length = hexLength(bits);
    if (line.length !== length) return { reason: `expected ${length} hex characters for ${bits}-bit Wiegand, got ${line.length}` };
    const badChar = firstBadChar(line, /[0-9A-Fa-f]/);
    if (badChar) return { reason: `${badChar} is not a hex digit` };
    return fields(bits, Number.parseInt(line, 16));
  }
  if (line.length !== 10) return { reason: `expected 10 decimal digits, got ${line.length} characters` };
  const badChar = firstBadChar(line, /[0-9]/);
  if (badChar) return { reason: `${badChar} is not a decimal digit` };
  const value = Number(line);
  const max = 2 ** (bits - 2) - 1;
  if (value > max) return { reason: `${line} does not fit the ${bits - 2} data bits of ${bits}-bit Wiegand (max ${max})` };
  return fields(bits, value);
}

function fields(bits: 26 | 34, value: number): LineResult {
  const { facility, card } = split(value);
  return { read: { kind: bits === 26 ? 'wiegand26' : 'wiegand34', uid: wiegandUid(bits, facility, card), facility, card } };
}

/** Facility is every data bit above the 16-bit card number. */
function split(value: number): { facility: number; card: number } {
  return { facility: Math.floor(value / 0x10000), card: value % 0x10000 };
}

/** The data bits (no parity) as a '0'/'1' string; throws RangeError for values that do not fit. */
function dataBits(bits: 26 | 34, facility: number, card: number): string {
  const facilityBits = bits === 26 ? 8 : 16;
  checkField('facility', facility, facilityBits);
  checkField('card', card, 16);
  return facility.toString(2).padStart(facilityBits, '0') + card.toString(2).padStart(16, '0');
}

function checkField(name: string, value: number, width: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** width) {
    throw new RangeError(`Wiegand ${name} ${value} does not fit ${width} bits (0-${2 ** width - 1})`);
  }
}

function hexLength(bits: 26 | 34): number {
  return bits === 26 ? 6 : 8;
}

function hexDigits(value: number, bits: 26 | 34): string {
  return value.toString(16).toUpperCase().padStart(hexLength(bits), '0');
}

function ones(bitString: string): number {
  let count = 0;
  for (const bit of bitString) if (bit === '1') count += 1;
  return count;
}
