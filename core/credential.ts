import { z } from 'zod';

/**
 * Credential kinds. A kind names the identity space a uid lives in, not the reader that saw it:
 * an EM4100 card read by an RDM6300 and by an ASCII reader printing its decimal number is the
 * same `em4100` credential.
 */
export const credentialKinds = ['em4100', 'mifare', 'wiegand26', 'wiegand34', 'ble-tag', 'mobile'] as const;
export const CredentialKind = z.enum(credentialKinds);
export type CredentialKind = z.infer<typeof CredentialKind>;

const hexUid = z
  .string()
  .regex(/^(?:[0-9A-F]{2})+$/, 'uid must be upper-case hex, whole bytes')
  .max(64, 'uid is longer than 32 bytes');

/** The canonical credential stored in punches and rosters: see `normalizeCredential`. */
export const Credential = z.object({
  kind: CredentialKind,
  uid: hexUid,
});
export type Credential = z.infer<typeof Credential>;

/**
 * What a reader reported, before normalisation: `uid` holds every id byte the frame carried
 * (for EM4100 that includes the version/customer byte), plus the printed forms where they exist.
 */
export interface CardRead {
  kind: CredentialKind;
  /** Upper-case hex of all id bytes the frame carried. */
  uid: string;
  /** EM4100: the 10-digit decimal printed on the card (low 32 bits). */
  number?: string;
  /** Wiegand: facility code. */
  facility?: number;
  /** Wiegand: card number. */
  card?: number;
}

export class CredentialError extends Error {
  override name = 'CredentialError';
}

/**
 * One canonical form per kind, so the same card gives the same credential whichever reader or
 * printed form saw it, when the form carries enough bits:
 * - em4100: the 32-bit card number (8 hex). The version/customer byte is not printed on cards,
 *   not typed into rosters and not carried by decimal-printing readers, so it is not identity.
 * - mifare: the UID bytes in the order the card sends them (4, 7 or 10 bytes).
 * - wiegand26: 8-bit facility + 16-bit card (6 hex); wiegand34: 16 + 16 bits (8 hex).
 * - ble-tag, mobile: the uid as given, upper-cased.
 */
export function normalizeCredential(read: Pick<CardRead, 'kind' | 'uid'>): Credential {
  const uid = read.uid.toUpperCase();
  if (!/^(?:[0-9A-F]{2})+$/.test(uid)) {
    throw new CredentialError(`${read.kind} uid "${read.uid}" is not whole bytes of hex`);
  }
  const bytes = uid.length / 2;
  switch (read.kind) {
    case 'em4100':
      if (bytes === 5) return { kind: 'em4100', uid: uid.slice(2) };
      if (bytes === 4) return { kind: 'em4100', uid };
      throw new CredentialError(`em4100 uid must be 4 or 5 bytes, got ${bytes}`);
    case 'mifare':
      if (bytes === 4 || bytes === 7 || bytes === 10) return { kind: 'mifare', uid };
      throw new CredentialError(`mifare uid must be 4, 7 or 10 bytes, got ${bytes}`);
    case 'wiegand26':
      if (bytes === 3) return { kind: 'wiegand26', uid };
      throw new CredentialError(`wiegand26 uid must be 3 bytes (facility + card), got ${bytes}`);
    case 'wiegand34':
      if (bytes === 4) return { kind: 'wiegand34', uid };
      throw new CredentialError(`wiegand34 uid must be 4 bytes (facility + card), got ${bytes}`);
    case 'ble-tag':
    case 'mobile':
      return { kind: read.kind, uid };
  }
}

/** A stable string key for maps and database columns: `kind:UID`. */
export function credentialKey(credential: Credential): string {
  return `${credential.kind}:${credential.uid}`;
}

/**
 * Keys under which a roster entry can also be found by weaker readers. An EM4100 card seen by a
 * Wiegand-26 reader (or an ASCII reader printing "FFF,CCCCC" or 8 decimal digits) yields only the
 * low 24 bits; a roster entry for the full card is still found by them.
 */
export function credentialAliases(credential: Credential): Credential[] {
  if (credential.kind === 'em4100') return [{ kind: 'wiegand26', uid: credential.uid.slice(2) }];
  return [];
}

/** What a Wiegand-26 reader reads from a credential (6 hex digits), or undefined for kinds it cannot read. */
export function wiegand26Reading(credential: Credential): string | undefined {
  if (credential.kind === 'wiegand26') return credential.uid;
  const [alias] = credentialAliases(credential).filter((candidate) => candidate.kind === 'wiegand26');
  return alias?.uid;
}

/**
 * Whether a tap of one credential can be taken for the other: an EM4100 card and a wiegand26 badge
 * with the card's low 24 bits are the same reading at a Wiegand-26 reader. Held by two people,
 * that reader cannot tell whose tap it was (the dashboard refuses such pairs; a gateway given one
 * anyway guesses neither). Two EM4100 cards sharing those bits are not mistakable for each other
 * in this sense: each is told apart at an EM4100 reader, and the gateway guesses neither at a
 * Wiegand-26 reader.
 */
export function mistakableFor(a: Credential, b: Credential): boolean {
  if (a.kind === b.kind) return false;
  const reading = wiegand26Reading(a);
  return reading !== undefined && reading === wiegand26Reading(b);
}

/** The kind and the uid ending of the credentials this one is mistakable for (see mistakableFor). */
export function mistakableCounterpart(credential: Credential): { kind: CredentialKind; uidEndsWith: string } | undefined {
  const reading = wiegand26Reading(credential);
  if (reading === undefined) return undefined;
  // A wiegand26 badge is mistaken for an EM4100 card ending in its digits; an EM4100 card for that badge.
  return credential.kind === 'wiegand26' ? { kind: 'em4100', uidEndsWith: reading } : { kind: 'wiegand26', uidEndsWith: reading };
}

/** Parses "kind:UID" or a roster-style object; throws CredentialError naming the problem. */
export function parseCredentialKey(key: string): Credential {
  const at = key.indexOf(':');
  if (at < 0) throw new CredentialError(`credential "${key}" must look like kind:UID`);
  const kind = CredentialKind.safeParse(key.slice(0, at));
  if (!kind.success) throw new CredentialError(`credential "${key}" has unknown kind "${key.slice(0, at)}"`);
  return normalizeCredential({ kind: kind.data, uid: key.slice(at + 1) });
}

export function wiegandUid(bits: 26 | 34, facility: number, card: number): string {
  const facilityHex = facility.toString(16).toUpperCase().padStart(bits === 26 ? 2 : 4, '0');
  return facilityHex + card.toString(16).toUpperCase().padStart(4, '0');
}

export function em4100Number(uid: string): string {
  return Number.parseInt(uid.slice(-8), 16).toString().padStart(10, '0');
}
