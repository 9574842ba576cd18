import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rowsOf } from '../support/sqlite-rows.js';
import { ChaosBench, centralView, freePort, gatewayView, holds, invariant, killNow, noProblems, sleep, untilDrained } from '../support/chaos.js';

/*
 * Chaos 1: kill -9 of the gateway, then of the dashboard (embedded broker), in the middle of a
 * stream of distinct cards tapped on a simulated bridge reader (4 taps in flight), each restarted
 * on the same data dir (and the dashboard on the same MQTT port). After the outbox has drained, the
 * central database holds exactly the punches the gateway committed, each once, and every tap told
 * 'accepted' is in both.
 *
 * 5,000 taps per test, as the issue asks (about 15-25 s each on this 2-core machine);
 * PUNCHGATE_CHAOS_PUNCHES overrides.
 */

const PUNCHES = Number(process.env.PUNCHGATE_CHAOS_PUNCHES ?? 5000);
const DEVICE = 'gw-chaos';
let bench: ChaosBench | undefined;

afterEach(async () => {
  await bench?.destroy();
  bench = undefined;
});

async function setUp(): Promise<{ bench: ChaosBench; mqttPort: number; dashboardDir: string; gatewayDir: string; gatewayConfig: string; startDashboard: () => ReturnType<ChaosBench['startDashboard']> }> {
  const b = await ChaosBench.create(PUNCHES);
  bench = b;
  const mqttPort = await freePort();
  const dashboardDir = path.join(b.dir, 'dashboard');
  const gatewayDir = path.join(b.dir, 'gateway');
  const startDashboard = (): ReturnType<ChaosBench['startDashboard']> => b.startDashboard({ dataDir: dashboardDir, mqtt: { mode: 'embedded', port: mqttPort } });
  const dashboard = await startDashboard();
  const secret = await b.register(dashboard.url, dashboard.apiToken, DEVICE);
  const gatewayConfig = await b.gatewayConfig({
    deviceId: DEVICE,
    dataDir: gatewayDir,
    mqtt: { url: `mqtt://127.0.0.1:${mqttPort}`, password: secret, batch: { ackTimeoutSeconds: 1, maxPunches: 100 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.5 } },
  });
  return { bench: b, mqttPort, dashboardDir, gatewayDir, gatewayConfig, startDashboard };
}

/** Rows not yet acked by the server, read from the gateway's file. */
async function pending(gatewayDir: string): Promise<number> {
  const [row] = await rowsOf(path.join(gatewayDir, 'gateway.sqlite'), "SELECT count(*) AS n FROM punches WHERE state = 'pending'");
  return Number(row?.n ?? 0);
}

async function settleAndCheck(b: ChaosBench, gatewayDir: string, dashboardDir: string, started: number, label: string): Promise<void> {
  const stream = b.stream!;
  await stream.untilDone(60_000);
  const gatewayDb = path.join(gatewayDir, 'gateway.sqlite');
  await untilDrained(gatewayDb, 30_000);
  const report = invariant(await gatewayView(gatewayDb), await centralView(path.join(dashboardDir, 'dashboard.sqlite')), stream);
  console.log(
    `${label}: ${stream.tapped} taps, feedback ${JSON.stringify(Object.fromEntries(stream.kinds))}, ${report.committed} committed at the gateway, ` +
      `${report.central} centrally, ${report.acked} accepted; ${Date.now() - started} ms`,
  );
  expect(holds(report)).toEqual(noProblems);
  expect(report.committed).toBeGreaterThanOrEqual(report.acked);
  expect(report.acked + (stream.kinds.get('unknown') ?? 0), 'most taps must have been answered').toBeGreaterThan(PUNCHES * 0.9);
}

describe('chaos: kill -9 mid-stream', () => {
  it(`kill -9 of the gateway twice mid-stream, restarted each time: the central DB holds each committed punch once (${PUNCHES} taps)`, async () => {
    const started = Date.now();
    const { bench: b, gatewayDir, dashboardDir, gatewayConfig } = await setUp();
    const stream = await b.startReader();
    let gateway = await b.startGateway(gatewayConfig);
    stream.start();
    const pendingAtKill: number[] = [];
    for (const fraction of [0.3, 0.65]) {
      await stream.untilTapped(Math.floor(PUNCHES * fraction));
      await killNow(gateway.child);
      pendingAtKill.push(await pending(gatewayDir));
      await sleep(200);
      gateway = await b.startGateway(gatewayConfig);
    }
    console.log(`gateway kill -9: unacked rows at each kill: ${pendingAtKill.join(', ')}`);
    expect(Math.max(...pendingAtKill), 'a kill must leave punches not yet acked, to be sent after the restart').toBeGreaterThan(0);
    await settleAndCheck(b, gatewayDir, dashboardDir, started, 'gateway kill -9');
  }, 60_000);

  it(`kill -9 of the dashboard (embedded broker) mid-stream, restarted on the same port: the gateway reconnects and drains (${PUNCHES} taps)`, async () => {
    const started = Date.now();
    const { bench: b, gatewayDir, dashboardDir, gatewayConfig, startDashboard } = await setUp();
    const stream = await b.startReader();
    await b.startGateway(gatewayConfig);
    stream.start();
    const backlogWhileDown: number[] = [];
    for (const fraction of [0.3, 0.65]) {
      await stream.untilTapped(Math.floor(PUNCHES * fraction));
      await Promise.all([...b.children].filter((child) => child.spawnargs.includes('dashboard')).map((child) => killNow(child)));
      await sleep(700);
      backlogWhileDown.push(await pending(gatewayDir));
      await startDashboard();
    }
    console.log(`dashboard kill -9: the gateway's backlog while the dashboard was down: ${backlogWhileDown.join(', ')}`);
    expect(Math.min(...backlogWhileDown), 'taps go on while the dashboard is down, so a backlog builds').toBeGreaterThan(0);
    await settleAndCheck(b, gatewayDir, dashboardDir, started, 'dashboard kill -9');
  }, 60_000);
});
