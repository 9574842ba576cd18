import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { Store } from '../../gateway/store/store.js';
import { TestBroker } from '../support/aedes-broker.js';
import { startCli } from '../support/cli.js';
import { acceptAll, retainedStatus, TestIngest, type AckPolicy } from '../support/ingest-server.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { queryRows, seedPunches, stateCounts, uplinkGatewayConfig } from '../support/uplink-fixtures.js';
import { waitFor } from '../support/wait.js';

const DEVICE = 'gw-up-1';

/** Acks every batch after `delayMs`, as a server busy with its database would. */
function slowAcks(ingest: TestIngest, delayMs: number): AckPolicy {
  return (batch) => {
    setTimeout(() => void ingest.ack(DEVICE, { batchId: batch.batchId, ...(acceptAll(batch) as { accepted: string[]; rejected: [] }) }).catch(() => undefined), delayMs);
    return 'drop';
  };
}

describe('uplink across broker outages and gateway restarts', () => {
  let dir: string;
  let broker: TestBroker | undefined;
  let ingest: TestIngest | undefined;
  let gateway: Gateway | undefined;
  const children = new Set<ChildProcess>();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-uplink-res-'));
  });

  afterEach(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    children.clear();
    await gateway?.stop();
    await ingest?.close();
    await broker?.stop();
    gateway = undefined;
    ingest = undefined;
    broker = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const dbFile = (): string => path.join(dir, 'gateway.sqlite');

  it('resumes the drain after the broker goes away mid-drain and comes back on the same port', async () => {
    broker = await TestBroker.start();
    const port = broker.port;
    ingest = await TestIngest.connect(broker.url);
    const server = ingest;
    server.policy = slowAcks(server, 15);
    gateway = await startGateway(uplinkGatewayConfig(dir, broker.url, { maxPunches: 50, inFlight: 2 }), testLogger(), { clock: new ManualClock('2026-11-23T01:00:00.000Z') });
    const gw = gateway;
    const ids = await seedPunches(gw.store.outbox, 3000);
    gw.uplink?.notify();
    await waitFor('part of the backlog acked', async () => ((await stateCounts(dbFile())).acked ?? 0) >= 400, 10_000);

    await broker.stop();
    broker = undefined;
    await waitFor('the gateway to notice', () => gw.uplink?.connected === false);
    // Acks that arrived before the cut are still being recorded (off the sending path): let them land.
    let during = await stateCounts(dbFile());
    await waitFor('acks received before the cut recorded', async () => {
      await sleep(100);
      const now = await stateCounts(dbFile());
      const settled = JSON.stringify(now) === JSON.stringify(during);
      during = now;
      return settled;
    });
    expect(during.pending).toBeGreaterThan(0);
    await sleep(300);
    // Nothing moves while the broker is gone, and nothing is lost.
    expect(await stateCounts(dbFile())).toEqual(during);

    broker = await TestBroker.start({ port });
    await waitFor('the ingest back', () => server.connected, 10_000);
    await waitFor('every punch acked', async () => (await stateCounts(dbFile())).acked === 3000, 20_000);
    const received = server.receivedIds();
    expect(ids.every((id) => received.has(id))).toBe(true);
    const health = await gw.health();
    expect(health.uplink).toMatchObject({ enabled: true, state: 'connected' });
    expect(health.uplink.enabled && health.uplink.connects).toBe(2);
    // The status after the reconnect is online again.
    await waitFor('online status after the reconnect', () => server.statusesOf(DEVICE).at(-1)?.online === true);
  });

  it('leaves the will when killed mid-drain, and resumes from SQLite after a restart', async () => {
    broker = await TestBroker.start();
    ingest = await TestIngest.connect(broker.url);
    const server = ingest;
    server.policy = slowAcks(server, 15);
    // The backlog is in the data dir before the gateway process exists.
    const seedStore = await Store.open({ dataDir: dir, synchronous: 'full', logger: testLogger() });
    const ids = await seedPunches(seedStore.outbox, 4000);
    await seedStore.close();
    const config = { ...uplinkGatewayConfig(dir, broker.url, { maxPunches: 40, inFlight: 2 }), log: { level: 'info' } };
    const configFile = path.join(dir, 'gateway.json');
    await writeFile(configFile, JSON.stringify(config));

    const first = startCli(['gateway', '--config', configFile]);
    children.add(first);
    await waitFor('the first run online', async () => (await retainedStatus(broker?.url ?? '', DEVICE))?.online === true, 15_000);
    await waitFor('part of the backlog acked', async () => ((await stateCounts(dbFile())).acked ?? 0) >= 400, 15_000);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const ackedBeforeKill = new Set((await queryRows<{ id: string }>(dbFile(), "SELECT id FROM punches WHERE state = 'acked'")).map((row) => row.id));
    expect(ackedBeforeKill.size).toBeLessThan(4000);

    // The broker publishes the retained will for the vanished gateway.
    await waitFor('the will retained', async () => {
      const status = await retainedStatus(broker?.url ?? '', DEVICE);
      return status !== undefined && status.online === false ? status : undefined;
    });
    expect(await retainedStatus(broker.url, DEVICE)).toEqual({ online: false });

    const second = startCli(['gateway', '--config', configFile]);
    children.add(second);
    await waitFor('every punch acked after the restart', async () => (await stateCounts(dbFile())).acked === 4000, 20_000);
    const received = server.receivedIds();
    expect(ids.every((id) => received.has(id))).toBe(true);
    // Resumed, not restarted: what was acked before the kill was never sent again.
    expect([...ackedBeforeKill].every((id) => received.get(id) === 1)).toBe(true);
    await waitFor('online again', async () => (await retainedStatus(broker?.url ?? '', DEVICE))?.online === true);
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
    // A clean stop leaves the full offline status, not the bare will.
    const after = await retainedStatus(broker.url, DEVICE);
    expect(after).toMatchObject({ online: false, backlog: 0 });
    expect(after?.version).toBeDefined();
  });

  it('says online on every reconnect after the broker dropped its socket, with the will in between', async () => {
    broker = await TestBroker.start();
    ingest = await TestIngest.connect(broker.url);
    const server = ingest;
    gateway = await startGateway(uplinkGatewayConfig(dir, broker.url), testLogger(), { clock: new ManualClock('2026-11-23T01:00:00.000Z') });
    const gw = gateway;
    await waitFor('online', () => server.statusesOf(DEVICE).some((status) => status.online));
    for (let round = 0; round < 2; round += 1) {
      const before = server.statusesOf(DEVICE).length;
      expect((broker as TestBroker).dropClient(DEVICE)).toBe(true);
      await waitFor('the will, then online again', () => {
        const next = server.statusesOf(DEVICE).slice(before);
        const will = next.findIndex((status) => status.online === false);
        return will >= 0 && next.slice(will + 1).some((status) => status.online === true);
      });
      expect(server.statusesOf(DEVICE).slice(before).find((status) => !status.online)).toEqual({ online: false });
    }
    expect((await gw.health()).uplink).toMatchObject({ connects: 3, state: 'connected' });
    expect(await retainedStatus(broker.url, DEVICE)).toMatchObject({ online: true, backlog: 0 });
  });

  it('publishes a full offline status before a clean stop, so the broker never sends the will', async () => {
    broker = await TestBroker.start();
    ingest = await TestIngest.connect(broker.url);
    const server = ingest;
    server.policy = () => 'drop';
    gateway = await startGateway(uplinkGatewayConfig(dir, broker.url, { ackTimeoutSeconds: 30 }), testLogger(), { clock: new ManualClock('2026-11-23T01:00:00.000Z') });
    await seedPunches(gateway.store.outbox, 7);
    gateway.uplink?.notify();
    await waitFor('the batch sent', () => server.batches.length === 1);
    await gateway.stop();
    gateway = undefined;
    await waitFor('the offline status', () => server.statusesOf(DEVICE).at(-1)?.online === false);
    await sleep(200);
    const last = server.statusesOf(DEVICE).at(-1);
    expect(last).toMatchObject({ online: false, backlog: 7, oldestPendingAt: '2026-11-23T00:59:00.000Z' });
    expect(last?.version).toBeDefined();
    expect(await retainedStatus(broker.url, DEVICE)).toEqual(last);
  });
});
