import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WifiScanner, type WifiScanFailure, type WifiScannerOptions } from '../../gateway/presence/wifi-scanner.js';
import { WifiSiteCheck, WifiSiteStatusSchema, type WifiSiteCheckOptions, type WifiSiteStatus } from '../../gateway/presence/wifi-site-check.js';
import { fakeNmcliEnv, readFakeNmcliLog, setFakeNmcli, type FakeNmcliSettings } from '../support/fake-nmcli/index.js';
import { testLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

/*
 * The scanner through node-wifi's real code: node-wifi spawns `nmcli` from the PATH in the
 * scanner's `env`, where the fake (test/support/fake-nmcli/nmcli) prints a recorded terse scan or
 * fails like nmcli; node-wifi parses it; the scanner validates it; the site check scores it.
 */

const SCAN_ARGS = '--terse --fields active,ssid,bssid,mode,chan,freq,signal,security,wpa-flags,rsn-flags device wifi list ifname wlan0';
// The Mong Kok shop's APs, written the ways a facilities team might paste them into the config.
const EXPECTED = ['7c-8b-ca-21-4e-10', '7C:8B:CA:21:4E:11', '7c:8b:ca:21:4e:12'];

let workDir: string;
let logSeq = 0;
const scanners: WifiScanner[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'punchgate-wifi-'));
});

afterEach(async () => {
  await Promise.all(scanners.splice(0).map((scanner) => scanner.stop()));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function logFile(): string {
  logSeq += 1;
  return path.join(workDir, `nmcli-${logSeq}.log`);
}

interface Rig {
  scanner: WifiScanner;
  env: Record<string, string | undefined>;
  use(settings: FakeNmcliSettings): void;
  failures: WifiScanFailure[];
  alarms: Array<'raised' | 'cleared'>;
  statuses: WifiSiteStatus[];
}

function rig(fake: FakeNmcliSettings, site: Partial<WifiSiteCheckOptions> = {}, options: Partial<WifiScannerOptions> = {}): Rig {
  const logger = options.logger ?? testLogger();
  const env = fakeNmcliEnv(fake);
  const siteCheck = new WifiSiteCheck({ expectedBssids: EXPECTED, raiseAfterScans: 3, clearAfterScans: 2, logger, ...site });
  const scanner = new WifiScanner({ logger, iface: 'wlan0', intervalMs: 60_000, timeoutMs: 5000, siteCheck, env, ...options });
  scanners.push(scanner);
  const result: Rig = {
    scanner,
    env,
    use: (settings) => setFakeNmcli(env, { log: env.FAKE_NMCLI_LOG, ...settings }),
    failures: [],
    alarms: [],
    statuses: [],
  };
  scanner.on('failure', (failure) => result.failures.push(failure));
  scanner.on('alarm', ({ change }) => result.alarms.push(change));
  scanner.on('status', (status) => result.statuses.push(WifiSiteStatusSchema.parse(status)));
  return result;
}

function capturingLogger(): { logger: Logger; records: Array<{ level: number; msg: string; [key: string]: unknown }> } {
  const records: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => records.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, records };
}

describe('WifiScanner with node-wifi and a fake nmcli', () => {
  // First in the file, so that this test is the one that loads node-wifi into the worker.
  it('puts back the locale node-wifi sets on the process when loaded, and gives it to nmcli only', async () => {
    const saved = { LANG: process.env.LANG, LC_ALL: process.env.LC_ALL, LC_MESSAGES: process.env.LC_MESSAGES, PATH: process.env.PATH };
    process.env.LANG = 'zh_HK.UTF-8';
    delete process.env.LC_ALL;
    delete process.env.LC_MESSAGES;
    try {
      const log = logFile();
      const { scanner } = rig({ fixture: 'mongkok-shop.txt', log });
      expect((await scanner.scanNow()).state).toBe('ok');
      expect(process.env.LANG).toBe('zh_HK.UTF-8');
      expect(process.env.LC_ALL).toBeUndefined();
      expect(process.env.LC_MESSAGES).toBeUndefined();
      // The fake's folder was on nmcli's PATH only.
      expect(process.env.PATH).toBe(saved.PATH);
      const calls = readFakeNmcliLog(log);
      expect(calls[0]).toMatchObject({ event: 'start', lcAll: 'en_US.UTF-8', args: SCAN_ARGS });
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('reads the recorded Mong Kok scan: validated networks, hidden SSIDs, quality not dBm, the colon SSID dropped', async () => {
    const { logger, records } = capturingLogger();
    const { scanner } = rig({ fixture: 'mongkok-shop.txt' }, {}, { logger });
    const status = await scanner.scanNow();
    expect(status).toMatchObject({ state: 'ok', score: 1, seenExpected: 3, expected: 3, alarm: false });
    expect(Date.parse(status.lastScanAt ?? '')).not.toBeNaN();

    const scan = scanner.lastScan();
    expect(scan?.at).toBe(status.lastScanAt);
    // 16 lines: 15 networks, and "Kam Wah Cafe:Guest", which node-wifi split at its colon.
    expect(scan?.networks).toHaveLength(15);
    expect(scan?.networks[0]).toEqual({
      bssid: '7C:8B:CA:21:4E:10',
      ssid: 'PG-MK-Staff',
      quality: 92,
      channel: 6,
      frequencyMhz: 2437,
      mode: 'Infra',
      security: 'WPA2',
    });
    const byBssid = new Map(scan?.networks.map((network) => [network.bssid, network]));
    expect(byBssid.get('7C:8B:CA:21:4E:12')).toMatchObject({ ssid: null, quality: 90 });
    expect(byBssid.get('B0:BE:76:55:12:9A')).toMatchObject({ ssid: null, channel: 157, frequencyMhz: 5785 });
    expect(byBssid.get('E0:CB:BC:4A:77:01')).toMatchObject({ ssid: 'Wi-Fi.HK via CSL', security: 'none' });
    expect(byBssid.get('E0:CB:BC:4A:77:02')).toMatchObject({ security: 'WPA2 802.1X' });
    expect(byBssid.get('D8:07:B6:11:20:4F')?.ssid).toBe('Ah Wing\\Home');
    expect(byBssid.get('3C:52:A1:09:6D:E3')?.ssid).toBe("Mak's Noodle");
    expect(byBssid.has('5C:A6:E6:7E:01:B4')).toBe(false);
    for (const network of scan?.networks ?? []) {
      expect(network.quality).toBeGreaterThanOrEqual(0);
      expect(network.quality).toBeLessThanOrEqual(100);
      expect(network).not.toHaveProperty('signal_level');
    }
    expect(scan?.garbled).toEqual([{ bssid: '5C:A6:E6:7E:01:B4', ssid: 'Kam Wah Cafe\\', why: expect.stringMatching(/half an escape/) }]);
    expect(records.some((record) => record.level === 20 && /mis-parsed/.test(record.msg) && record.bssid === '5C:A6:E6:7E:01:B4')).toBe(true);
  });

  it('raises the moved-terminal alarm after N bad scans at another site and clears it after M good ones', async () => {
    const r = rig({ fixture: 'mongkok-shop.txt' });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 1, alarm: false });

    // The gateway is carried to the Tsim Sha Tsui shop.
    r.use({ fixture: 'tsimshatsui-shop.txt' });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 0, seenExpected: 0, alarm: false });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 0, alarm: false });
    expect(r.alarms).toEqual([]);
    const third = await r.scanner.scanNow();
    expect(third).toMatchObject({ state: 'ok', score: 0, alarm: true });
    expect(third.reason).toMatch(/terminal may have been moved/);
    expect(r.alarms).toEqual(['raised']);
    expect(await r.scanner.scanNow()).toMatchObject({ alarm: true });
    expect(r.alarms).toEqual(['raised']);

    // Back at the shop: one good scan is not enough.
    r.use({ fixture: 'mongkok-shop.txt' });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 1, alarm: true });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 1, alarm: false });
    expect(r.alarms).toEqual(['raised', 'cleared']);
  });

  it('weighs by quality: an AP rebooting is fine, the shop next door (store APs faint) is not', async () => {
    const r = rig({ fixture: 'mongkok-shop-ap-reboot.txt' }, { raiseAfterScans: 2 });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 0.667, seenExpected: 2, alarm: false });
    r.use({ fixture: 'mongkok-next-door.txt' });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 0.2, seenExpected: 2, alarm: false });
    expect(await r.scanner.scanNow()).toMatchObject({ score: 0.2, alarm: true });
  });

  it('does not trust what node-wifi makes of colon SSIDs, BSSID-like SSIDs and repeated lines; lower-case lines never arrive', async () => {
    const { logger, records } = capturingLogger();
    const { scanner } = rig({ fixture: 'mongkok-shop-quirks.txt' }, {}, { logger });
    const status = await scanner.scanNow();
    // The 5 GHz AP renamed "PG:MK Staff 5G" cannot be seen through node-wifi: 2 of 3.
    expect(status).toMatchObject({ state: 'ok', seenExpected: 2, score: 0.667 });
    const scan = scanner.lastScan();
    expect(scan?.networks.map((network) => network.bssid)).toEqual(['7C:8B:CA:21:4E:10', '7C:8B:CA:21:4E:12', 'E0:CB:BC:4A:77:01', 'D8:07:B6:11:20:4F']);
    // The repeated line of the 2.4 GHz AP: the stronger, named one is kept.
    expect(scan?.networks[0]).toMatchObject({ ssid: 'PG-MK-Staff', quality: 91 });
    // Both garbled records name the 5 GHz AP's BSSID: one is its real line, one a hotspot named after it.
    expect(scan?.garbled).toEqual([
      { bssid: '7C:8B:CA:21:4E:11', ssid: 'PG\\', why: expect.stringMatching(/half an escape/) },
      { bssid: '7C:8B:CA:21:4E:11', ssid: 'undefined', why: expect.stringMatching(/not an nmcli mode/) },
    ]);
    // node-wifi's BSSID regex is upper-case only: the lower-case line is gone before we see it.
    const all = [...(scan?.networks ?? []).map((network) => network.bssid), ...(scan?.garbled ?? []).map((record) => record.bssid)];
    expect(all).not.toContain('50:C7:BF:8C:2E:11');
    expect(records.filter((record) => record.level === 40 && /node-wifi cannot parse/.test(record.msg))).toHaveLength(1);
  });

  it('is unavailable when nmcli is not installed, and recovers when it is', async () => {
    const emptyDir = await mkdtemp(path.join(workDir, 'no-nmcli-'));
    const r = rig({ fixture: 'mongkok-shop.txt' });
    const fakePath = r.env.PATH;
    r.env.PATH = emptyDir;
    const status = await r.scanner.scanNow();
    expect(status).toMatchObject({ state: 'unavailable', alarm: false, lastScanAt: null });
    expect(status.reason).toBe('nmcli was not found on PATH (is NetworkManager installed?)');
    expect(r.failures.map((failure) => failure.kind)).toEqual(['nmcli-missing']);

    r.env.PATH = fakePath;
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 1 });
    expect(r.scanner.status().reason).toBeUndefined();
  });

  it('is unavailable when nmcli cannot be run (permission denied)', async () => {
    const dir = await mkdtemp(path.join(workDir, 'nmcli-not-executable-'));
    await writeFile(path.join(dir, 'nmcli'), '#!/bin/sh\necho never\n', { mode: 0o644 });
    const r = rig({ fixture: 'mongkok-shop.txt' });
    r.env.PATH = dir;
    const status = await r.scanner.scanNow();
    expect(status).toMatchObject({ state: 'unavailable', reason: 'permission denied running nmcli (EACCES)' });
    expect(r.failures[0]?.kind).toBe('permission-denied');
  });

  it.each([
    ['no-wifi-device', 'no-wifi-device', "no Wi-Fi device (nmcli exited 1: Error: No Wi-Fi device found.)"],
    ['device-not-found', 'no-wifi-device', "no Wi-Fi device (nmcli exited 10: Error: Device 'wlan0' not found.)"],
    ['not-wifi', 'no-wifi-device', "no Wi-Fi device (nmcli exited 1: Error: Device 'wlan0' is not a Wi-Fi device.)"],
    ['nm-not-running', 'networkmanager-down', 'NetworkManager is not running (nmcli exited 8: Error: NetworkManager is not running.)'],
  ] as const)('is unavailable when nmcli fails with %s, keeping the alarm, and recovers', async (fail, kind, reason) => {
    const r = rig({ fixture: 'tsimshatsui-shop.txt' }, { raiseAfterScans: 1 });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', alarm: true });
    const lastScanAt = r.scanner.status().lastScanAt;
    r.use({ fail });
    const status = await r.scanner.scanNow();
    expect(status).toEqual({ state: 'unavailable', reason, score: 0, seenExpected: 0, expected: 3, lastScanAt, alarm: true });
    expect(r.failures.map((failure) => failure.kind)).toEqual([kind]);
    r.use({ fixture: 'mongkok-shop.txt' });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 1, alarm: true });
  });

  it('takes a scan with no network at all (radio off) as unavailable, never as a move', async () => {
    const r = rig({ fixture: 'empty.txt' }, { raiseAfterScans: 1 });
    for (let i = 0; i < 3; i += 1) {
      const status = await r.scanner.scanNow();
      expect(status).toMatchObject({ state: 'unavailable', alarm: false });
      expect(status.reason).toMatch(/saw no network at all/);
    }
    expect(r.failures.map((failure) => failure.kind)).toEqual(['no-networks', 'no-networks', 'no-networks']);
    expect(r.alarms).toEqual([]);
  });

  it('is not-configured, never alarming, when the site lists no BSSIDs', async () => {
    const r = rig({ fixture: 'tsimshatsui-shop.txt' }, { expectedBssids: [], raiseAfterScans: 1 });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'not-configured', expected: 0, alarm: false });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'not-configured', alarm: false });
    expect(r.scanner.lastScan()?.networks).toHaveLength(9);
  });

  it('scans every interval once started, one nmcli at a time, through failures, until stopped', async () => {
    const log = logFile();
    const r = rig({ fixture: 'mongkok-shop.txt', delaySeconds: 0.1, log }, {}, { intervalMs: 20 });
    await r.scanner.start();
    expect(r.scanner.isRunning).toBe(true);
    expect(r.scanner.status().state).toBe('ok');
    await waitFor('three scans', () => readFakeNmcliLog(log).filter((call) => call.event === 'end').length >= 3);
    r.use({ fail: 'device-not-found', delaySeconds: 0.1 });
    await waitFor('the failure', () => r.scanner.status().state === 'unavailable');
    r.use({ fixture: 'mongkok-shop.txt', delaySeconds: 0.1 });
    await waitFor('the recovery', () => r.scanner.status().state === 'ok');
    // Concurrent requests share the scan under way.
    const [a, b] = await Promise.all([r.scanner.scanNow(), r.scanner.scanNow()]);
    expect(a).toBe(b);
    await r.scanner.stop();
    expect(r.scanner.isRunning).toBe(false);

    const calls = readFakeNmcliLog(log);
    const countAtStop = calls.length;
    // Never two at once: every start is followed by its own end before the next start.
    for (let i = 0; i < calls.length; i += 2) {
      expect(calls[i]).toMatchObject({ event: 'start', args: SCAN_ARGS });
      expect(calls[i + 1]).toMatchObject({ event: 'end', pid: calls[i]?.pid });
    }
    expect(calls.length).toBeGreaterThanOrEqual(12);
    expect(r.statuses.map((status) => status.state)).toContain('unavailable');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(readFakeNmcliLog(log)).toHaveLength(countAtStop);
  });

  it('gives up on an nmcli that hangs, starts no other until it exits, and drops its late answer', async () => {
    const log = logFile();
    const r = rig({ fixture: 'tsimshatsui-shop.txt', delaySeconds: 1.5, log }, { raiseAfterScans: 1 }, { timeoutMs: 300 });
    const timedOut = await r.scanner.scanNow();
    expect(timedOut).toMatchObject({ state: 'unavailable', reason: 'nmcli did not answer within 300 ms', alarm: false });
    r.use({ fixture: 'mongkok-shop.txt' });
    const busy = await r.scanner.scanNow();
    expect(busy.state).toBe('unavailable');
    expect(busy.reason).toMatch(/has not exited \(its scan timed out\); no new scan until it does/);
    expect(readFakeNmcliLog(log).filter((call) => call.event === 'start')).toHaveLength(1);
    expect(r.failures.map((failure) => failure.kind)).toEqual(['timeout', 'busy']);

    await waitFor('the hung nmcli to exit', () => readFakeNmcliLog(log).some((call) => call.event === 'end'), 5000);
    // Its Tsim Sha Tsui answer never reached the site check (raiseAfterScans is 1).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(r.alarms).toEqual([]);
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 1, alarm: false });
  });

  it('never lets a throwing listener turn a good scan into a failure', async () => {
    const r = rig({ fixture: 'mongkok-shop.txt' });
    r.scanner.on('scan', () => {
      throw new Error('a listener bug');
    });
    expect(await r.scanner.scanNow()).toMatchObject({ state: 'ok', score: 1 });
    expect(r.failures).toEqual([]);
  });
});
