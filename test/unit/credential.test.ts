import { describe, expect, it } from 'vitest';
import {
  credentialAliases,
  credentialKey,
  CredentialError,
  em4100Number,
  normalizeCredential,
  parseCredentialKey,
  wiegandUid,
} from '../../core/credential.js';

describe('normalizeCredential', () => {
  it('reduces an EM4100 read to its 32-bit card number, whatever form carried it', () => {
    // The HARDWARE.md example: data 62E3086CED, printed number 3808980205 = 0xE3086CED.
    const fromFrame = normalizeCredential({ kind: 'em4100', uid: '62E3086CED' });
    const fromDecimalReader = normalizeCredential({ kind: 'em4100', uid: (3808980205).toString(16) });
    expect(fromFrame).toEqual({ kind: 'em4100', uid: 'E3086CED' });
    expect(fromDecimalReader).toEqual(fromFrame);
    expect(em4100Number('62E3086CED')).toBe('3808980205');
  });

  it('upper-cases hex and keeps MIFARE UIDs of 4, 7 and 10 bytes whole', () => {
    expect(normalizeCredential({ kind: 'mifare', uid: '04a1b2c3' })).toEqual({ kind: 'mifare', uid: '04A1B2C3' });
    expect(normalizeCredential({ kind: 'mifare', uid: '04A1B2C3D4E5F6' }).uid).toHaveLength(14);
    expect(normalizeCredential({ kind: 'mifare', uid: '04A1B2C3D4E5F60708A9' }).uid).toHaveLength(20);
  });

  it('refuses uids of the wrong size or not hex, naming the problem', () => {
    expect(() => normalizeCredential({ kind: 'mifare', uid: '04A1B2' })).toThrow(/4, 7 or 10 bytes, got 3/);
    expect(() => normalizeCredential({ kind: 'em4100', uid: 'E3086C' })).toThrow(CredentialError);
    expect(() => normalizeCredential({ kind: 'wiegand26', uid: 'ZZ0144' })).toThrow(/not whole bytes of hex/);
    expect(() => normalizeCredential({ kind: 'wiegand34', uid: '5A0144' })).toThrow(/4 bytes/);
    expect(() => normalizeCredential({ kind: 'mifare', uid: '04A1B2C' })).toThrow(/whole bytes/);
  });

  it('gives Wiegand credentials as facility + card', () => {
    expect(wiegandUid(26, 90, 324)).toBe('5A0144');
    expect(wiegandUid(34, 1000, 65535)).toBe('03E8FFFF');
    expect(normalizeCredential({ kind: 'wiegand26', uid: '5a0144' })).toEqual({ kind: 'wiegand26', uid: '5A0144' });
  });
});

describe('credential keys and aliases', () => {
  it('round-trips kind:UID keys and refuses unknown kinds', () => {
    const credential = { kind: 'em4100', uid: 'E3086CED' } as const;
    expect(credentialKey(credential)).toBe('em4100:E3086CED');
    expect(parseCredentialKey('em4100:62e3086ced')).toEqual(credential);
    expect(() => parseCredentialKey('hid:1234')).toThrow(/unknown kind "hid"/);
    expect(() => parseCredentialKey('E3086CED')).toThrow(/kind:UID/);
  });

  it('lets a 24-bit Wiegand read find an EM4100 card by its low 24 bits', () => {
    expect(credentialAliases({ kind: 'em4100', uid: 'E3086CED' })).toEqual([{ kind: 'wiegand26', uid: '086CED' }]);
    expect(credentialAliases({ kind: 'mifare', uid: '04A1B2C3' })).toEqual([]);
  });
});
