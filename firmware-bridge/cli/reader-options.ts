import { AsciiOptions, WiegandOptions } from '../reader-protocols.js';

/** Command-line flags shared by `decode` and `simulate reader` for protocol options. */
export const readerOptionFlags = {
  'wiegand-bits': { type: 'string' },
  'wiegand-output': { type: 'string' },
  'ascii-format': { type: 'string' },
  'ascii-kind': { type: 'string' },
  'ascii-byte-order': { type: 'string' },
} as const;

export interface ReaderOptionValues {
  'wiegand-bits'?: string | undefined;
  'wiegand-output'?: string | undefined;
  'ascii-format'?: string | undefined;
  'ascii-kind'?: string | undefined;
  'ascii-byte-order'?: string | undefined;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Turns the flags into validated protocol options; a wrong value is a usage error naming the flag. */
export function readerOptionsFromFlags(values: ReaderOptionValues): { wiegand: WiegandOptions; ascii: AsciiOptions } {
  const wiegand = WiegandOptions.safeParse({
    ...(values['wiegand-bits'] !== undefined ? { bits: Number(values['wiegand-bits']) } : {}),
    ...(values['wiegand-output'] !== undefined ? { output: values['wiegand-output'] } : {}),
  });
  if (!wiegand.success) {
    throw new UsageError(`--wiegand-bits must be 26 or 34 and --wiegand-output one of bits, hex, decimal (${wiegand.error.issues.map((issue) => issue.message).join('; ')})`);
  }
  const ascii = AsciiOptions.safeParse({
    ...(values['ascii-format'] !== undefined ? { format: values['ascii-format'] } : {}),
    ...(values['ascii-kind'] !== undefined ? { kind: values['ascii-kind'] } : {}),
    ...(values['ascii-byte-order'] !== undefined ? { byteOrder: values['ascii-byte-order'] } : {}),
  });
  if (!ascii.success) {
    throw new UsageError(
      `--ascii-format must be hex, dec32, dec24 or fc-card; --ascii-kind em4100 or mifare; --ascii-byte-order msb-first or lsb-first (${ascii.error.issues.map((issue) => issue.message).join('; ')})`,
    );
  }
  return { wiegand: wiegand.data, ascii: ascii.data };
}
