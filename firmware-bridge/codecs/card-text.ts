import { em4100Number, wiegandUid, type CardRead } from '../../core/credential.js';
import { AsciiOptions, WiegandOptions } from '../reader-protocols.js';
import type { PassiveProtocol } from '../simulators/passive-reader-sim.js';

export interface CardTextOptions {
  wiegand?: WiegandOptions;
  ascii?: AsciiOptions;
}

/**
 * Turns what a person types after `--card` into the card a simulated reader presents.
 *
 * - EM4100 (rdm6300, em18, ascii hex/dec32 for em4100): 10 hex characters (version byte + card
 *   number), 8 hex characters (version byte 00), or the 10-digit number printed on the card
 *   (version byte 00). Ten digits are read as the printed decimal number, since that is what a
 *   person reads off a card; prefix `0x` to mean hex made only of digits.
 * - Wiegand: "FC:CN" or "FC,CN" in decimal, sized by the `bits` option.
 * - ascii dec24 / fc-card: "FC:CN" (a Wiegand-26 card) or an EM4100 id (the reader prints its low
 *   24 bits); ascii for mifare: the UID in card order, 4, 7 or 10 bytes of hex, colons allowed.
 *
 * Throws an Error naming the text and what was expected.
 */
export function parseCardText(protocol: PassiveProtocol, text: string, options: CardTextOptions = {}): CardRead {
  const trimmed = text.trim();
  switch (protocol) {
    case 'rdm6300':
    case 'em18':
      return parseEm4100(trimmed);
    case 'wiegand':
      return parseFacilityCard(trimmed, (options.wiegand ?? WiegandOptions.parse({})).bits);
    case 'ascii': {
      const ascii = options.ascii ?? AsciiOptions.parse({});
      if (ascii.format === 'dec24' || ascii.format === 'fc-card') {
        return /^\d+[:,]\d+$/.test(trimmed) ? parseFacilityCard(trimmed, 26) : parseEm4100(trimmed, 'or FC:CN ');
      }
      return ascii.kind === 'em4100' ? parseEm4100(trimmed) : parseMifare(trimmed, ascii.format === 'dec32');
    }
  }
}

function parseEm4100(text: string, alternative = ''): CardRead {
  let uid: string | undefined;
  const forcedHex = /^0x([0-9A-Fa-f]{8}|[0-9A-Fa-f]{10})$/.exec(text)?.[1];
  if (forcedHex !== undefined) uid = forcedHex;
  else if (/^\d{10}$/.test(text)) {
    const value = Number(text);
    if (value > 0xffffffff) throw new Error(`card "${text}" is over 4294967295, the largest EM4100 card number`);
    uid = value.toString(16).padStart(8, '0');
  } else if (/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{10})$/.test(text)) uid = text;
  if (uid === undefined) {
    throw new Error(
      `card "${text}" is not an EM4100 id: give 10 hex characters (version byte + card number), 8 hex characters, ` +
        `${alternative}or the 10-digit number printed on the card`,
    );
  }
  const full = (uid.length === 8 ? `00${uid}` : uid).toUpperCase();
  return { kind: 'em4100', uid: full, number: em4100Number(full) };
}

function parseFacilityCard(text: string, bits: 26 | 34): CardRead {
  const match = /^(\d{1,5})[:,](\d{1,5})$/.exec(text);
  if (!match) throw new Error(`card "${text}" is not a Wiegand card: give FC:CN or FC,CN in decimal, e.g. 90:324`);
  const facility = Number(match[1]);
  const card = Number(match[2]);
  const maxFacility = bits === 26 ? 0xff : 0xffff;
  if (facility > maxFacility) throw new Error(`card "${text}": facility ${facility} is over ${maxFacility} for ${bits}-bit Wiegand`);
  if (card > 0xffff) throw new Error(`card "${text}": card number ${card} is over 65535`);
  return { kind: bits === 26 ? 'wiegand26' : 'wiegand34', uid: wiegandUid(bits, facility, card), facility, card };
}

function parseMifare(text: string, fourBytesOnly: boolean): CardRead {
  const compact = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*$/.test(text) ? text.replaceAll(':', '') : text;
  const lengths = fourBytesOnly ? [8] : [8, 14, 20];
  if (!/^[0-9A-Fa-f]+$/.test(compact) || !lengths.includes(compact.length)) {
    const sizes = fourBytesOnly ? '4 bytes (this reader prints a 32-bit number)' : '4, 7 or 10 bytes';
    throw new Error(`card "${text}" is not a MIFARE UID: give ${sizes} of hex in card order, e.g. 04A224C2`);
  }
  return { kind: 'mifare', uid: compact.toUpperCase() };
}
