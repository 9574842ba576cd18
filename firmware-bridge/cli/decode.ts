import { parseArgs } from 'node:util';
import { credentialKey, normalizeCredential, type CardRead } from '../../core/credential.js';
import { hex, type DecodeEvent } from '../codec.js';
import { createDecoder } from '../reader-factory.js';
import { ReaderProtocol } from '../reader-protocols.js';
import { readerOptionFlags, readerOptionsFromFlags, UsageError } from './reader-options.js';

export const decodeUsage = `usage: punchgate decode --protocol PROTOCOL [--hex HEX] [protocol options]

Decodes reader bytes (from --hex, or raw bytes on stdin) and prints one JSON object per credential
on stdout. Bad frames are reported on stderr; the exit code is 1 when any frame was bad.

protocols: ${ReaderProtocol.options.join(', ')}
options:   --wiegand-bits 26|34 --wiegand-output bits|hex|decimal
           --ascii-format hex|dec32|dec24|fc-card --ascii-kind em4100|mifare --ascii-byte-order msb-first|lsb-first`;

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
  const protocol = ReaderProtocol.safeParse(values.protocol);
  if (!protocol.success) {
    io.stderr(`--protocol must be one of ${ReaderProtocol.options.join(', ')}${values.protocol ? ` (got "${values.protocol}")` : ''}\n${decodeUsage}`);
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
    const cleaned = values.hex.replace(/[\s:]/g, '');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(cleaned)) {
      io.stderr(`--hex must be pairs of hex digits (spaces and colons allowed), got "${values.hex}"`);
      return 2;
    }
    report(decoder.push(Buffer.from(cleaned, 'hex')));
  } else {
    for await (const chunk of io.stdin) report(decoder.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
  }
  report(decoder.end());
  return badFrames > 0 ? 1 : 0;
}
