import { em4100Number, wiegandUid, type CardRead } from '../../core/credential.js';
import { hex, type DecodeEvent, type StreamDecoder } from '../codec.js';
import type { AsciiOptions } from '../reader-protocols.js';
import { LineDecoder, firstBadChar, type LineResult } from './line-decoder.js';
import { wiegandFields } from './wiegand.js';

/**
 * "Keyboard wedge" readers on a serial line: one id per line (CR, LF or CR LF), in the form the
 * site configured. A line of digits alone cannot say which form it is, so the form is an option,
 * never guessed.
 *
 * - `hex`: EM4100 as 10 characters (version byte + card number) or 8 (card number only; it
 *   normalises to the same credential); MIFARE as 8, 14 or 20 characters (4, 7, 10-byte UID).
 * - `dec32`: 10 digits, the low 32 bits. EM4100 keeps the digits as its printed `number`.
 * - `dec24`: 8 digits, the low 24 bits, reported as Wiegand-26 (facility = high 8 bits).
 * - `fc-card`: "FFF,CCCCC"; the fields may be printed without zero padding (1-3 and 1-5 digits).
 *
 * `byteOrder` applies to MIFARE only (hex and dec32): `lsb-first` readers print the UID bytes
 * reversed (for dec32, the UID read as a little-endian number), and the decoder turns them back
 * into the order the card sends them, so the credential is the same as from a PN532.
 * Hex is accepted in either case. Lengths are exact: a short line is more likely a cut one.
 */
export class AsciiLineDecoder implements StreamDecoder {
  private readonly lines: LineDecoder;

  constructor(options: AsciiOptions) {
    this.lines = new LineDecoder((line) => parseAsciiLine(line, options));
  }

  push(chunk: Buffer): DecodeEvent[] {
    return this.lines.push(chunk);
  }

  end(): DecodeEvent[] {
    return this.lines.end();
  }
}

/** The line the reader prints for a presented card, CR LF included; RangeError if it cannot print it. */
export function encodeAsciiLine(read: CardRead, options: AsciiOptions): Buffer {
  return Buffer.from(`${asciiText(read, options)}\r\n`, 'latin1');
}

function asciiText(read: CardRead, options: AsciiOptions): string {
  if (options.format === 'dec24' || options.format === 'fc-card') {
    const { facility, card } = wiegandFields(read, 26);
    if (options.format === 'fc-card') return `${pad(facility, 3)},${pad(card, 5)}`;
    return pad(facility * 0x10000 + card, 8);
  }
  if (read.kind !== options.kind) {
    throw new RangeError(`an ASCII ${options.kind} reader cannot print a ${read.kind} card`);
  }
  if (read.kind === 'em4100') {
    if (!/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{10})$/.test(read.uid)) {
      throw new RangeError(`em4100 uid "${read.uid}" must be 8 or 10 hex characters`);
    }
    return options.format === 'hex' ? read.uid.toUpperCase() : em4100Number(read.uid);
  }
  if (!/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20})$/.test(read.uid)) {
    throw new RangeError(`mifare uid "${read.uid}" must be 4, 7 or 10 bytes of hex`);
  }
  const printed = inReaderOrder(Buffer.from(read.uid, 'hex'), options);
  if (options.format === 'hex') return printed.toString('hex').toUpperCase();
  if (printed.length !== 4) throw new RangeError(`a dec32 reader cannot print the ${printed.length}-byte mifare uid "${read.uid}"`);
  return pad(printed.readUInt32BE(0), 10);
}

function parseAsciiLine(line: string, options: AsciiOptions): LineResult {
  switch (options.format) {
    case 'hex':
      return parseHex(line, options);
    case 'dec32': {
      const value = parseDecimal(line, 10, 0xffffffff);
      if (typeof value === 'string') return { reason: value };
      if (options.kind === 'em4100') {
        const uid = value.toString(16).toUpperCase().padStart(8, '0');
        return { read: { kind: 'em4100', uid, number: line } };
      }
      const printed = Buffer.alloc(4);
      printed.writeUInt32BE(value, 0);
      return { read: { kind: 'mifare', uid: hex(inReaderOrder(printed, options)) } };
    }
    case 'dec24': {
      const value = parseDecimal(line, 8, 0xffffff);
      if (typeof value === 'string') return { reason: value };
      return wiegand26(Math.floor(value / 0x10000), value % 0x10000);
    }
    case 'fc-card': {
      const match = /^(\d{1,3}),(\d{1,5})$/.exec(line);
      if (!match) return { reason: `expected "FFF,CCCCC" (facility,card in decimal), got ${line.length} characters` };
      const facility = Number(match[1]);
      const card = Number(match[2]);
      if (facility > 0xff) return { reason: `facility ${facility} is over 255` };
      if (card > 0xffff) return { reason: `card ${card} is over 65535` };
      return wiegand26(facility, card);
    }
  }
}

function parseHex(line: string, options: AsciiOptions): LineResult {
  const lengths = options.kind === 'em4100' ? [8, 10] : [8, 14, 20];
  if (!lengths.includes(line.length)) {
    const expected = options.kind === 'em4100' ? '8 or 10' : '8, 14 or 20';
    return { reason: `expected ${expected} hex characters for ${options.kind}, got ${line.length}` };
  }
  const badChar = firstBadChar(line, /[0-9A-Fa-f]/);
  if (badChar) return { reason: `${badChar} is not a hex digit` };
  if (options.kind === 'em4100') {
    const uid = line.toUpperCase();
    return { read: { kind: 'em4100', uid, number: em4100Number(uid) } };
  }
  return { read: { kind: 'mifare', uid: hex(inReaderOrder(Buffer.from(line, 'hex'), options)) } };
}

/** A fixed-width decimal, or the reason it is not one. */
function parseDecimal(line: string, digits: number, max: number): number | string {
  if (line.length !== digits) return `expected ${digits} decimal digits, got ${line.length} characters`;
  const badChar = firstBadChar(line, /[0-9]/);
  if (badChar) return `${badChar} is not a decimal digit`;
  const value = Number(line);
  if (value > max) return `${line} is over ${max}, the largest ${digits === 10 ? '32' : '24'}-bit value`;
  return value;
}

function wiegand26(facility: number, card: number): LineResult {
  return { read: { kind: 'wiegand26', uid: wiegandUid(26, facility, card), facility, card } };
}

/** Reversal is its own inverse, so the same step maps card order to printed order and back. */
function inReaderOrder(bytes: Buffer, options: AsciiOptions): Buffer {
  return options.byteOrder === 'lsb-first' ? Buffer.from(bytes).reverse() : bytes;
}

function pad(value: number, width: number): string {
  return value.toString().padStart(width, '0');
}
