import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PunchBatch } from '../../core/messages.js';
import { deviceTopic } from '../../core/topics.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { TestBroker } from '../support/aedes-broker.js';
import { acceptAll, TestIngest } from '../support/ingest-server.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { queryRows, seedPunches, stateCounts, uplinkGatewayConfig, type UplinkTestSettings } from '../support/uplink-fixtures.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/ports.js';

const DEVICE = 'gw-up-1';

describe('uplink drain over a real broker', () => {
  let dir: string;
  let broker: TestBroker | undefined;
  let ingest: TestIngest | undefined;
  let gateway: Gateway | undefined;
  let clock: ManualClock;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-uplink-'));
    clock = new ManualClock('2026-11-23T01:00:00.000Z');
  });

  afterEach(async () => {
    await gateway?.stop();
    await ingest?.close();
    await broker?.stop();
    gateway = undefined;
    ingest = undefined;
    broker = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function startAll(settings: UplinkTestSettings = {}, pollIntervalMs = 100): Promise<Gateway> {
    broker = await TestBroker.start();
    ingest = await TestIngest.connect(broker.url);
    gateway = await startGateway(uplinkGatewayConfig(dir, broker.url, settings), testLogger(), { clock, uplink: { pollIntervalMs } });
    return gateway;
  }

  const dbFile = (): string => path.join(dir, 'gateway.sqlite');

  it('drains a backlog committed before the broker existed, once it appears', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    gateway = await startGateway(uplinkGatewayConfig(dir, url, { maxPunches: 100, maxBytes: 16 * 1024 }), testLogger(), { clock, uplink: { statusMinIntervalMs: 100 } });
    const ids = await seedPunches(gateway.store.outbox, 1500);
    await waitFor('the uplink to have tried and failed', async () => {
      const health = await gateway?.health();
      return health?.uplink.enabled && health.uplink.lastError !== null;
    });
    expect(await stateCounts(dbFile())).toEqual({ pending: 1500 });

    broker = await TestBroker.start({ port });
    ingest = await TestIngest.connect(broker.url);
    await waitFor('every punch acked in SQLite', async () => (await stateCounts(dbFile())).acked === 1500, 15_000);

    const received = ingest.receivedIds();
    expect(ids.every((id) => received.has(id))).toBe(true);
    expect(ingest.invalid).toHaveLength(0);
    for (const { raw, batch } of ingest.batches) {
      expect(batch.deviceId).toBe(DEVICE);
      expect(batch.punches.length).toBeLessThanOrEqual(100);
      expect(raw.length).toBeLessThanOrEqual(16 * 1024);
      // Punches go in the order they were taken within a batch.
      const seqs = batch.punches.map((punch) => punch.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    // 16 KiB holds fewer than 100 of these punches: the byte limit made the batches, not the count.
    expect(Math.max(...ingest.batches.map(({ batch }) => batch.punches.length))).toBeLessThan(100);
    const acked = await queryRows<{ n: number }>(dbFile(), "SELECT count(*) AS n FROM punches WHERE state = 'acked' AND acked_at IS NOT NULL");
    expect(acked[0]?.n).toBe(1500);
    await waitFor('a status with an empty backlog', () => ingest?.statusesOf(DEVICE).some((status) => status.online && status.backlog === 0));
  });

  it('keeps several batches in flight, never more than the limit, and continues as acks come', async () => {
    const gw = await startAll({ maxPunches: 10, inFlight: 3, ackTimeoutSeconds: 30 });
    const server = ingest as TestIngest;
    const held: PunchBatch[] = [];
    server.policy = (batch) => {
      held.push(batch);
      return 'drop';
    };
    await seedPunches(gw.store.outbox, 95);
    gw.uplink?.notify();
    await waitFor('three batches in flight', () => held.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(held).toHaveLength(3);
    expect((await gw.health()).uplink).toMatchObject({ enabled: true, inFlight: 3 });
    // Each ack frees a slot for exactly one more batch.
    const first = held.shift() as PunchBatch;
    await server.ack(DEVICE, { batchId: first.batchId, accepted: first.punches.map((punch) => punch.id), rejected: [] });
    await waitFor('a fourth batch', () => server.batches.length === 4);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.batches).toHaveLength(4);
    server.policy = acceptAll;
    for (const batch of held.splice(0)) await server.ack(DEVICE, { batchId: batch.batchId, accepted: batch.punches.map((punch) => punch.id), rejected: [] });
    await waitFor('every punch acked', async () => (await stateCounts(dbFile())).acked === 95);
    expect(server.batches).toHaveLength(10);
    expect(server.receivedIds().size).toBe(95);
  });

  it('sends a batch again with the same id after the ack time-out; every punch ends acked exactly once', async () => {
    const gw = await startAll({ maxPunches: 50, ackTimeoutSeconds: 0.3 });
    const server = ingest as TestIngest;
    const seen = new Map<string, number>();
    // The first copy of every batch is "lost" (no ack); the second is acked.
    server.policy = (batch) => {
      const copies = (seen.get(batch.batchId) ?? 0) + 1;
      seen.set(batch.batchId, copies);
      return copies === 1 ? 'drop' : acceptAll(batch);
    };
    const ids = await seedPunches(gw.store.outbox, 120);
    gw.uplink?.notify();
    await waitFor('every punch acked', async () => (await stateCounts(dbFile())).acked === 120, 10_000);
    expect([...seen.values()].every((copies) => copies >= 2)).toBe(true);
    const received = server.receivedIds();
    expect(ids.every((id) => (received.get(id) ?? 0) >= 2)).toBe(true);
    // The resent payload is the same batch: same id, same punches.
    const byBatch = new Map<string, string[]>();
    for (const { batch } of server.batches) {
      const punchIds = batch.punches.map((punch) => punch.id).join();
      const before = byBatch.get(batch.batchId);
      if (before) expect(before).toContain(punchIds);
      byBatch.set(batch.batchId, [...(before ?? []), punchIds]);
    }
    const rows = await queryRows<{ id: string; state: string }>(dbFile(), 'SELECT id, state FROM punches ORDER BY seq');
    expect(rows.map((row) => row.id)).toEqual(ids);
    expect(new Set(rows.map((row) => row.state))).toEqual(new Set(['acked']));
    expect((await gw.health()).uplink).toMatchObject({ punchesAcked: 120 });
    const health = await gw.health();
    expect(health.uplink.enabled && health.uplink.resends).toBeGreaterThanOrEqual(3);
  });

  it('keeps rejected punches as rejected with their reason, counts them in status, never resends them', async () => {
    const gw = await startAll({ maxPunches: 20, ackTimeoutSeconds: 0.3 });
    const server = ingest as TestIngest;
    const ids = await seedPunches(gw.store.outbox, 60);
    const refused = new Set([ids[3], ids[25], ids[59]]);
    server.policy = (batch) => ({
      accepted: batch.punches.filter((punch) => !refused.has(punch.id)).map((punch) => punch.id),
      rejected: batch.punches.filter((punch) => refused.has(punch.id)).map((punch) => ({ id: punch.id, reason: 'unknown site mk-01' })),
    });
    gw.uplink?.notify();
    await waitFor('every verdict recorded', async () => (await stateCounts(dbFile())).pending === undefined);
    expect(await stateCounts(dbFile())).toEqual({ acked: 57, rejected: 3 });
    const rejectedRows = await queryRows<{ id: string; reject_reason: string }>(dbFile(), "SELECT id, reject_reason FROM punches WHERE state = 'rejected' ORDER BY seq");
    expect(rejectedRows).toEqual([...refused].map((id) => ({ id, reject_reason: 'unknown site mk-01' })));
    // Long past the ack time-out: nothing is sent again.
    const batchesSoFar = server.batches.length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(server.batches.length).toBe(batchesSoFar);
    expect([...server.receivedIds().values()].every((count) => count === 1)).toBe(true);
    // The status counts them.
    await gw.uplink?.publishStatus();
    await waitFor('a status counting the rejected punches', () => server.statusesOf(DEVICE).some((status) => status.rejected === 3 && status.backlog === 0));
    // A later punch still goes through.
    const [later] = await seedPunches(gw.store.outbox, 1, { offset: 1000 });
    gw.uplink?.notify();
    await waitFor('the later punch acked', async () => (await queryRows<{ state: string }>(dbFile(), 'SELECT state FROM punches WHERE id = ?', [later]))[0]?.state === 'acked');

    // An operator's resync that includes rejected punches (the server side was fixed, a disabled
    // device enabled again), sent as the dashboard sends it: a command with args.
    server.policy = acceptAll;
    await server.publishRaw(DEVICE, 'commands', Buffer.from(JSON.stringify({ requestId: 'r-requeue', command: 'resync', args: { includeRejected: true } })));
    await waitFor('the formerly rejected acked', async () => (await stateCounts(dbFile())).acked === 61);
    expect(await stateCounts(dbFile())).toEqual({ acked: 61 });
  });

  it('rejects locally a stored punch that no longer parses, once, and sends the rest', async () => {
    // No polling: the drain reads the outbox only when notified, so it never sees the rows
    // before they are damaged below.
    const gw = await startAll({ maxPunches: 10 }, 3_600_000);
    const server = ingest as TestIngest;
    server.policy = () => 'drop';
    await waitFor('connected', () => gw.uplink?.connected);
    const ids = await seedPunches(gw.store.outbox, 12);
    await gw.store.db.run("UPDATE punches SET body = '{\"id\": broken' WHERE seq = 3");
    await gw.store.db.run('UPDATE punches SET body = replace(body, ?, ?) WHERE seq = 7', [ids[6] ?? '', ids[0] ?? '']);
    server.policy = acceptAll;
    gw.uplink?.notify();
    await waitFor('every verdict recorded', async () => (await stateCounts(dbFile())).pending === undefined);
    expect(await stateCounts(dbFile())).toEqual({ acked: 10, rejected: 2 });
    const rejected = await queryRows<{ seq: number; reject_reason: string }>(dbFile(), "SELECT seq, reject_reason FROM punches WHERE state = 'rejected' ORDER BY seq");
    expect(rejected.map((row) => row.seq)).toEqual([3, 7]);
    expect(rejected[0]?.reject_reason).toMatch(/^unreadable on the gateway: not JSON/);
    expect(rejected[1]?.reject_reason).toMatch(/carries id/);
    const batches = server.batches.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.batches.length).toBe(batches);
    expect(server.receivedIds().has(ids[2] ?? '')).toBe(false);
  });

  it('ignores an ack for an unknown batch and a malformed ack, and changes nothing', async () => {
    const gw = await startAll({ maxPunches: 10, ackTimeoutSeconds: 30 });
    const server = ingest as TestIngest;
    server.policy = () => 'drop';
    const ids = await seedPunches(gw.store.outbox, 5);
    gw.uplink?.notify();
    await waitFor('the batch at the server', () => server.batches.length === 1);
    const sent = server.batches[0]?.batch as PunchBatch;

    await server.ack(DEVICE, { batchId: '019ab1d2-6f10-7c3e-9a41-2b7d0c5e8f11', accepted: ids, rejected: [] });
    await server.publishRaw(DEVICE, 'acks', Buffer.from('{"batchId":"not-a-uuid","accepted":[]}'));
    await server.publishRaw(DEVICE, 'acks', Buffer.from('\x00\x01 not json'));
    await server.publishRaw(DEVICE, 'acks', Buffer.from(JSON.stringify({ batchId: sent.batchId, accepted: 'all', rejected: [] })));
    await waitFor('four acks ignored', async () => {
      const health = await gw.health();
      return health.uplink.enabled && health.uplink.ignoredAcks === 4;
    });
    expect(await stateCounts(dbFile())).toEqual({ pending: 5 });
    expect((await gw.health()).uplink).toMatchObject({ inFlight: 1, punchesAcked: 0 });

    // The real ack still completes the batch.
    await server.ack(DEVICE, { batchId: sent.batchId, accepted: ids, rejected: [] });
    await waitFor('the batch acked', async () => (await stateCounts(dbFile())).acked === 5);
  });

  it('holds unsynced punches of this boot until the clock syncs; unsynced ones of other boots go as they are', async () => {
    clock.isSynced = false;
    const gw = await startAll({ maxPunches: 10 });
    const server = ingest as TestIngest;
    const oldBoot = await seedPunches(gw.store.outbox, 4, { synced: false, bootId: 'earlier-boot' });
    const thisBoot = await seedPunches(gw.store.outbox, 6, { synced: false, bootId: clock.bootId(), offset: 100 });
    const synced = await seedPunches(gw.store.outbox, 3, { synced: true, bootId: clock.bootId(), offset: 200 });
    gw.uplink?.notify();
    await waitFor('the sendable punches acked', async () => (await stateCounts(dbFile())).acked === 7);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const received = server.receivedIds();
    expect([...oldBoot, ...synced].every((id) => received.has(id))).toBe(true);
    expect(thisBoot.some((id) => received.has(id))).toBe(false);
    expect(await stateCounts(dbFile())).toEqual({ acked: 7, pending: 6 });
    expect((await gw.health()).uplink).toMatchObject({ holding: clock.bootId() });
    // Sent as they were stored: clock.synced false.
    const oldOnWire = server.batches.flatMap(({ batch }) => batch.punches).filter((punch) => oldBoot.includes(punch.id));
    expect(oldOnWire.every((punch) => punch.clock.synced === false)).toBe(true);

    clock.isSynced = true;
    await waitFor('the held punches acked once the hold lifts', async () => (await stateCounts(dbFile())).acked === 13, 10_000);
    expect(thisBoot.every((id) => server.receivedIds().get(id) === 1)).toBe(true);
  });

  it('publishes a punch committed while connected well within a second', async () => {
    const gw = await startAll();
    const server = ingest as TestIngest;
    await waitFor('connected', () => gw.uplink?.connected);
    const latencies: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      const before = server.batches.length;
      const started = performance.now();
      const outcome = await gw.desk.submit({ readerId: 'door', read: { kind: 'em4100', uid: `00${(0xabc0 + index).toString(16).toUpperCase()}00` } });
      expect(outcome.punch).toBeDefined();
      await waitFor('the punch at the broker', () => server.batches.length > before && server.batches.at(-1)?.batch.punches.some((punch) => punch.id === outcome.punch?.id), 10_000);
      latencies.push(performance.now() - started);
    }
    expect(Math.max(...latencies)).toBeLessThan(500);
  });

  it('subscribes to config and commands and hands their payloads to the handlers, and replies on replies', async () => {
    const gw = await startAll();
    const server = ingest as TestIngest;
    const configs: string[] = [];
    const commands: string[] = [];
    gw.uplink?.onConfig((payload) => {
      configs.push(payload.toString());
    });
    // The gateway's own command handler (gateway/main.ts) answers; this one only watches.
    gw.uplink?.onCommand((payload) => {
      commands.push(payload.toString());
    });
    await waitFor('connected', () => gw.uplink?.connected);
    const replies: string[] = [];
    const { connectAsync } = await import('mqtt');
    const watcher = await connectAsync((broker as TestBroker).url, { clientId: 'reply-watcher' });
    watcher.on('message', (_topic, payload) => replies.push(payload.toString()));
    await watcher.subscribeAsync(deviceTopic(DEVICE, 'replies'), { qos: 1 });
    await server.publishRaw(DEVICE, 'config', Buffer.from('{"version":1}'), true);
    await server.publishRaw(DEVICE, 'commands', Buffer.from('{"requestId":"r-1","command":"resync"}'));
    await waitFor('both handled and replied', () => configs.length === 1 && commands.length === 1 && replies.length === 1);
    expect(configs[0]).toBe('{"version":1}');
    expect(JSON.parse(replies[0] ?? '')).toEqual({ requestId: 'r-1', ok: true, result: { pending: 0, requeued: 0 } });
    // The gateway's config applier saw the same payload and refused it (no site, no roster).
    await waitFor('the refusal', async () => (await gw.health()).config.error !== null);
    await watcher.endAsync(true);
  });
});
