import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChaosBench, centralView, describeRun, freePort, gatewayView, holds, invariant, noProblems, sleep, untilDrained } from '../support/chaos.js';
import { LoopDisk } from '../support/loop-disk.js';
import { prng } from '../support/prng.js';
import { rowsOf } from '../support/sqlite-rows.js';

/*
 * Chaos 5: power cuts with the uplink running (see ../shared/TESTING.md: ext4 in a loop device,
 * EXT4_IOC_SHUTDOWN without log flush, SIGKILL, remount = reboot).
 *
 * - The gateway's data dir is on the disk: its power is cut 1-3 s into a stream of distinct cards
 *   while batches and acks are in flight, then it reboots and the stream goes on. Every tap told
 *   'accepted' survives, and the central database holds exactly the punches the gateway holds
 *   (a punch uploaded before it was durable at the gateway would show up centrally only).
 * - The dashboard's data dir is on the disk (child process, embedded broker): its power is cut
 *   mid-stream. Every punch the gateway had been sent an ack for before the cut must be in the
 *   central database after the reboot (an ack is sent only after the commit); after the dashboard
 *   restarts on the same port the gateway re-sends what was not acked, and the invariant holds.
 *   Must-fail control: the same cut with the dashboard under libeatmydata (fsync a no-op) must lose
 *   acked punches, or the check has stopped testing.
 * 5,000 taps per test (PUNCHGATE_CHAOS_PUNCHES overrides). Needs root, as durability-power-cut.
 */

const PUNCHES = Number(process.env.PUNCHGATE_CHAOS_PUNCHES ?? 5000);
const SEED = Number(process.env.PUNCHGATE_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CUT_AFTER_MS = { min: 1000, max: 3000 };
console.log(`chaos-power-cut: seed ${SEED} (replay with PUNCHGATE_CHAOS_SEED=${SEED})`);
const random = prng(SEED);
const cutAfter = (): number => Math.round(CUT_AFTER_MS.min + random() * (CUT_AFTER_MS.max - CUT_AFTER_MS.min));

let bench: ChaosBench | undefined;
let disk: LoopDisk | undefined;

afterEach(async () => {
  // Children first (they hold files on the disk), then the disk.
  await bench?.destroy();
  await disk?.destroy();
  bench = undefined;
  disk = undefined;
});

describe('chaos: power cuts with the uplink running', () => {
  it(`the gateway's disk loses power mid-stream, reboots and goes on: each committed punch centrally once (${PUNCHES} taps)`, async () => {
    const started = Date.now();
    const b = await ChaosBench.create(PUNCHES);
    bench = b;
    disk = await LoopDisk.create();
    const mqttPort = await freePort();
    const dashboardDir = path.join(b.dir, 'dashboard');
    const gatewayDir = path.join(disk.mount, 'data');
    const gatewayDb = path.join(gatewayDir, 'gateway.sqlite');
    const dashboard = await b.startDashboard({ dataDir: dashboardDir, mqtt: { mode: 'embedded', port: mqttPort } });
    const secret = await b.register(dashboard.url, dashboard.apiToken, 'gw-chaos-pwr');
    const gatewayConfig = await b.gatewayConfig({
      deviceId: 'gw-chaos-pwr',
      dataDir: gatewayDir,
      mqtt: { url: `mqtt://127.0.0.1:${mqttPort}`, password: secret, batch: { ackTimeoutSeconds: 1, maxPunches: 100 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.5 } },
    });
    const stream = await b.startReader();
    disk.track((await b.startGateway(gatewayConfig)).child);
    await disk.sync();
    stream.start();
    const cutMs = cutAfter();
    await sleep(cutMs);

    await disk.powerCut();
    await disk.killTracked();
    const beforeCut = { tapped: stream.tapped, acked: stream.acked.size };
    await disk.remount();
    disk.track((await b.startGateway(gatewayConfig)).child);

    await stream.untilDone(60_000);
    await untilDrained(gatewayDb, 30_000);
    const report = invariant(await gatewayView(gatewayDb), await centralView(path.join(dashboardDir, 'dashboard.sqlite')), stream);
    console.log(describeRun('gateway power cut', stream, report, started, `; cut ${cutMs} ms in, at ${beforeCut.tapped} taps / ${beforeCut.acked} accepted`));
    expect(beforeCut.acked, 'the cut must come after some acknowledged taps').toBeGreaterThan(50);
    expect(holds(report)).toEqual(noProblems);
    expect(report.acked + (stream.kinds.get('unknown') ?? 0)).toBeGreaterThan(PUNCHES * 0.9);
  }, 60_000);

  it(`the dashboard's disk loses power mid-stream: every punch acked to the gateway survives, the rest is re-sent (${PUNCHES} taps)`, async () => {
    const trial = await dashboardPowerCut('fsync');
    expect(trial.ackedBeforeCut, 'the cut must come after some acks').toBeGreaterThan(50);
    expect(trial.lost, 'punches acknowledged to the gateway must survive a power cut of the central database').toEqual([]);
    await trial.finish();
  }, 60_000);

  it('must-fail control: the same cut with the dashboard under libeatmydata (no fsync) loses punches acked to the gateway', async () => {
    const trial = await dashboardPowerCut('eatmydata');
    expect(trial.ackedBeforeCut, 'the cut must come after some acks').toBeGreaterThan(50);
    expect(trial.lost.length, 'without fsync the cut must lose acked punches; if it does not, the test above has stopped testing').toBeGreaterThan(0);
  }, 60_000);
});

function libEatMyData(): string {
  const found = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'].map((dir) => path.join(dir, 'libeatmydata.so')).find((file) => existsSync(file));
  if (!found) throw new Error('the must-fail control needs libeatmydata.so (Debian package eatmydata)');
  return found;
}

/** Streams taps through a gateway to a dashboard whose data dir is on the loop disk, and cuts that disk's power. */
async function dashboardPowerCut(mode: 'fsync' | 'eatmydata'): Promise<{ ackedBeforeCut: number; lost: string[]; finish: () => Promise<void> }> {
  const started = Date.now();
  const b = await ChaosBench.create(PUNCHES);
  bench = b;
  const d = await LoopDisk.create();
  disk = d;
  const mqttPort = await freePort();
  const dashboardDir = path.join(d.mount, 'dashboard');
  const centralDb = path.join(dashboardDir, 'dashboard.sqlite');
  const gatewayDir = path.join(b.dir, 'gateway');
  const gatewayDb = path.join(gatewayDir, 'gateway.sqlite');
  const env = mode === 'eatmydata' ? { LD_PRELOAD: libEatMyData() } : undefined;
  const startDashboard = async (): Promise<{ url: string; apiToken: string }> => {
    const dashboard = await b.startDashboard({ dataDir: dashboardDir, mqtt: { mode: 'embedded', port: mqttPort }, ...(env ? { env } : {}) });
    d.track(dashboard.child);
    return dashboard;
  };
  const first = await startDashboard();
  const deviceId = 'gw-chaos-dpwr';
  const secret = await b.register(first.url, first.apiToken, deviceId);
  const gatewayConfig = await b.gatewayConfig({
    deviceId,
    dataDir: gatewayDir,
    mqtt: { url: `mqtt://127.0.0.1:${mqttPort}`, password: secret, batch: { ackTimeoutSeconds: 1, maxPunches: 100 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.5 } },
  });
  const stream = await b.startReader();
  await b.startGateway(gatewayConfig);
  await d.sync();
  stream.start();
  const cutMs = cutAfter();
  await sleep(cutMs);

  await d.powerCut();
  await d.killTracked();
  // The broker died with the dashboard: no ack can reach the gateway from now on. Let it finish
  // marking the acks it already received, then note which punches it holds as acked.
  await sleep(500);
  const acked = (await rowsOf(gatewayDb, "SELECT id FROM punches WHERE state = 'acked'")).map((row) => String(row.id));
  await d.remount();
  const survived = await centralView(centralDb).catch(() => ({ ids: new Map<string, string>(), rows: 0 }));
  const lost = acked.filter((id) => !survived.ids.has(id));
  console.log(`dashboard power cut (${mode}) ${cutMs} ms in: ${acked.length} punches acked to the gateway before the cut, ${survived.ids.size} in the central DB after the reboot, ${lost.length} acked ones lost`);
  return {
    ackedBeforeCut: acked.length,
    lost,
    async finish() {
      await startDashboard();
      await stream.untilDone(60_000);
      await untilDrained(gatewayDb, 30_000);
      const report = invariant(await gatewayView(gatewayDb), await centralView(centralDb), stream);
      console.log(describeRun('dashboard power cut', stream, report, started));
      expect(holds(report)).toEqual(noProblems);
      expect(report.acked + (stream.kinds.get('unknown') ?? 0)).toBeGreaterThan(PUNCHES * 0.9);
    },
  };
}
