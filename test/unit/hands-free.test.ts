import { describe, expect, it } from 'vitest';
import { normalizeCredential } from '../../core/credential.js';
import { Roster, type RosterEntry } from '../../core/roster.js';
import { BleScanner, type AdvertClassifier } from '../../gateway/presence/ble-scanner.js';
import { HandsFree, HandsFreeSettings, type BlePunchRequest, type ConsentRecord, type HandsFreeOptions } from '../../gateway/presence/hands-free.js';
import { PresenceTracker, type PresenceTransition } from '../../gateway/presence/presence-tracker.js';
import type { Tap } from '../../gateway/punch-desk.js';
import { RosterIndex } from '../../gateway/roster-index.js';
import { nobleWithFakeBinding, recordedFrames, recordSession, type RssiSegment } from '../support/fake-noble-binding.js';
import { testLogger } from '../support/logger.js';

/** recordedFrames.STAFF_IBEACON as the test classifier names it (uuid + major + minor). */
const MEI_TAG = 'E2C56DB5DFFB48D2B060D0F5A71096E0000100C8';
/** recordedFrames.SECOND_IBEACON. */
const KA_TAG = 'E2C56DB5DFFB48D2B060D0F5A71096E0000100C9';
const REVOKED_TAG = 'AABBCCDD';

const roster = new RosterIndex(
  Roster.parse([
    { credential: { kind: 'ble-tag', uid: MEI_TAG }, employeeId: 'E100', name: 'Chan Mei' },
    { credential: { kind: 'ble-tag', uid: KA_TAG }, employeeId: 'E200', name: 'Wong Ka' },
    { credential: { kind: 'ble-tag', uid: REVOKED_TAG }, employeeId: 'E300', name: 'Lee Ho', status: 'revoked' },
  ]),
);

const iBeaconClassifier: AdvertClassifier = (_address, advertisement) => {
  const mfg = advertisement.manufacturerData;
  if (!mfg || mfg.length < 25 || mfg.readUInt16LE(0) !== 0x004c || mfg[2] !== 0x02 || mfg[3] !== 0x15) return null;
  return { tagId: mfg.subarray(4, 24).toString('hex').toUpperCase() };
};

const T0 = Date.parse('2025-03-03T01:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

/** Recorded adverts -> noble (fake binding) -> scanner -> tracker -> hands-free, on one manual clock. */
async function chain(options: Partial<HandsFreeOptions> & { consents?: Map<string, ConsentRecord> }) {
  let clock = T0;
  const now = (): number => clock;
  const logger = testLogger();
  const { noble, binding } = nobleWithFakeBinding();
  const tracker = new PresenceTracker({ logger, now, absentAfterMs: 30_000 });
  const scanner = new BleScanner({ noble, tracker, classify: iBeaconClassifier, logger, now, autoTick: false });
  const punches: BlePunchRequest[] = [];
  const consents = options.consents ?? new Map([['E100', { recordedAt: '2025-02-01T02:00:00.000Z' }]]);
  const handsFree = new HandsFree({
    roster: () => roster,
    consent: (entry: RosterEntry) => consents.get(entry.employeeId),
    recordPunch: (request) => {
      punches.push(request);
    },
    logger,
    now,
    ...options,
  });
  handsFree.attach(tracker);
  const transitions: PresenceTransition[] = [];
  tracker.on('transition', (transition) => transitions.push(transition));
  scanner.start();
  await new Promise((resolve) => setImmediate(resolve));
  let nextTick = T0 + 1_000;
  const advanceTo = (at: number): void => {
    while (nextTick <= at) {
      clock = nextTick;
      scanner.tick(nextTick);
      handsFree.tick(nextTick);
      nextTick += 1_000;
    }
    clock = Math.max(clock, at);
  };
  const walk = (eir: string, segments: RssiSegment[], seed: number, startAt: number): number => {
    const recording = recordSession({ address: eir === recordedFrames.STAFF_IBEACON ? 'c4:be:84:12:34:56' : 'c4:be:84:00:00:02', eir, segments, seed, startAt });
    binding.replay(recording, advanceTo);
    return recording.at(-1)?.at as number;
  };
  return { handsFree, punches, transitions, advanceTo, walk, scanner, consents };
}

/** Walk in (10 s), stay, walk out (6 s). */
const visit = (stayMs: number): RssiSegment[] => [
  { ms: 10_000, from: -95, to: -60 },
  { ms: stayMs, from: -62, to: -62 },
  { ms: 6_000, from: -62, to: -98 },
];

describe('hands-free punching', () => {
  it('is off unless the config turns it on', async () => {
    expect(HandsFreeSettings.parse({})).toMatchObject({ enabled: false, punchOutAfterMs: 600_000 });
    const rig = await chain({});
    expect(rig.handsFree.enabled).toBe(false);
    const lastHeard = rig.walk(recordedFrames.STAFF_IBEACON, visit(120_000), 1, T0);
    rig.advanceTo(lastHeard + 3_600_000);
    expect(rig.transitions.some((t) => t.to === 'present')).toBe(true);
    expect(rig.punches).toEqual([]);
    rig.scanner.stop();
  });

  it('with consent: present punches in once; away for the configured period punches out', async () => {
    const rig = await chain({ enabled: true, punchOutAfterMs: 300_000 });
    const lastHeard = rig.walk(recordedFrames.STAFF_IBEACON, visit(180_000), 2, T0);
    const present = rig.transitions.find((t) => t.to === 'present') as PresenceTransition;
    expect(rig.punches).toHaveLength(1);
    const punchIn = rig.punches[0] as BlePunchRequest;
    expect(punchIn).toEqual({
      readerId: 'ble-presence',
      read: { kind: 'ble-tag', uid: MEI_TAG },
      credential: { kind: 'ble-tag', uid: MEI_TAG },
      method: 'ble',
      direction: 'in',
      at: iso(present.at),
      occurredMsAgo: 0,
      employeeId: 'E100',
      seenAt: iso(present.at),
    });
    // The request is a PunchDesk tap as it is, with a credential the desk normalises to itself.
    const tap: Tap = punchIn;
    expect(normalizeCredential(tap.read)).toEqual(punchIn.credential);
    expect(rig.handsFree.clockedIn()).toEqual(['E100']);

    // Gone: away after the 30 s quiet period, out 5 minutes after that, not before.
    rig.advanceTo(lastHeard + 30_000 + 299_000);
    expect(rig.transitions.at(-1)).toMatchObject({ to: 'away' });
    expect(rig.punches).toHaveLength(1);
    rig.advanceTo(lastHeard + 30_000 + 301_000);
    expect(rig.punches).toHaveLength(2);
    // The punch out carries the time the tag was last heard, decided 30 s + 5 min (+ < 1 s tick) later.
    expect(rig.punches[1]).toMatchObject({ direction: 'out', method: 'ble', credential: { kind: 'ble-tag', uid: MEI_TAG }, employeeId: 'E100', at: iso(lastHeard), seenAt: iso(lastHeard) });
    const ago = (rig.punches[1] as BlePunchRequest).occurredMsAgo;
    expect(ago).toBeGreaterThanOrEqual(330_000);
    expect(ago).toBeLessThanOrEqual(331_000);
    expect(rig.handsFree.clockedIn()).toEqual([]);
    rig.advanceTo(lastHeard + 7_200_000);
    expect(rig.punches).toHaveLength(2);
    rig.scanner.stop();
  });

  it('coming back before the period is up cancels the punch out (and does not punch in again)', async () => {
    const rig = await chain({ enabled: true, punchOutAfterMs: 300_000 });
    const firstLeft = rig.walk(recordedFrames.STAFF_IBEACON, visit(60_000), 3, T0);
    rig.advanceTo(firstLeft + 120_000); // away, out pending
    const lastHeard = rig.walk(recordedFrames.STAFF_IBEACON, visit(60_000), 4, firstLeft + 120_000);
    expect(rig.transitions.filter((t) => t.to === 'present')).toHaveLength(2);
    expect(rig.punches.map((p) => p.direction)).toEqual(['in']);
    rig.advanceTo(lastHeard + 400_000);
    expect(rig.punches.map((p) => p.direction)).toEqual(['in', 'out']);
  });

  it('consent off: never punches, in or out', async () => {
    // Ka (E200) has no consent on record; Mei's record is empty.
    const rig = await chain({ enabled: true, punchOutAfterMs: 0, consents: new Map([['E100', { recordedAt: '' }]]) });
    const kaLeft = rig.walk(recordedFrames.SECOND_IBEACON, visit(120_000), 5, T0);
    const meiLeft = rig.walk(recordedFrames.STAFF_IBEACON, visit(120_000), 6, kaLeft + 60_000);
    rig.advanceTo(meiLeft + 3_600_000);
    expect(rig.transitions.filter((t) => t.to === 'present').map((t) => t.tagId)).toEqual([KA_TAG, MEI_TAG]);
    expect(rig.transitions.filter((t) => t.to === 'away').map((t) => t.tagId)).toEqual([KA_TAG, MEI_TAG]);
    expect(rig.punches).toEqual([]);
    rig.scanner.stop();
  });

  it('consent withdrawn while clocked in: no punch out either', async () => {
    const rig = await chain({ enabled: true, punchOutAfterMs: 60_000 });
    const lastHeard = rig.walk(recordedFrames.STAFF_IBEACON, visit(60_000), 7, T0);
    expect(rig.punches.map((p) => p.direction)).toEqual(['in']);
    rig.consents.delete('E100');
    rig.advanceTo(lastHeard + 3_600_000);
    expect(rig.punches.map((p) => p.direction)).toEqual(['in']);
    expect(rig.handsFree.clockedIn()).toEqual([]);
    rig.scanner.stop();
  });

  describe('decisions on transitions', () => {
    const transition = (tagId: string, from: PresenceTransition['from'], to: PresenceTransition['to'], at: number): PresenceTransition => ({ tagId, from, to, at, rssi: -60, reason: to === 'away' ? 'quiet' : 'signal', lastSeenAt: to === 'away' ? at - 30_000 : at });
    const make = (overrides: Partial<HandsFreeOptions> = {}) => {
      const punches: BlePunchRequest[] = [];
      let clock = T0;
      const handsFree = new HandsFree({
        enabled: true,
        punchOutAfterMs: 60_000,
        roster: () => roster,
        consent: () => ({ recordedAt: '2025-02-01T02:00:00.000Z' }),
        recordPunch: (request) => {
          punches.push(request);
        },
        logger: testLogger(),
        now: () => clock,
        ...overrides,
      });
      return { handsFree, punches, setClock: (at: number) => (clock = at) };
    };

    it("by default the consent is the roster entry's bleConsentAt", () => {
      const entries = [
        { credential: { kind: 'ble-tag' as const, uid: MEI_TAG }, employeeId: 'E100', name: 'Chan Mei', status: 'active' as const, bleConsentAt: '2025-02-01T02:00:00.000Z' },
        { credential: { kind: 'ble-tag' as const, uid: KA_TAG }, employeeId: 'E200', name: 'Wong Ka', status: 'active' as const },
      ];
      const withConsentField = new RosterIndex(entries);
      const punches: BlePunchRequest[] = [];
      const handsFree = new HandsFree({ enabled: true, roster: () => withConsentField, recordPunch: (request) => void punches.push(request), logger: testLogger() });
      handsFree.handle(transition(KA_TAG, 'near', 'present', T0));
      handsFree.handle(transition(MEI_TAG, 'near', 'present', T0));
      expect(punches.map((p) => p.employeeId)).toEqual(['E100']);
    });

    it('unknown, revoked or non-hex tags never punch', () => {
      const { handsFree, punches } = make();
      for (const tagId of ['0011223344', REVOKED_TAG, 'not-a-hex-id']) handsFree.handle(transition(tagId, 'near', 'present', T0));
      expect(punches).toEqual([]);
    });

    it('tag ids are matched case-insensitively, as the roster normalises them', () => {
      const { handsFree, punches } = make();
      handsFree.handle(transition(MEI_TAG.toLowerCase(), 'near', 'present', T0));
      expect(punches).toMatchObject([{ direction: 'in', credential: { kind: 'ble-tag', uid: MEI_TAG } }]);
    });

    it('a punch that was not recorded is tried again', async () => {
      let fail = true;
      const attempts: BlePunchRequest[] = [];
      const { handsFree, setClock } = make({
        retryMs: 10_000,
        recordPunch: async (request) => {
          attempts.push(request);
          if (fail) throw new Error('store is gone');
        },
      });
      handsFree.handle(transition(MEI_TAG, 'near', 'present', T0));
      await new Promise((resolve) => setImmediate(resolve));
      expect(handsFree.clockedIn()).toEqual([]);
      fail = false;
      setClock(T0 + 5_000);
      handsFree.tick();
      expect(attempts).toHaveLength(1);
      setClock(T0 + 10_000);
      handsFree.tick();
      expect(attempts.map((a) => a.direction)).toEqual(['in', 'in']);
      // The retry still says when the person arrived.
      expect(attempts[1]).toMatchObject({ at: iso(T0), occurredMsAgo: 10_000 });
      await new Promise((resolve) => setImmediate(resolve));
      expect(handsFree.clockedIn()).toEqual(['E100']);
    });

    it('turning it off forgets everyone and stops punching', () => {
      const { handsFree, punches } = make();
      handsFree.handle(transition(MEI_TAG, 'near', 'present', T0));
      handsFree.updateSettings({ enabled: false });
      handsFree.handle(transition(MEI_TAG, 'present', 'away', T0 + 60_000));
      handsFree.tick(T0 + 3_600_000);
      expect(punches.map((p) => p.direction)).toEqual(['in']);
      expect(handsFree.clockedIn()).toEqual([]);
    });
  });
});
