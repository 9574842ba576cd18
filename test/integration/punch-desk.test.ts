import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Roster } from '../../core/roster.js';
import { PunchDesk } from '../../gateway/punch-desk.js';
import { RosterIndex } from '../../gateway/roster-index.js';
import { Store } from '../../gateway/store/store.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { rowsOf } from '../support/sqlite-rows.js';

const roster = Roster.parse([
  { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' },
  { credential: { kind: 'mifare', uid: '04A1B2C3' }, employeeId: 'E002', name: 'Lee Siu Lung', status: 'revoked' },
]);

describe('punch desk over a real SQLite store', () => {
  let dir: string;
  let store: Store;
  let clock: ManualClock;
  let desk: PunchDesk;

  const makeDesk = (): PunchDesk =>
    new PunchDesk({
      deviceId: 'gw-1',
      siteId: 'mk-01',
      timeZone: 'Asia/Hong_Kong',
      debounceMs: 60_000,
      direction: 'alternate',
      outbox: store.outbox,
      roster: () => new RosterIndex(roster),
      clock,
      logger: testLogger(),
    });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-desk-'));
    store = await Store.open({ dataDir: dir, synchronous: 'full', logger: testLogger() });
    // 08:59 in Hong Kong.
    clock = new ManualClock('2026-11-23T00:59:00.000Z');
    desk = makeDesk();
  });

  afterEach(async () => {
    await store.close().catch(() => undefined);
    await chmod(dir, 0o700).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('commits an accepted punch with the resolved employee before resolving', async () => {
    const outcome = await desk.submit({ readerId: 'door', read: { kind: 'em4100', uid: '62E3086CED', number: '3808980205' } });
    expect(outcome.result).toBe('accepted');
    expect(outcome.employee).toEqual({ id: 'E001', name: 'Chan Tai Man' });
    const rows = await rowsOf(store.file, 'SELECT seq, id, employee_id, credential_key, direction, local_day, state, body FROM punches');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ seq: 1, id: outcome.punch?.id, employee_id: 'E001', credential_key: 'em4100:E3086CED', direction: 'in', local_day: '2026-11-23', state: 'pending' });
    expect(JSON.parse(String(rows[0]?.body))).toEqual(outcome.punch);
    expect(outcome.punch).toMatchObject({ deviceId: 'gw-1', siteId: 'mk-01', at: '2026-11-23T00:59:00.000Z', method: 'badge', clock: { synced: true }, seq: 1 });
  });

  it('debounces a second read inside the window into a duplicate, and punches out after it', async () => {
    const read = { kind: 'em4100', uid: '62E3086CED' } as const;
    expect((await desk.submit({ readerId: 'door', read })).result).toBe('accepted');
    clock.advance(59_000);
    const repeat = await desk.submit({ readerId: 'door', read });
    expect(repeat.result).toBe('duplicate');
    expect(repeat.punch).toBeUndefined();
    clock.advance(2_000);
    const out = await desk.submit({ readerId: 'door', read });
    expect(out.result).toBe('accepted');
    expect(out.punch?.direction).toBe('out');
    expect(await rowsOf(store.file, 'SELECT direction FROM punches ORDER BY seq')).toEqual([{ direction: 'in' }, { direction: 'out' }]);
  });

  it('starts a new day with "in" in the site time zone, not UTC', async () => {
    const read = { kind: 'em4100', uid: '62E3086CED' } as const;
    await desk.submit({ readerId: 'door', read });
    // 15:59 UTC is 23:59 in Hong Kong; two minutes later it is the next local day.
    clock = new ManualClock('2026-11-23T15:59:00.000Z');
    desk = makeDesk();
    expect((await desk.submit({ readerId: 'door', read })).punch?.direction).toBe('out');
    clock.advance(120_000);
    expect((await desk.submit({ readerId: 'door', read })).punch?.direction).toBe('in');
  });

  it('after a restart, counts the day\'s punches per person and per unknown badge from the store, in one read', async () => {
    const known = { kind: 'em4100', uid: '62E3086CED' } as const;
    const unknown = { kind: 'mifare', uid: 'DEADBEEF' } as const;
    expect((await desk.submit({ readerId: 'door', read: known })).punch?.direction).toBe('in');
    expect((await desk.submit({ readerId: 'door', read: unknown })).punch?.direction).toBe('in');
    clock.advance(61_000);
    expect((await desk.submit({ readerId: 'door', read: known })).punch?.direction).toBe('out');
    // A restarted gateway: the counts come from gateway.sqlite (two for E001, one for the unknown badge).
    desk = makeDesk();
    clock.advance(61_000);
    expect((await desk.submit({ readerId: 'door', read: known })).punch?.direction).toBe('in');
    expect((await desk.submit({ readerId: 'door', read: unknown })).punch?.direction).toBe('out');
    expect(await rowsOf(store.file, 'SELECT credential_key, direction FROM punches ORDER BY seq')).toEqual([
      { credential_key: 'em4100:E3086CED', direction: 'in' },
      { credential_key: 'mifare:DEADBEEF', direction: 'in' },
      { credential_key: 'em4100:E3086CED', direction: 'out' },
      { credential_key: 'em4100:E3086CED', direction: 'in' },
      { credential_key: 'mifare:DEADBEEF', direction: 'out' },
    ]);
  });

  it('records an unknown badge with no employee so HR can assign it later', async () => {
    const outcome = await desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: 'DEADBEEF' } });
    expect(outcome.result).toBe('unknown');
    expect(await rowsOf(store.file, 'SELECT employee_id, credential_key FROM punches')).toEqual([{ employee_id: null, credential_key: 'mifare:DEADBEEF' }]);
  });

  it('refuses a revoked badge: logged as an attempt, never as attendance', async () => {
    const outcome = await desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: '04A1B2C3' } });
    expect(outcome.result).toBe('revoked');
    expect(await rowsOf(store.file, 'SELECT count(*) AS n FROM punches')).toEqual([{ n: 0 }]);
    expect(await rowsOf(store.file, 'SELECT reader_id, credential_key, employee_id, reason FROM refused_taps')).toEqual([
      { reader_id: 'door', credential_key: 'mifare:04A1B2C3', employee_id: 'E002', reason: 'revoked badge' },
    ]);
  });

  it('commits a burst from many readers in order, one row each, with consecutive seq numbers', async () => {
    const taps = Array.from({ length: 300 }, (_, index) =>
      desk.submit({ readerId: `r${index % 10}`, read: { kind: 'mifare', uid: (0x10000000 + index).toString(16).toUpperCase() } }),
    );
    const outcomes = await Promise.all(taps);
    expect(outcomes.every((outcome) => outcome.result === 'unknown')).toBe(true);
    const rows = await rowsOf(store.file, 'SELECT seq FROM punches ORDER BY seq');
    expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: 300 }, (_, index) => index + 1));
  });

  it('reports an error and records nothing when the commit fails', async () => {
    await store.close();
    const outcome = await desk.submit({ readerId: 'door', read: { kind: 'em4100', uid: '62E3086CED' } });
    expect(outcome).toMatchObject({ result: 'error', reason: 'could not record the punch' });
    expect(await rowsOf(store.file, 'SELECT count(*) AS n FROM punches')).toEqual([{ n: 0 }]);
  });

  it('reports an impossible read as an error without touching the store', async () => {
    const outcome = await desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: '0102' } });
    expect(outcome).toMatchObject({ result: 'error' });
    expect(outcome.reason).toMatch(/4, 7 or 10 bytes/);
    expect(await rowsOf(store.file, 'SELECT count(*) AS n FROM punches')).toEqual([{ n: 0 }]);
  });

  it('keeps debouncing across a restart of the desk', async () => {
    const read = { kind: 'em4100', uid: '62E3086CED' } as const;
    await desk.submit({ readerId: 'door', read });
    clock.advance(10_000);
    desk = makeDesk();
    await desk.restoreAfterRestart();
    expect((await desk.submit({ readerId: 'door', read })).result).toBe('duplicate');
  });

  it('does not let a punch stamped in the future (a clock that ran ahead) debounce taps after the clock is set back', async () => {
    const read = { kind: 'em4100', uid: '62E3086CED' } as const;
    const ahead = clock;
    ahead.advance(3_600_000);
    await desk.submit({ readerId: 'door', read });
    // The clock is set back an hour: the punch above now lies in the future.
    clock = new ManualClock('2026-11-23T00:59:00.000Z');
    desk = makeDesk();
    await desk.restoreAfterRestart();
    expect((await desk.submit({ readerId: 'door', read })).result).toBe('accepted');
  });

  it('continues seq numbers after the store is reopened', async () => {
    await desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: '11111111' } });
    await store.close();
    store = await Store.open({ dataDir: dir, synchronous: 'full', logger: testLogger() });
    desk = makeDesk();
    const outcome = await desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: '22222222' } });
    expect(outcome.punch?.seq).toBe(2);
  });

  it('refuses a data dir it cannot write, naming it', async () => {
    const locked = path.join(dir, 'locked');
    await Store.open({ dataDir: locked, synchronous: 'full', logger: testLogger() }).then((s) => s.close());
    await chmod(locked, 0o500);
    // root ignores permission bits; a file where the directory should be fails for everyone.
    const notADir = path.join(dir, 'gateway.sqlite', 'data');
    await expect(Store.open({ dataDir: notADir, synchronous: 'full', logger: testLogger() })).rejects.toThrow(/data dir .*gateway\.sqlite\/data is not a writable directory/);
  });
});
