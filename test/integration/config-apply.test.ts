import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceConfigSnapshotInput } from '../../core/config-snapshot.js';
import { ConfigApplier, type ApplyResult, type LocalSettings, type RunningConfig } from '../../gateway/config-apply.js';
import { PunchDesk } from '../../gateway/punch-desk.js';
import { RosterIndex } from '../../gateway/roster-index.js';
import { RosterFileError } from '../../gateway/roster-file.js';
import { reloadRosterFile, RosterReloadError } from '../../gateway/roster-reload.js';
import { ConfigCache } from '../../gateway/store/config-cache.js';
import { Store } from '../../gateway/store/store.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';

const logger = testLogger();
const local: LocalSettings = { siteId: 'mk-01', site: { name: 'Mong Kok', timeZone: 'Asia/Hong_Kong' }, punch: { debounceSeconds: 60, direction: 'alternate' }, presence: { settings: {} } };
const localRoster: DeviceConfigSnapshotInput['roster'] = [{ credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' }];

function snapshot(overrides: Partial<DeviceConfigSnapshotInput> = {}): DeviceConfigSnapshotInput {
  return {
    version: 1,
    issuedAt: '2026-11-23T00:00:00.000Z',
    deviceId: 'gw-1',
    site: { id: 'tst-02', name: 'Tsim Sha Tsui', timeZone: 'Asia/Hong_Kong' },
    roster: [
      { credential: { kind: 'mifare', uid: '04A1B2C3' }, employeeId: 'E002', name: 'Lee Siu Lung' },
      { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man', status: 'revoked' },
    ],
    punch: { debounceSeconds: 30 },
    ...overrides,
  };
}

const payload = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('applying pushed config snapshots to a real SQLite store', () => {
  let dir: string;
  let store: Store;
  let applier: ConfigApplier;

  const makeApplier = (s: Store): ConfigApplier => new ConfigApplier({ deviceId: 'gw-1', local, cache: new ConfigCache(s.db), logger, now: () => new Date('2026-11-23T01:00:00.000Z') });

  /** Everything stored that a config could touch, as text. */
  async function storedState(): Promise<string> {
    const tables = ['roster', 'meta', 'punches', 'refused_taps'];
    const dump: Record<string, unknown> = {};
    for (const table of tables) dump[table] = await store.db.all(`SELECT * FROM ${table} ORDER BY rowid`);
    return JSON.stringify(dump);
  }

  /** The database file and its write-ahead log, byte for byte. */
  async function storedBytes(): Promise<Buffer[]> {
    return Promise.all([readFile(store.file), readFile(`${store.file}-wal`).catch(() => Buffer.alloc(0))]);
  }

  function applied(result: ApplyResult): RunningConfig {
    if (result.outcome !== 'applied') throw new Error(`expected applied, got ${JSON.stringify(result)}`);
    return result.config;
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-config-'));
    store = await Store.open({ dataDir: dir, synchronous: 'full', logger });
    // The gateway ran from its local roster file before any push.
    await store.roster.replace(
      localRoster.map((entry) => ({ ...entry, credential: { kind: 'em4100' as const, uid: 'E3086CED' }, status: 'active' as const })),
      { source: 'file:/etc/punchgate/roster.json' },
    );
    applier = makeApplier(store);
    expect(await applier.load()).toBeUndefined();
  });

  afterEach(async () => {
    await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('applies a good snapshot: roster table replaced, meta written, and the desk resolves with the new roster', async () => {
    const running = applied(await applier.apply(payload(snapshot())));
    expect(running).toMatchObject({
      version: 1,
      siteId: 'tst-02',
      siteName: 'Tsim Sha Tsui',
      timeZone: 'Asia/Hong_Kong',
      // Given by the snapshot, and the local config's where it is silent.
      punch: { debounceSeconds: 30, direction: 'alternate' },
      rosterEntries: 2,
      rosterSource: 'dashboard:v1',
    });
    expect(applier.appliedVersion()).toBe(1);
    expect(applier.lastError()).toBeUndefined();

    expect(await store.db.all('SELECT credential_key, employee_id, name, status FROM roster ORDER BY credential_key')).toEqual([
      { credential_key: 'em4100:E3086CED', employee_id: 'E001', name: 'Chan Tai Man', status: 'revoked' },
      { credential_key: 'mifare:04A1B2C3', employee_id: 'E002', name: 'Lee Siu Lung', status: 'active' },
    ]);
    expect(await store.getMeta('config.version')).toBe('1');
    expect(JSON.parse((await store.getMeta('config.pushed')) ?? '')).toEqual(snapshot());
    expect(await store.getMeta('roster.source')).toBe('dashboard:v1');

    // What the caller swaps in: the desk resolves with the new roster and stamps the new site.
    let roster: RosterIndex = new RosterIndex(await store.roster.load());
    const desk = new PunchDesk({ deviceId: 'gw-1', siteId: local.siteId, timeZone: local.site.timeZone, debounceMs: 60_000, direction: 'alternate', outbox: store.outbox, roster: () => roster, clock: new ManualClock('2026-11-23T01:00:00.000Z'), logger });
    roster = running.roster;
    desk.updateSettings({ siteId: running.siteId, timeZone: running.timeZone, debounceMs: running.punch.debounceSeconds * 1000, direction: running.punch.direction });
    const newcomer = await desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: '04A1B2C3' } });
    expect(newcomer).toMatchObject({ result: 'accepted', employee: { id: 'E002', name: 'Lee Siu Lung' }, punch: { siteId: 'tst-02' } });
    expect((await desk.submit({ readerId: 'door', read: { kind: 'em4100', uid: '62E3086CED' } })).result).toBe('revoked');
  });

  const refusals: Array<[string, unknown, RegExp]> = [
    ['bytes that are not JSON', Buffer.from('{"version": 2,'), /^not valid JSON: /],
    ['JSON that is not an object', payload([1, 2, 3]), /^\(top level\): /],
    ['a missing field', payload({ ...snapshot({ version: 2 }), site: undefined }), /^site: /],
    ['a bad time zone', payload(snapshot({ version: 2, site: { id: 'tst-02', name: 'TST', timeZone: 'Asia/Kowloon' } })), /^site\.timeZone: is not an IANA time zone/],
    ['a bad card uid in the roster', payload(snapshot({ version: 2, roster: [{ credential: { kind: 'mifare', uid: '04A1B2' }, employeeId: 'E002', name: 'Lee' }] })), /^roster\[0\]\.credential\.uid: /],
    [
      'a credential given twice',
      payload(snapshot({ version: 2, roster: [{ credential: { kind: 'mifare', uid: '04A1B2C3' }, employeeId: 'E002', name: 'Lee' }, { credential: { kind: 'mifare', uid: '04A1B2C3' }, employeeId: 'E003', name: 'Wong' }] })),
      /^roster\[1\]\.credential: credential mifare:04A1B2C3 is already given to entry 0/,
    ],
    ['a field it does not know', payload({ ...snapshot({ version: 2 }), schedules: [] }), /Unrecognized key.*schedules/],
    ['a bad punch setting', payload(snapshot({ version: 2, punch: { direction: 'sideways' as 'auto' } })), /^punch\.direction: /],
    ['a version that is not a positive integer', payload(snapshot({ version: 2.5 })), /^version: /],
    ['another device', payload(snapshot({ version: 2, deviceId: 'gw-2' })), /^deviceId: the snapshot is for device "gw-2", this gateway is "gw-1"$/],
    ['the applied version with other content', payload(snapshot({ version: 1, roster: [] })), /^version: 1 is already applied with different content$/],
    ['an older version', payload(snapshot({ version: 1 })), /^version: 1 is not above the applied version 2$/],
  ];

  it.each(refusals)('refuses %s with the field and reason, and changes nothing stored', async (what, bad, reason) => {
    applied(await applier.apply(payload(snapshot({ version: 1 }))));
    if (what === 'an older version') applied(await applier.apply(payload(snapshot({ version: 2 }))));
    const stateBefore = await storedState();
    const bytesBefore = await storedBytes();
    const result = await applier.apply(bad);
    expect(result.outcome).toBe('refused');
    const why = result.outcome === 'refused' ? result.reason : '';
    expect(why).toMatch(reason);
    expect(applier.lastError()).toMatchObject({ reason: why, at: '2026-11-23T01:00:00.000Z' });
    expect(applier.appliedVersion()).toBe(what === 'an older version' ? 2 : 1);
    expect(await storedState()).toBe(stateBefore);
    expect(await storedBytes()).toEqual(bytesBefore);
  });

  it('refuses a version below the applied one, and the refusal records the claimed version', async () => {
    applied(await applier.apply(payload(snapshot({ version: 5 }))));
    const before = await storedState();
    expect(await applier.apply(payload(snapshot({ version: 4 })))).toEqual({ outcome: 'refused', reason: 'version: 4 is not above the applied version 5' });
    expect(applier.lastError()).toEqual({ reason: 'version: 4 is not above the applied version 5', at: '2026-11-23T01:00:00.000Z', version: 4 });
    expect(await storedState()).toBe(before);
  });

  it('takes the same version and content again (a retained redelivery) as unchanged, without an error', async () => {
    applied(await applier.apply(payload(snapshot({ version: 3 }))));
    const before = await storedBytes();
    // Same content, other key order: still the same config.
    const reordered = { roster: snapshot().roster, punch: { debounceSeconds: 30 }, site: snapshot().site, deviceId: 'gw-1', issuedAt: snapshot().issuedAt, version: 3 };
    expect(await applier.apply(JSON.stringify(reordered))).toEqual({ outcome: 'unchanged', version: 3 });
    expect(applier.lastError()).toBeUndefined();
    expect(await storedBytes()).toEqual(before);
  });

  it('a good snapshot after a bad one clears the error; the last good one is in force after a reopen', async () => {
    applied(await applier.apply(payload(snapshot({ version: 1 }))));
    await applier.apply(payload(snapshot({ version: 2, deviceId: 'gw-9' })));
    expect(applier.lastError()?.version).toBe(2);
    applied(await applier.apply(snapshot({ version: 3, site: { id: 'tst-02', name: 'TST East', timeZone: 'Asia/Tokyo' } })));
    expect(applier.lastError()).toBeUndefined();
    await applier.apply(payload({ ...snapshot({ version: 4 }), roster: 'everyone' }));
    expect(applier.lastError()?.reason).toMatch(/^roster: /);

    await store.close();
    store = await Store.open({ dataDir: dir, synchronous: 'full', logger });
    applier = makeApplier(store);
    const running = await applier.load();
    expect(running).toMatchObject({ version: 3, siteName: 'TST East', timeZone: 'Asia/Tokyo', rosterEntries: 2 });
    expect(applier.appliedVersion()).toBe(3);
    expect(applier.lastError()).toBeUndefined();
    expect(running?.roster.resolve({ kind: 'mifare', uid: '04A1B2C3' })).toMatchObject({ status: 'active', entry: { employeeId: 'E002' } });
    expect(await store.roster.load()).toHaveLength(2);
    // The redelivered retained v3 is a no-op; v4 proper is applied.
    expect((await applier.apply(payload(snapshot({ version: 3, site: { id: 'tst-02', name: 'TST East', timeZone: 'Asia/Tokyo' } })))).outcome).toBe('unchanged');
    expect(applied(await applier.apply(payload(snapshot({ version: 4 })))).version).toBe(4);
  });

  it('stores nothing when the store fails halfway (roster deleted, meta write fails): all rolled back', async () => {
    const before = await storedState();
    await store.db.exec("CREATE TRIGGER no_version BEFORE INSERT ON meta WHEN NEW.key = 'config.version' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    const result = await applier.apply(payload(snapshot({ version: 7 })));
    expect(result).toEqual({ outcome: 'failed', reason: 'could not store config v7: SQLITE_CONSTRAINT: disk I/O error' });
    expect(applier.appliedVersion()).toBe(0);
    expect(applier.lastError()?.version).toBe(7);
    expect(await storedState()).toBe(before);
    await store.db.exec('DROP TRIGGER no_version');
    expect(applied(await applier.apply(payload(snapshot({ version: 7 })))).version).toBe(7);
  });

  it('ignores a stored snapshot that no longer validates, says why, and takes the next push of that version', async () => {
    applied(await applier.apply(payload(snapshot({ version: 2 }))));
    await store.setMeta('config.pushed', JSON.stringify({ ...snapshot({ version: 2 }), site: { id: 'tst-02', name: 'TST', timeZone: 'Mars/Olympus' } }));
    applier = makeApplier(store);
    expect(await applier.load()).toBeUndefined();
    expect(applier.appliedVersion()).toBe(0);
    expect(applier.lastError()?.reason).toMatch(/^the stored pushed config v2 is no longer valid: site\.timeZone: /);
    expect(applied(await applier.apply(payload(snapshot({ version: 2 })))).version).toBe(2);
  });

  it('applies concurrent pushes one at a time, in arrival order', async () => {
    const [first, second] = await Promise.all([applier.apply(payload(snapshot({ version: 2 }))), applier.apply(payload(snapshot({ version: 3 })))]);
    expect([first.outcome, second.outcome]).toEqual(['applied', 'applied']);
    const [newer, older] = await Promise.all([applier.apply(payload(snapshot({ version: 5 }))), applier.apply(payload(snapshot({ version: 4 })))]);
    expect(newer.outcome).toBe('applied');
    expect(older).toEqual({ outcome: 'refused', reason: 'version: 4 is not above the applied version 5' });
    expect(await store.getMeta('config.version')).toBe('5');
  });

  it('applies while taps are being committed on the same connection: every tap and the config land', async () => {
    let roster = new RosterIndex(await store.roster.load());
    const clock = new ManualClock('2026-11-23T01:00:00.000Z');
    const desk = new PunchDesk({ deviceId: 'gw-1', siteId: 'mk-01', timeZone: 'Asia/Hong_Kong', debounceMs: 0, direction: 'auto', outbox: store.outbox, roster: () => roster, clock, logger, maxBatch: 1 });
    const taps = Array.from({ length: 40 }, () => desk.submit({ readerId: 'door', read: { kind: 'em4100', uid: '62E3086CED' } }));
    const pushes = [2, 3, 4].map((version) => applier.apply(payload(snapshot({ version, roster: localRoster }))));
    const results = await Promise.all(pushes);
    roster = results.map(applied).at(-1)?.roster ?? roster;
    const outcomes = await Promise.all(taps);
    expect(outcomes.filter((outcome) => outcome.result !== 'accepted')).toEqual([]);
    expect((await store.outbox.counts()).total).toBe(40);
    expect(await store.getMeta('config.version')).toBe('4');
  });

  describe('the local roster file vs a pushed config', () => {
    it('reload reads the file while no config was pushed, and refuses once one is in force', async () => {
      const file = path.join(dir, 'roster.json');
      await writeFile(file, JSON.stringify([...localRoster, { credential: { kind: 'mifare', uid: '04D4E5F6' }, employeeId: 'E003', name: 'Wong Ka Yan' }]));
      const reload = (): ReturnType<typeof reloadRosterFile> => reloadRosterFile({ file, roster: store.roster, pushedVersion: () => applier.appliedVersion() });
      expect(await reload()).toMatchObject({ changed: true, source: `file:${file}`, roster: { length: 2 } });
      expect(await store.getMeta('roster.source')).toBe(`file:${file}`);
      expect((await reload()).changed).toBe(false);

      // A bad file changes nothing.
      await writeFile(file, '[{"credential": {"kind": "mifare", "uid": "zz"}}]');
      const before = await storedState();
      await expect(reload()).rejects.toBeInstanceOf(RosterFileError);
      expect(await storedState()).toBe(before);

      applied(await applier.apply(payload(snapshot({ version: 1 }))));
      await expect(reload()).rejects.toThrow(new RosterReloadError('the pushed config v1 is in force; the local rosterFile is not used'));
      await expect(reloadRosterFile({ file: undefined, roster: store.roster, pushedVersion: () => 0 })).rejects.toThrow('no rosterFile is configured');
    });
  });
});
