import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChaosBench, centralView, freePort, gatewayView, holds, invariant, noProblems, untilDrained } from '../support/chaos.js';
import { prng } from '../support/prng.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/*
 * Chaos 3: network flapping. A TCP proxy between the gateway and the dashboard's embedded broker
 * cuts every connection every 300-700 ms (seeded PRNG) for the whole stream of distinct cards, so
 * batches and acks are lost mid-flight again and again. After the flapping stops and the outbox has
 * drained, the central database holds exactly the punches the gateway committed, each once.
 * 5,000 taps (PUNCHGATE_CHAOS_PUNCHES overrides).
 */

const PUNCHES = Number(process.env.PUNCHGATE_CHAOS_PUNCHES ?? 5000);
const SEED = Number(process.env.PUNCHGATE_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const DEVICE = 'gw-chaos-net';
console.log(`chaos-network-flap: seed ${SEED} (replay with PUNCHGATE_CHAOS_SEED=${SEED})`);

let bench: ChaosBench | undefined;
let proxy: TcpProxy | undefined;

afterEach(async () => {
  await proxy?.stop();
  await bench?.destroy();
  proxy = undefined;
  bench = undefined;
});

describe('chaos: a flapping network between gateway and broker', () => {
  it(`every connection cut every 300-700 ms during the stream: each committed punch centrally once (${PUNCHES} taps)`, async () => {
    const started = Date.now();
    const b = await ChaosBench.create(PUNCHES);
    bench = b;
    const mqttPort = await freePort();
    const dashboardDir = path.join(b.dir, 'dashboard');
    const gatewayDir = path.join(b.dir, 'gateway');
    const dashboard = await b.startDashboard({ dataDir: dashboardDir, mqtt: { mode: 'embedded', port: mqttPort } });
    const secret = await b.register(dashboard.url, dashboard.apiToken, DEVICE);
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: mqttPort });
    const gatewayConfig = await b.gatewayConfig({
      deviceId: DEVICE,
      dataDir: gatewayDir,
      mqtt: { url: proxy.url, password: secret, batch: { ackTimeoutSeconds: 1, maxPunches: 100 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
    });
    const stream = await b.startReader();
    await b.startGateway(gatewayConfig);
    proxy.flap(prng(SEED), 300, 700);
    stream.start();
    await stream.untilDone(60_000);
    proxy.stopFlapping();
    const cuts = proxy.cuts;

    const gatewayDb = path.join(gatewayDir, 'gateway.sqlite');
    await untilDrained(gatewayDb, 30_000);
    const report = invariant(await gatewayView(gatewayDb), await centralView(path.join(dashboardDir, 'dashboard.sqlite')), stream);
    console.log(
      `network flap: ${stream.tapped} taps, ${cuts} cuts, ${proxy.connections} connections, feedback ${JSON.stringify(Object.fromEntries(stream.kinds))}, ` +
        `${report.committed} committed at the gateway, ${report.central} centrally, ${report.acked} accepted; ${Date.now() - started} ms`,
    );
    expect(cuts, 'the network must have flapped during the stream').toBeGreaterThanOrEqual(5);
    expect(holds(report)).toEqual(noProblems);
    expect(report.acked + (stream.kinds.get('unknown') ?? 0), 'most taps must have been answered').toBeGreaterThan(PUNCHES * 0.9);
  }, 60_000);
});
