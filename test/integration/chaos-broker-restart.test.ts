import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newDeviceSecret } from '../../provisioning/device-secrets.js';
import { mosquittoAclFile } from '../../provisioning/mosquitto.js';
import { ChaosBench, centralView, gatewayView, holds, invariant, noProblems, registerOffline, sleep, untilDrained } from '../support/chaos.js';
import { MosquittoBroker } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/*
 * Chaos 2: the external broker (a real Mosquitto with the provisioning ACL) goes away for a while
 * in the middle of a stream of distinct cards, twice (once SIGTERM, once SIGKILL), and comes back
 * on the same port. The dashboard (external mode, a child process) must reconnect by itself and
 * resubscribe; the gateway reconnects and drains. Then the central database holds exactly the
 * punches the gateway committed, each once, and every tap told 'accepted' is in both.
 * 5,000 taps (PUNCHGATE_CHAOS_PUNCHES overrides).
 */

const PUNCHES = Number(process.env.PUNCHGATE_CHAOS_PUNCHES ?? 5000);
const DEVICE = 'gw-chaos-mq';
const OUTAGE_MS = 2000;
let bench: ChaosBench | undefined;
let broker: MosquittoBroker | undefined;

afterEach(async () => {
  await bench?.destroy();
  await broker?.stop();
  bench = undefined;
  broker = undefined;
});

describe('chaos: the external broker stops mid-stream', () => {
  it(`Mosquitto stopped for ${OUTAGE_MS} ms twice and restarted on the same port: the dashboard reconnects, the gateway drains, each punch once (${PUNCHES} taps)`, async () => {
    const started = Date.now();
    const b = await ChaosBench.create(PUNCHES);
    bench = b;
    const dashboardPassword = newDeviceSecret();
    const secret = newDeviceSecret();
    broker = await MosquittoBroker.start({ acl: mosquittoAclFile({ dashboardUsername: 'dashboard' }), users: { dashboard: dashboardPassword, [DEVICE]: secret } });
    const dashboardDir = path.join(b.dir, 'dashboard');
    const gatewayDir = path.join(b.dir, 'gateway');
    await registerOffline(dashboardDir, DEVICE, secret);
    const dashboard = await b.startDashboard({ dataDir: dashboardDir, mqtt: { mode: 'external', url: broker.url, username: 'dashboard', password: dashboardPassword } });
    const mqttConnected = async (): Promise<boolean> => ((await (await fetch(`${dashboard.url}/health`)).json()) as { mqttConnected: boolean }).mqttConnected;
    const gatewayConfig = await b.gatewayConfig({
      deviceId: DEVICE,
      dataDir: gatewayDir,
      mqtt: { url: broker.url, password: secret, batch: { ackTimeoutSeconds: 1, maxPunches: 100 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.5 } },
    });
    const stream = await b.startReader();
    await b.startGateway(gatewayConfig);
    stream.start();

    for (const [fraction, hard] of [[0.3, false], [0.65, true]] as const) {
      await stream.untilTapped(Math.floor(PUNCHES * fraction));
      await broker.halt(hard);
      await waitFor('the dashboard to notice the broker is gone', async () => !(await mqttConnected()), 10_000);
      await sleep(OUTAGE_MS);
      await broker.restart();
      await waitFor('the dashboard to reconnect by itself', () => mqttConnected(), 10_000);
    }

    await stream.untilDone(60_000);
    const gatewayDb = path.join(gatewayDir, 'gateway.sqlite');
    await untilDrained(gatewayDb, 30_000);
    const report = invariant(await gatewayView(gatewayDb), await centralView(path.join(dashboardDir, 'dashboard.sqlite')), stream);
    console.log(
      `broker restart: ${stream.tapped} taps, feedback ${JSON.stringify(Object.fromEntries(stream.kinds))}, ${report.committed} committed at the gateway, ` +
        `${report.central} centrally, ${report.acked} accepted; ${Date.now() - started} ms`,
    );
    expect(holds(report)).toEqual(noProblems);
    expect(report.acked + (stream.kinds.get('unknown') ?? 0), 'most taps must have been answered').toBeGreaterThan(PUNCHES * 0.9);
  }, 60_000);
});
