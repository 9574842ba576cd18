import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Punch } from '../../core/punch.js';
import { Roster } from '../../core/roster.js';
import { ClockCorrector } from '../../gateway/clock-correction.js';
import { ClockTrust, type SyncReading } from '../../gateway/clock-trust.js';
import type { Clock } from '../../gateway/clock.js';
import { PunchDesk, type TapOutcome } from '../../gateway/punch-desk.js';
import { RosterIndex } from '../../gateway/roster-index.js';
import { ClockCorrections } from '../../gateway/store/clock-corrections.js';
import { Store } from '../../gateway/store/store.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';

const logger = testLogger();
const TZ = 'Asia/Hong_Kong';
const roster = Roster.parse([
  { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' },
  { credential: { kind: 'mifare', uid: '04A1B2C3' }, employeeId: 'E002', name: 'Lee Siu Lung' },
  { credential: { kind: 'mifare', uid: '04D4E5F6' }, employeeId: 'E003', name: 'Wong Ka Yan' },
]);
const E001 = { kind: 'em4100', uid: '62E3086CED' } as const;
const E002 = { kind: 'mifare', uid: '04A1B2C3' } as const;
const E003 = { kind: 'mifare', uid: '04D4E5F6' } as const;
const UNKNOWN = { kind: 'mifare', uid: '04999999' } as const;

type PunchRow = { seq: number; id: string; at: string; local_day: string; direction: string; body: string; state: string; clock_synced: number; boot_id: string | null; mono_ms: number | null };

describe('clock correction over a real SQLite store', () => {
  let dir: string;
  let store: Store;
  /** The hardware clocks: a Pi without RTC that booted at a stale wall time. */
  let base: ManualClock;
  let answer: SyncReading;
  let trust: ClockTrust;
  let corrector: ClockCorrector;

  const deskOn = (clock: Clock): PunchDesk =>
    new PunchDesk({ deviceId: 'gw-1', siteId: 'mk-01', timeZone: TZ, debounceMs: 60_000, direction: 'alternate', outbox: store.outbox, roster: () => new RosterIndex(roster), clock, logger });

  const rows = (): Promise<PunchRow[]> => store.db.all<PunchRow>('SELECT seq, id, at, local_day, direction, body, state, clock_synced, boot_id, mono_ms FROM punches ORDER BY seq');

  async function tap(desk: PunchDesk, read: { kind: 'em4100' | 'mifare'; uid: string }): Promise<TapOutcome> {
    const outcome = await desk.submit({ readerId: 'door', read });
    expect(['accepted', 'unknown']).toContain(outcome.result);
    return outcome;
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-clockfix-'));
    store = await Store.open({ dataDir: dir, synchronous: 'full', logger });
    // Booted with the wall clock two days behind: 2026-11-20 17:00Z is 01:00 on the 21st in Hong Kong.
    base = new ManualClock('2026-11-20T17:00:00.000Z');
    answer = { kind: 'unsynced' };
    trust = new ClockTrust({ syncCommand: ['timedatectl'], checkIntervalMs: 3_600_000, logger, base, run: async () => answer });
    corrector = new ClockCorrector({ clock: trust, corrections: new ClockCorrections(store.db), timeZone: () => TZ, logger });
  });

  afterEach(async () => {
    await corrector.stop();
    await trust.stop();
    await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  /** Steps the wall clock to the truth (as NTP does) and lets the next check see it. */
  async function syncTo(trueWall: string): Promise<number> {
    base.setWall(trueWall);
    answer = { kind: 'synced' };
    await trust.check();
    await corrector.idle();
    return Date.parse(trueWall) - base.monotonicMs();
  }

  it('rewrites at, body and local day of pending unsynced punches of this boot, once, and nothing else', async () => {
    // A punch from a previous boot that never synced.
    base.boot = 'old-boot';
    const oldDesk = deskOn(base);
    base.isSynced = false;
    await tap(oldDesk, E003);
    base.boot = 'test-boot';

    corrector.start();
    await trust.start();
    expect(trust.synced()).toBe(false);
    const desk = deskOn(trust);
    const firstIn = await tap(desk, E001);
    base.advance(10 * 60_000);
    const acked = await tap(desk, E002);
    await tap(desk, UNKNOWN);
    base.advance(2 * 3600_000);
    const firstOut = await tap(desk, E001);
    expect(firstIn.punch?.clock).toEqual({ synced: false });
    expect(firstOut.punch?.direction).toBe('out');
    // The server acknowledged E002's punch before the sync (the hold-back timed out, say).
    await store.db.run("UPDATE punches SET state = 'acked', acked_at = ? WHERE id = ?", ['2026-11-20T19:15:00.000Z', acked.punch?.id ?? '']);
    const before = await rows();
    expect(before.map((row) => [row.boot_id, row.clock_synced, row.local_day])).toEqual([
      ['old-boot', 0, '2026-11-21'],
      ['test-boot', 0, '2026-11-21'],
      ['test-boot', 0, '2026-11-21'],
      ['test-boot', 0, '2026-11-21'],
      ['test-boot', 0, '2026-11-21'],
    ]);

    base.advance(60_000);
    const reports: number[] = [];
    corrector.on('corrected', (report) => reports.push(report.corrected));
    // The truth: 16:30Z, half past midnight on the 23rd in Hong Kong.
    const offset = await syncTo('2026-11-22T16:30:00.000Z');
    expect(reports).toEqual([3]);
    expect(corrector.lastReport()).toMatchObject({ corrected: 3, skipped: [], bootId: 'test-boot', offsetMs: offset });

    const after = await rows();
    // Untouched: the other boot's punch and the acknowledged one, byte for byte.
    expect(after[0]).toEqual(before[0]);
    expect(after[2]).toEqual(before[2]);
    // Corrected: the true times run back from the sync by the monotonic clock; the HK days follow.
    const expected = [
      { seq: 2, at: '2026-11-22T14:19:00.000Z', local_day: '2026-11-22', direction: 'in' },
      { seq: 4, at: '2026-11-22T14:29:00.000Z', local_day: '2026-11-22', direction: 'in' },
      { seq: 5, at: '2026-11-22T16:29:00.000Z', local_day: '2026-11-23', direction: 'out' },
    ];
    for (const want of expected) {
      const row = after.find((candidate) => candidate.seq === want.seq);
      const old = before.find((candidate) => candidate.seq === want.seq);
      expect(row).toMatchObject({ ...want, clock_synced: 1, state: 'pending', boot_id: 'test-boot', mono_ms: old?.mono_ms });
      expect(row?.at).toBe(new Date(offset + (old?.mono_ms ?? 0)).toISOString());
      const body = Punch.parse(JSON.parse(row?.body ?? ''));
      const oldBody = Punch.parse(JSON.parse(old?.body ?? ''));
      // Only `at` and the clock flags change; the direction is what the person was told.
      expect(body).toEqual({ ...oldBody, at: want.at, clock: { synced: false, corrected: true } });
    }

    // Punches after the sync are synced, and a later check corrects nothing twice.
    base.advance(5 * 60_000);
    const synced = await tap(desk, E002);
    expect(synced.punch?.clock).toEqual({ synced: true });
    const settled = await rows();
    await trust.check();
    await corrector.idle();
    expect(await corrector.correct()).toMatchObject({ corrected: 0, skipped: [] });
    expect(await rows()).toEqual(settled);
    expect(reports).toEqual([3]);
  });

  it('corrects in one transaction: a failure rewrites nothing, and the next check retries', async () => {
    corrector.start();
    await trust.start();
    const desk = deskOn(trust);
    await tap(desk, E001);
    base.advance(60_000);
    await tap(desk, E002);
    base.advance(60_000);
    await tap(desk, E003);
    // The third update fails inside the transaction (as a full disk would).
    await store.db.exec("CREATE TRIGGER fail_third BEFORE UPDATE OF at ON punches WHEN NEW.seq = 3 BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    const before = await rows();
    await syncTo('2026-11-22T16:30:00.000Z');
    expect(await rows()).toEqual(before);
    expect(corrector.lastError()).toContain('disk full');
    expect(corrector.lastReport()).toBeUndefined();

    await store.db.exec('DROP TRIGGER fail_third');
    base.advance(30_000);
    await trust.check();
    await corrector.idle();
    expect(corrector.lastError()).toBeUndefined();
    expect(corrector.lastReport()?.corrected).toBe(3);
    const after = await rows();
    expect(after.map((row) => row.at)).toEqual(['2026-11-22T16:28:00.000Z', '2026-11-22T16:29:00.000Z', '2026-11-22T16:30:00.000Z']);
    expect(after.every((row) => row.clock_synced === 1)).toBe(true);
  });

  it('skips a row it cannot read, corrects the rest, and leaves the bad one for later', async () => {
    corrector.start();
    await trust.start();
    const desk = deskOn(trust);
    await tap(desk, E001);
    await tap(desk, E002);
    await store.db.run("UPDATE punches SET body = '{not json' WHERE seq = 1");
    await syncTo('2026-11-22T16:30:00.000Z');
    expect(corrector.lastReport()).toMatchObject({ corrected: 1, skipped: [{ seq: 1, reason: 'body is not JSON' }] });
    const [bad, good] = await rows();
    expect(bad).toMatchObject({ clock_synced: 0, at: '2026-11-20T17:00:00.000Z', body: '{not json' });
    expect(good).toMatchObject({ clock_synced: 1, at: '2026-11-22T16:30:00.000Z' });
  });

  it('catches a punch stamped unsynced in the instant of the sync at the next check', async () => {
    corrector.start();
    await trust.start();
    await syncTo('2026-11-22T16:30:00.000Z');
    // A batch that read the clock just before the sync commits just after the correction ran.
    base.isSynced = false;
    const late = await tap(deskOn(base), E001);
    expect(late.punch?.clock).toEqual({ synced: false });
    base.advance(30_000);
    await trust.check();
    await corrector.idle();
    const [row] = await rows();
    expect(row).toMatchObject({ clock_synced: 1, at: '2026-11-22T16:30:00.000Z' });
    expect(JSON.parse(row?.body ?? '').clock).toEqual({ synced: false, corrected: true });
  });

  it('after a restart in the same boot, corrects what the previous process left, whichever starts first', async () => {
    // The previous process took punches unsynced and stopped before the sync.
    base.isSynced = false;
    await tap(deskOn(base), E001);
    base.advance(60_000);
    answer = { kind: 'synced' };
    base.setWall('2026-11-22T16:30:00.000Z');
    // The clock trust starts first and is already synced when the corrector starts.
    await trust.start();
    corrector.start();
    await corrector.idle();
    expect(corrector.lastReport()?.corrected).toBe(1);
    expect((await rows())[0]).toMatchObject({ clock_synced: 1, at: '2026-11-22T16:29:00.000Z' });
  });

  it('does not correct while the clock is only unverified (the offset is not known to be right)', async () => {
    base.isSynced = false;
    await tap(deskOn(base), E001);
    answer = { kind: 'failed', reason: 'timedatectl exited 1: System has not been booted with systemd' };
    corrector.start();
    await trust.start();
    expect(trust.state().verdict).toBe('unverified');
    // New punches on such a box are not flagged.
    const fresh = await tap(deskOn(trust), E002);
    expect(fresh.punch?.clock).toEqual({ synced: true });
    await trust.check();
    await corrector.idle();
    expect(corrector.lastReport()).toBeUndefined();
    expect((await rows()).map((row) => row.clock_synced)).toEqual([0, 1]);
  });

  it('leaves alone a reading after the sync moment, which cannot be of this boot', async () => {
    base.isSynced = false;
    await tap(deskOn(base), E001);
    const corrections = new ClockCorrections(store.db);
    const report = await corrections.correct({ bootId: 'test-boot', offsetMs: 0, monoMs: 10, timeZone: TZ });
    expect(report).toEqual({ bootId: 'test-boot', offsetMs: 0, corrected: 0, skipped: [{ seq: 1, reason: 'monotonic reading 1000000 is after the sync (10)' }] });
    expect(await corrections.countUncorrected('test-boot')).toBe(1);
    expect(await corrections.countUncorrected('other-boot')).toBe(0);
  });
});
