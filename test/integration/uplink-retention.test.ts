import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { Retention } from '../../gateway/retention.js';
import { Store } from '../../gateway/store/store.js';
import { TestBroker } from '../support/aedes-broker.js';
import { acceptAll, TestIngest } from '../support/ingest-server.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { queryRows, seedPunches, stateCounts, uplinkGatewayConfig } from '../support/uplink-fixtures.js';
import { waitFor } from '../support/wait.js';

const DEVICE = 'gw-up-1';
const DAY = 24 * 3600 * 1000;
const NOW = '2026-11-23T01:00:00.000Z';
const daysAgo = (days: number): string => new Date(Date.parse(NOW) - days * DAY).toISOString();

describe('local retention and storage alarms', () => {
  let dir: string;
  let store: Store | undefined;
  let broker: TestBroker | undefined;
  let ingest: TestIngest | undefined;
  let gateway: Gateway | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-retention-'));
  });

  afterEach(async () => {
    await gateway?.stop();
    await ingest?.close();
    await broker?.stop();
    await store?.close();
    gateway = undefined;
    ingest = undefined;
    broker = undefined;
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const dbFile = (): string => path.join(dir, 'gateway.sqlite');

  function retention(options: { ackedDays?: number; synced?: boolean; chunk?: number } = {}): Retention {
    return new Retention({
      outbox: (store as Store).outbox,
      dataDir: dir,
      settings: { ackedDays: options.ackedDays ?? 30, maxPending: 1_000_000, minFreeMegabytes: 0 },
      now: () => new Date(NOW),
      clockSynced: () => options.synced ?? true,
      logger: testLogger(),
      pruneChunk: options.chunk ?? 1000,
    });
  }

  it('prunes only acknowledged punches acked before the cutoff, in chunks', async () => {
    store = await Store.open({ dataDir: dir, synchronous: 'full', logger: testLogger() });
    const old = await seedPunches(store.outbox, 7, { offset: 0 });
    const recent = await seedPunches(store.outbox, 3, { offset: 100 });
    const rejectedOld = await seedPunches(store.outbox, 2, { offset: 200 });
    const pending = await seedPunches(store.outbox, 2, { offset: 300 });
    await store.outbox.settle({ accepted: old, rejected: [] }, daysAgo(31));
    await store.outbox.settle({ accepted: recent, rejected: [] }, daysAgo(29));
    await store.outbox.settle({ accepted: [], rejected: rejectedOld.map((id) => ({ id, reason: 'bad' })) }, daysAgo(90));

    // While the clock is not trusted nothing is pruned.
    expect(await retention({ synced: false }).prune()).toBe(0);
    expect(await retention({ chunk: 3 }).prune()).toBe(7);
    const left = await queryRows<{ id: string; state: string }>(dbFile(), 'SELECT id, state FROM punches ORDER BY seq');
    expect(left.map((row) => row.id)).toEqual([...recent, ...rejectedOld, ...pending]);
    expect(await stateCounts(dbFile())).toEqual({ acked: 3, rejected: 2, pending: 2 });

    // ackedDays 0 still keeps the last two days (the desk's in/out and debounce read them).
    const yesterday = await seedPunches(store.outbox, 2, { offset: 400 });
    await store.outbox.settle({ accepted: yesterday, rejected: [] }, daysAgo(1));
    expect(await retention({ ackedDays: 0 }).prune()).toBe(3);
    expect(await stateCounts(dbFile())).toEqual({ acked: 2, rejected: 2, pending: 2 });
  });

  it('raises an alarm for free space under the limit, from the real filesystem', async () => {
    store = await Store.open({ dataDir: dir, synchronous: 'full', logger: testLogger() });
    const changes: string[][] = [];
    const make = (minFreeMegabytes: number): Retention =>
      new Retention({
        outbox: (store as Store).outbox,
        dataDir: dir,
        settings: { ackedDays: 30, maxPending: 10, minFreeMegabytes },
        now: () => new Date(NOW),
        clockSynced: () => true,
        logger: testLogger(),
        onAlarmsChanged: (alarms) => changes.push([...alarms]),
      });
    const roomy = make(0);
    expect(await roomy.check()).toEqual([]);
    expect(roomy.health().freeMegabytes).toBeGreaterThan(0);
    // More than any disk here has.
    const tight = make(1024 * 1024 * 1024);
    expect(await tight.check()).toEqual(['disk-low']);
    expect(changes).toEqual([['disk-low']]);
  });

  it('raises an alarm when pending punches exceed the limit, keeps every punch, and clears it once drained', async () => {
    broker = await TestBroker.start();
    ingest = await TestIngest.connect(broker.url);
    const server = ingest;
    server.policy = () => 'drop';
    const clock = new ManualClock(NOW);
    const config = uplinkGatewayConfig(dir, broker.url, { maxPunches: 20, ackTimeoutSeconds: 30, retention: { maxPending: 50 } });
    gateway = await startGateway(config, testLogger(), { clock, retention: { checkIntervalMs: 100 } });
    const gw = gateway;
    await seedPunches(gw.store.outbox, 60);
    await waitFor('the alarm in the status', () => server.statusesOf(DEVICE).some((status) => status.alarms?.includes('outbox-over-limit')), 10_000);
    const health = await gw.health();
    expect(health.ok).toBe(false);
    expect(health.problems).toContain('storage: outbox-over-limit');
    expect(health.storage).toMatchObject({ alarms: ['outbox-over-limit'], pending: 60 });
    // Over the limit, taps are still recorded: nothing is dropped, nothing refused.
    const outcome = await gw.desk.submit({ readerId: 'door', read: { kind: 'em4100', uid: 'CAFE0001' } });
    expect(outcome.result).toBe('unknown');
    expect(await stateCounts(dbFile())).toEqual({ pending: 61 });

    server.policy = acceptAll;
    await gw.uplink?.resync();
    await waitFor('drained', async () => (await stateCounts(dbFile())).acked === 61, 10_000);
    await waitFor('the alarm cleared in the status', () => {
      const last = server.statusesOf(DEVICE).at(-1);
      return last?.online === true && last.alarms?.length === 0;
    });
    expect((await gw.health()).storage.alarms).toEqual([]);
  });
});
