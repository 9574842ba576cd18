import { z } from 'zod';

/** Serial reader protocols and their options, as written in the gateway config and CLI flags. */
export const ReaderProtocol = z.enum(['rdm6300', 'em18', 'pn532', 'wiegand', 'ascii', 'punchgate']);
export type ReaderProtocol = z.infer<typeof ReaderProtocol>;

export const WiegandOptions = z.object({
  /** Frame length on the wire. */
  bits: z.union([z.literal(26), z.literal(34)]).default(26),
  /** How the converter prints a frame: the bit string, hex of the data bits, or 10 decimal digits. */
  output: z.enum(['bits', 'hex', 'decimal']).default('bits'),
});
export type WiegandOptions = z.infer<typeof WiegandOptions>;

export const AsciiOptions = z.object({
  /** What one line holds: 10 hex chars, decimal of the low 32 bits, decimal of the low 24 bits, "FFF,CCCCC". */
  format: z.enum(['hex', 'dec32', 'dec24', 'fc-card']).default('hex'),
  /** The card family the reader reads (hex and dec32 lines). */
  kind: z.enum(['em4100', 'mifare']).default('em4100'),
  /** MIFARE readers print UID bytes in either order. */
  byteOrder: z.enum(['msb-first', 'lsb-first']).default('msb-first'),
});
export type AsciiOptions = z.infer<typeof AsciiOptions>;

export const defaultBaudRates: Record<ReaderProtocol, number> = {
  rdm6300: 9600,
  em18: 9600,
  pn532: 115200,
  wiegand: 9600,
  ascii: 9600,
  punchgate: 115200,
};
