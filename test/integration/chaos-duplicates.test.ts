import { randomUUID } from 'node:crypto';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { PunchAck, type PunchBatch } from '../../core/messages.js';
import type { Punch } from '../../core/punch.js';
import { deviceTopic } from '../../core/topics.js';
import { ChaosBench, centralView, describeRun, freePort, gatewayView, holds, invariant, killNow, noProblems, untilDrained } from '../support/chaos.js';
import { prng } from '../support/prng.js';
import { rowsOf } from '../support/sqlite-rows.js';
import { waitFor } from '../support/wait.js';

/*
 * Chaos 4: duplicated and re-ordered deliveries. A gateway with its uplink off records a stream of
 * distinct cards; then a test client logged in as that device (its real credentials, on the
 * dashboard's embedded broker) publishes the committed punches, read from the outbox bodies, as
 * PunchBatches that overlap (each punch in two or more batches), some re-sent with the same
 * batchId, all in a shuffled order (seeded PRNG). Every batch gets an ack listing all its punches,
 * and the central database holds each punch once. Then the gateway comes back with its uplink on
 * and sends its whole outbox again: the server acks it all (idempotent acks) and the invariant holds.
 * 5,000 taps (PUNCHGATE_CHAOS_PUNCHES overrides).
 */

const PUNCHES = Number(process.env.PUNCHGATE_CHAOS_PUNCHES ?? 5000);
const SEED = Number(process.env.PUNCHGATE_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const DEVICE = 'gw-chaos-dup';
console.log(`chaos-duplicates: seed ${SEED} (replay with PUNCHGATE_CHAOS_SEED=${SEED})`);

let bench: ChaosBench | undefined;
let client: mqtt.MqttClient | undefined;

afterEach(async () => {
  await client?.endAsync(true);
  await bench?.destroy();
  client = undefined;
  bench = undefined;
});

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Cuts `items` into chunks of 1..max. */
function chunks<T>(items: T[], max: number, random: () => number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < items.length; ) {
    const size = 1 + Math.floor(random() * max);
    out.push(items.slice(at, at + size));
    at += size;
  }
  return out;
}

describe('chaos: duplicated and re-ordered batches', () => {
  it(`overlapping, re-sent and shuffled PunchBatches: every batch acked, each punch stored once (${PUNCHES} taps)`, async () => {
    const started = Date.now();
    const random = prng(SEED);
    const b = await ChaosBench.create(PUNCHES);
    bench = b;
    const mqttPort = await freePort();
    const dashboardDir = path.join(b.dir, 'dashboard');
    const gatewayDir = path.join(b.dir, 'gateway');
    const gatewayDb = path.join(gatewayDir, 'gateway.sqlite');
    const dashboard = await b.startDashboard({ dataDir: dashboardDir, mqtt: { mode: 'embedded', port: mqttPort } });
    const secret = await b.register(dashboard.url, dashboard.apiToken, DEVICE);

    // The gateway records with its uplink off.
    const offline = await b.gatewayConfig({ deviceId: DEVICE, dataDir: gatewayDir });
    const stream = await b.startReader();
    const gateway = await b.startGateway(offline);
    stream.start();
    await stream.untilDone(60_000);
    await killNow(gateway.child);
    const punches = (await rowsOf(gatewayDb, 'SELECT body FROM punches ORDER BY seq')).map((row) => JSON.parse(String(row.body)) as Punch);
    expect(punches.length).toBeGreaterThan(PUNCHES * 0.9);

    // Two overlapping partitions, then some batches re-sent under the same batchId, all shuffled.
    const batches: PunchBatch[] = [...chunks(shuffle(punches, random), 150, random), ...chunks(shuffle(punches, random), 150, random)].map((group) => ({
      batchId: randomUUID(),
      deviceId: DEVICE,
      punches: group,
    }));
    const resent = batches.filter(() => random() < 0.3);
    const publications = shuffle([...batches, ...resent], random);

    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: DEVICE, username: DEVICE, password: secret, protocolVersion: 4, reconnectPeriod: 0, clean: true });
    const acks = new Map<string, PunchAck[]>();
    client.on('message', (_topic, payload) => {
      const ack = PunchAck.parse(JSON.parse(payload.toString()));
      acks.set(ack.batchId, [...(acks.get(ack.batchId) ?? []), ack]);
    });
    await client.subscribeAsync(deviceTopic(DEVICE, 'acks'), { qos: 1 });
    const mqttClient = client;
    await Promise.all(publications.map((batch) => mqttClient.publishAsync(deviceTopic(DEVICE, 'punches'), JSON.stringify(batch), { qos: 1 })));
    await waitFor(`an ack for each of ${batches.length} batches (have ${acks.size})`, () => acks.size === batches.length, 30_000);
    await waitFor(`an ack for each of ${publications.length} publications`, () => [...acks.values()].reduce((sum, list) => sum + list.length, 0) === publications.length, 10_000);
    const badAcks = batches.flatMap((batch) =>
      (acks.get(batch.batchId) ?? []).flatMap((ack) =>
        ack.rejected.length > 0 || [...ack.accepted].sort().join() !== batch.punches.map((punch) => punch.id).sort().join() ? [{ batchId: batch.batchId, ack }] : [],
      ),
    );
    expect(badAcks, 'every ack lists exactly its batch as accepted').toEqual([]);
    await client.endAsync();
    client = undefined;

    const centralDb = path.join(dashboardDir, 'dashboard.sqlite');
    const afterReplay = await centralView(centralDb);
    expect(afterReplay.rows).toBe(punches.length);
    expect(new Set(afterReplay.ids.keys())).toEqual(new Set(punches.map((punch) => punch.id)));

    // The gateway comes back with its uplink on: it sends its whole outbox again, and everything is acked.
    const online = await b.gatewayConfig({
      deviceId: DEVICE,
      dataDir: gatewayDir,
      mqtt: { url: `mqtt://127.0.0.1:${mqttPort}`, password: secret, batch: { ackTimeoutSeconds: 1 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.5 } },
    });
    await b.startGateway(online);
    await untilDrained(gatewayDb, 30_000);
    const report = invariant(await gatewayView(gatewayDb), await centralView(centralDb), stream);
    console.log(describeRun('duplicates', stream, report, started, `, ${batches.length} batches published ${publications.length} times (${publications.reduce((sum, batch) => sum + batch.punches.length, 0)} punch copies)`));
    expect(holds(report)).toEqual(noProblems);
  }, 60_000);
});
