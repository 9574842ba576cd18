import { parseArgs } from 'node:util';
import { credentialKey, normalizeCredential, type CardRead } from '../../core/credential.js';
import { parseAdvertisement } from '../ble/advertisement.js';
import { hex, type DecodeEvent } from '../codec.js';
import { createDecoder } from '../reader-factory.js';
import { ReaderProtocol } from '../reader-protocols.js';
import { readerOptionFlags, readerOptionsFromFlags, UsageError } from './reader-options.js';

/** BLE advertisements are decoded here too, but they are not a serial reader protocol. */
const BLE = 'ble';
const protocolNames = [...ReaderProtocol.options, BLE].join(', ');

export const decodeUsage = `usage: punchgate decode --protocol PROTOCOL [--hex HEX] [protocol options]

Decodes reader bytes (from --hex, or raw bytes on stdin) and prints one JSON object per credential
on stdout. Bad frames are reported on stderr; the exit code is 1 when any frame was bad.

protocols: ${protocolNames}
options:   --wiegand-bits 26|34 --wiegand-output bits|hex|decimal
           --ascii-format hex|dec32|dec24|fc-card --ascii-kind em4100|mifare --ascii-byte-order msb-first|lsb-first

ble:       --hex is the data of one BLE advertisement, AD structures as broadcast
           (e.g. 0201061AFF4C000215...); on stdin, one advertisement in hex per line. Prints the
           beacon frame (iBeacon, AltBeacon, Eddystone UID/URL/TLM/EID) as one JSON object; an
           advertisement that is not a beacon frame, or is malformed, is reported on stderr (exit 1).`;

export interface DecodeIo {
  stdin: AsyncIterable<Buffer | string>;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

function describeCard(read: CardRead): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: read.kind, uid: read.uid };
  if (read.number !== undefined) out.number = read.number;
  if (read.facility !== undefined) out.facility = read.facility;
  if (read.card !== undefined) out.card = read.card;
  try {
    out.credential = credentialKey(normalizeCredential(read));
  } catch {
    // A read the roster could never match still gets printed: the technician wants to see it.
  }
  return out;
}

/** `punchgate decode`: returns the process exit code. */
export async function runDecode(argv: string[], io: DecodeIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { protocol: { type: 'string' }, hex: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...readerOptionFlags },
      strict: true,
    }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${decodeUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(decodeUsage);
    return 0;
  }
  if (values.protocol === BLE) return runBleDecode(values, io);
  const protocol = ReaderProtocol.safeParse(values.protocol);
  if (!protocol.success) {
    io.stderr(`--protocol must be one of ${protocolNames}${values.protocol ? ` (got "${values.protocol}")` : ''}\n${decodeUsage}`);
    return 2;
  }
  let decoder;
  try {
    decoder = createDecoder(protocol.data, readerOptionsFromFlags(values));
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(error.message);
      return 2;
    }
    throw error;
  }

  let badFrames = 0;
  const report = (events: DecodeEvent[]): void => {
    for (const event of events) {
      if (event.type === 'card') io.stdout(JSON.stringify(describeCard(event.read)));
      else {
        badFrames += 1;
        io.stderr(`bad frame: ${event.reason} [${hex(event.bytes)}]`);
      }
    }
  };

  if (values.hex !== undefined) {
    const bytes = bytesOfHexText(values.hex);
    if (bytes === undefined) {
      io.stderr(`--hex must be pairs of hex digits (spaces and colons allowed), got "${values.hex}"`);
      return 2;
    }
    report(decoder.push(bytes));
  } else {
    for await (const chunk of io.stdin) report(decoder.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
  }
  report(decoder.end());
  return badFrames > 0 ? 1 : 0;
}

/** Bytes of hex text with optional spaces and colons, or undefined when it is not whole hex bytes. */
function bytesOfHexText(text: string): Buffer | undefined {
  const cleaned = text.replace(/[\s:]/g, '');
  return /^(?:[0-9a-fA-F]{2})*$/.test(cleaned) ? Buffer.from(cleaned, 'hex') : undefined;
}

/** `punchgate decode --protocol ble`: one advertisement from --hex, or one per line on stdin. */
async function runBleDecode(values: { hex?: string | undefined } & Record<string, unknown>, io: DecodeIo): Promise<number> {
  const serialFlags = Object.keys(readerOptionFlags).filter((flag) => values[flag] !== undefined);
  if (serialFlags.length > 0) {
    io.stderr(`${serialFlags.map((flag) => `--${flag}`).join(', ')} ${serialFlags.length === 1 ? 'does' : 'do'} not apply to --protocol ble`);
    return 2;
  }
  let refused = 0;
  const decodeOne = (bytes: Buffer, where: string): void => {
    const result = parseAdvertisement(bytes);
    if (result.ok) io.stdout(JSON.stringify(result.frame));
    else {
      refused += 1;
      io.stderr(`bad advertisement${where}: ${result.reason} [${hex(bytes)}]`);
    }
  };

  if (values.hex !== undefined) {
    const bytes = bytesOfHexText(values.hex);
    if (bytes === undefined) {
      io.stderr(`--hex must be pairs of hex digits (spaces and colons allowed), got "${values.hex}"`);
      return 2;
    }
    decodeOne(bytes, '');
    return refused > 0 ? 1 : 0;
  }

  let pending = '';
  let lineNumber = 0;
  const decodeLine = (line: string): void => {
    lineNumber += 1;
    if (line.trim() === '') return;
    const bytes = bytesOfHexText(line);
    if (bytes === undefined) {
      refused += 1;
      io.stderr(`bad advertisement on line ${lineNumber}: not pairs of hex digits: "${line.trim()}"`);
      return;
    }
    decodeOne(bytes, ` on line ${lineNumber}`);
  };
  for await (const chunk of io.stdin) {
    pending += Buffer.isBuffer(chunk) ? chunk.toString('latin1') : chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      decodeLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  }
  decodeLine(pending);
  return refused > 0 ? 1 : 0;
}
