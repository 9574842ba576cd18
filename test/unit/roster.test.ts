import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../core/errors.js';
import { Roster } from '../../core/roster.js';
import { RosterIndex } from '../../gateway/roster-index.js';

const entries = Roster.parse([
  { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' },
  { credential: { kind: 'mifare', uid: '04a1b2c3' }, employeeId: 'E002', name: '李小龍', status: 'revoked' },
  { credential: { kind: 'em4100', uid: '00AA086CED' }, employeeId: 'E003', name: 'Wong Siu Ming' },
  { credential: { kind: 'em4100', uid: '0012345678' }, employeeId: 'E004', name: 'Lee Ka Yan' },
]);

describe('Roster schema', () => {
  it('normalises uids so a roster typed from the card matches the reader', () => {
    expect(entries[0]?.credential).toEqual({ kind: 'em4100', uid: 'E3086CED' });
    expect(entries[1]?.credential).toEqual({ kind: 'mifare', uid: '04A1B2C3' });
    expect(entries[0]?.status).toBe('active');
  });

  it('names the entry and field of every problem', () => {
    const result = Roster.safeParse([
      { credential: { kind: 'em4100', uid: 'E3086CED' }, employeeId: 'E001', name: 'A' },
      { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E002', name: 'B' },
      { credential: { kind: 'mifare', uid: '0102' }, employeeId: 'E003', name: 'C' },
      { credential: { kind: 'nfc', uid: '0102' }, employeeId: 'bad id!', name: '' },
    ]);
    expect(result.success).toBe(false);
    const problems = result.success ? [] : describeIssues(result.error, 'entry');
    expect(problems).toContainEqual(expect.stringMatching(/^entry\[2\]\.credential\.uid: mifare uid must be 4, 7 or 10 bytes/));
    expect(problems).toContainEqual(expect.stringMatching(/^entry\[3\]\.credential\.kind:/));
    expect(problems).toContainEqual(expect.stringMatching(/^entry\[3\]\.employeeId:/));
    expect(problems).toContainEqual(expect.stringMatching(/^entry\[3\]\.name:/));
  });

  it('refuses the same card given to two people', () => {
    const result = Roster.safeParse([
      { credential: { kind: 'em4100', uid: 'E3086CED' }, employeeId: 'E001', name: 'A' },
      { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E002', name: 'B' },
    ]);
    expect(result.success).toBe(false);
    expect(result.success ? [] : describeIssues(result.error, 'entry')).toEqual([
      'entry[1].credential: credential em4100:E3086CED is already given to entry 0 (E001)',
    ]);
  });
});

describe('RosterIndex', () => {
  const index = new RosterIndex(entries);

  it('resolves active, revoked and unknown credentials', () => {
    expect(index.resolve({ kind: 'em4100', uid: 'E3086CED' })).toMatchObject({ status: 'active', entry: { employeeId: 'E001' }, viaAlias: false });
    expect(index.resolve({ kind: 'mifare', uid: '04A1B2C3' })).toMatchObject({ status: 'revoked', entry: { employeeId: 'E002' } });
    expect(index.resolve({ kind: 'mifare', uid: 'DEADBEEF' })).toEqual({ status: 'unknown' });
  });

  it('finds an EM4100 card from a 24-bit read, unless two cards share those bits', () => {
    expect(index.resolve({ kind: 'wiegand26', uid: '345678' })).toMatchObject({ status: 'active', entry: { employeeId: 'E004' }, viaAlias: true });
    // E001 and E003 both end in 086CED: a 24-bit reader cannot tell them apart, so it guesses neither.
    expect(index.resolve({ kind: 'wiegand26', uid: '086CED' })).toEqual({ status: 'unknown' });
  });

  it("guesses neither when a wiegand26 badge has the 24 bits of another person's EM4100 card; one person's pair is fine", () => {
    const mixed = new RosterIndex([
      { credential: { kind: 'em4100', uid: '12345678' }, employeeId: 'E010', name: 'Card', status: 'active' },
      { credential: { kind: 'wiegand26', uid: '345678' }, employeeId: 'E011', name: 'Badge', status: 'active' },
      { credential: { kind: 'em4100', uid: '00ABCDEF' }, employeeId: 'E012', name: 'Both', status: 'active' },
      { credential: { kind: 'wiegand26', uid: 'ABCDEF' }, employeeId: 'E012', name: 'Both', status: 'active' },
    ]);
    // Before, the wiegand26 entry won and E010's card tapped at a Wiegand-26 reader was recorded as E011.
    expect(mixed.resolve({ kind: 'wiegand26', uid: '345678' })).toEqual({ status: 'unknown' });
    expect(mixed.resolve({ kind: 'em4100', uid: '12345678' })).toMatchObject({ status: 'active', entry: { employeeId: 'E010' } });
    expect(mixed.resolve({ kind: 'wiegand26', uid: 'ABCDEF' })).toMatchObject({ status: 'active', entry: { employeeId: 'E012' }, viaAlias: false });
  });
});
