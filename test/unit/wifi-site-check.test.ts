import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  scoreSiteMatch,
  WifiSiteCheck,
  WifiSiteConfig,
  WifiSiteStatusSchema,
  type SeenNetwork,
  type WifiSiteCheckOptions,
  type WifiSiteUpdate,
} from '../../gateway/presence/wifi-site-check.js';
import { testLogger } from '../support/logger.js';

// The Mong Kok shop's own access points (see test/support/fake-nmcli/fixtures/mongkok-shop.txt).
const STAFF_24 = '7C:8B:CA:21:4E:10';
const STAFF_5 = '7C:8B:CA:21:4E:11';
const POS_HIDDEN = '7C:8B:CA:21:4E:12';
const EXPECTED = [STAFF_24, STAFF_5, POS_HIDDEN];
const NEIGHBOURS: SeenNetwork[] = [
  { bssid: 'E0:CB:BC:4A:77:01', quality: 54 },
  { bssid: '00:1D:AA:93:10:5C', quality: 41 },
];

/** At the shop: all three APs strong. */
const AT_SHOP: SeenNetwork[] = [{ bssid: STAFF_24, quality: 92 }, { bssid: POS_HIDDEN, quality: 90 }, { bssid: STAFF_5, quality: 84 }, ...NEIGHBOURS];
/** At the chain's other shop: none of them. */
const ELSEWHERE: SeenNetwork[] = [
  { bssid: '7C:8B:CA:35:90:20', quality: 95 },
  { bssid: 'E0:CB:BC:51:08:C1', quality: 58 },
];

let minute = 0;
function at(): string {
  minute += 1;
  return new Date(Date.UTC(2026, 10, 22, 2, minute)).toISOString();
}

function check(options: Partial<WifiSiteCheckOptions> = {}, logger: Logger = testLogger()): WifiSiteCheck {
  return new WifiSiteCheck({ expectedBssids: EXPECTED, raiseAfterScans: 3, clearAfterScans: 2, logger, ...options });
}

function scan(site: WifiSiteCheck, networks: SeenNetwork[]): WifiSiteUpdate {
  const update = site.recordScan({ at: at(), networks });
  WifiSiteStatusSchema.parse(update.status);
  return update;
}

/** A pino logger whose records land in an array. */
function capturingLogger(): { logger: Logger; records: Array<{ level: number; msg: string; [key: string]: unknown }> } {
  const records: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => records.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, records };
}

describe('WifiSiteConfig', () => {
  it('normalises the expected BSSIDs and fills in the defaults', () => {
    expect(WifiSiteConfig.parse({ expectedBssids: ['7c-8b-ca-21-4e-10', '7c:8b:ca:21:4e:11'] })).toEqual({
      expectedBssids: [STAFF_24, STAFF_5],
      threshold: 0.3,
      fullQuality: 50,
      raiseAfterScans: 3,
      clearAfterScans: 2,
    });
    expect(WifiSiteConfig.parse({}).expectedBssids).toEqual([]);
  });

  it('says which entry is not a BSSID, and refuses placeholder addresses', () => {
    const bad = WifiSiteConfig.safeParse({ expectedBssids: [STAFF_24, '7C:8B:CA:21:4E'] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['expectedBssids', 1]);
    expect(bad.error?.issues[0]?.message).toMatch(/"7C:8B:CA:21:4E" is not a Wi-Fi BSSID/);
    const placeholder = WifiSiteConfig.safeParse({ expectedBssids: ['02-00-00-00-00-00'] });
    expect(placeholder.error?.issues[0]?.message).toMatch(/placeholder/);
  });

  it('refuses settings that could never alarm or clear', () => {
    expect(WifiSiteConfig.safeParse({ threshold: 0 }).success).toBe(false);
    expect(WifiSiteConfig.safeParse({ threshold: 1.5 }).success).toBe(false);
    expect(WifiSiteConfig.safeParse({ raiseAfterScans: 0 }).success).toBe(false);
    expect(WifiSiteConfig.safeParse({ clearAfterScans: 1.5 }).success).toBe(false);
    expect(WifiSiteConfig.safeParse({ fullQuality: 0 }).success).toBe(false);
    expect(WifiSiteConfig.safeParse({ expectedBssid: [] }).success).toBe(false);
  });
});

describe('scoreSiteMatch', () => {
  it('is 1 when every expected AP is seen at fullQuality or better', () => {
    expect(scoreSiteMatch(EXPECTED, AT_SHOP)).toMatchObject({ score: 1, seenExpected: 3, expected: 3 });
  });

  it('is 0 when none is seen, however many other APs are', () => {
    expect(scoreSiteMatch(EXPECTED, ELSEWHERE)).toMatchObject({ score: 0, seenExpected: 0, expected: 3 });
  });

  it('is the fraction of expected APs seen, each weighted by quality / fullQuality (at most 1)', () => {
    // One AP rebooting: 2 of 3 seen strongly.
    expect(scoreSiteMatch(EXPECTED, [{ bssid: STAFF_24, quality: 88 }, { bssid: POS_HIDDEN, quality: 85 }]).score).toBeCloseTo(2 / 3, 10);
    // Carried next door: two seen, faintly (18 and 12 of 50).
    const nextDoor = scoreSiteMatch(EXPECTED, [{ bssid: STAFF_24, quality: 18 }, { bssid: POS_HIDDEN, quality: 12 }, ...NEIGHBOURS]);
    expect(nextDoor.score).toBeCloseTo((18 / 50 + 12 / 50) / 3, 10);
    expect(nextDoor.seenExpected).toBe(2);
    expect(nextDoor.perBssid).toEqual([
      { bssid: STAFF_24, quality: 18, weight: 0.36 },
      { bssid: STAFF_5, quality: null, weight: 0 },
      { bssid: POS_HIDDEN, quality: 12, weight: 0.24 },
    ]);
    // fullQuality is a setting.
    expect(scoreSiteMatch([STAFF_24], [{ bssid: STAFF_24, quality: 40 }], 80).score).toBe(0.5);
  });

  it('matches BSSIDs whatever their case or separators, and takes the best quality of repeated ones', () => {
    const match = scoreSiteMatch(EXPECTED, [
      { bssid: '7c-8b-ca-21-4e-10', quality: 10 },
      { bssid: '7C:8B:CA:21:4E:10', quality: 25 },
      { bssid: '7c:8b:ca:21:4e:11', quality: 5 },
    ]);
    expect(match.perBssid.map((entry) => entry.quality)).toEqual([25, 5, null]);
    expect(match.score).toBeCloseTo((25 / 50 + 5 / 50) / 3, 10);
  });

  it('ignores malformed BSSIDs and qualities that are not numbers, clamps the rest to 0-100, and counts a repeated expected BSSID once', () => {
    const match = scoreSiteMatch([STAFF_24, STAFF_24, STAFF_5], [
      { bssid: 'not-a-bssid', quality: 100 },
      { bssid: STAFF_5, quality: Number.NaN },
      { bssid: STAFF_24, quality: 2462 },
    ]);
    expect(match).toMatchObject({ expected: 2, seenExpected: 1, score: 0.5 });
    expect(match.perBssid[0]).toEqual({ bssid: STAFF_24, quality: 100, weight: 1 });
  });

  it('is 0 for an empty expected list', () => {
    expect(scoreSiteMatch([], AT_SHOP)).toMatchObject({ score: 0, seenExpected: 0, expected: 0 });
  });
});

describe('WifiSiteCheck', () => {
  it('is unavailable with a reason before the first scan, then ok with score, counts and time', () => {
    const site = check();
    expect(site.status()).toEqual({ state: 'unavailable', reason: 'no Wi-Fi scan yet', seenExpected: 0, expected: 3, lastScanAt: null, alarm: false });
    const time = '2026-11-22T02:00:00.000Z';
    const update = site.recordScan({ at: time, networks: AT_SHOP });
    expect(update).toEqual({ status: { state: 'ok', score: 1, seenExpected: 3, expected: 3, lastScanAt: time, alarm: false }, alarmChange: null });
  });

  it('rounds the score to three decimals in the status', () => {
    const site = check();
    expect(scan(site, [{ bssid: STAFF_24, quality: 88 }, { bssid: POS_HIDDEN, quality: 85 }]).status.score).toBe(0.667);
  });

  it('does not alarm on one bad scan, raises the alarm after N in a row, and reports it once', () => {
    const site = check();
    scan(site, AT_SHOP);
    const first = scan(site, ELSEWHERE);
    expect(first.status).toMatchObject({ state: 'ok', score: 0, alarm: false });
    expect(first.status.reason).toMatch(/below 0.3 \(1 of 3 scans/);
    expect(scan(site, ELSEWHERE)).toMatchObject({ alarmChange: null, status: { alarm: false } });
    const third = scan(site, ELSEWHERE);
    expect(third).toMatchObject({ alarmChange: 'raised', status: { state: 'ok', alarm: true, seenExpected: 0 } });
    expect(third.status.reason).toMatch(/terminal may have been moved/);
    expect(scan(site, ELSEWHERE)).toMatchObject({ alarmChange: null, status: { alarm: true } });
  });

  it('starts counting bad scans again after a good one', () => {
    const site = check();
    scan(site, ELSEWHERE);
    scan(site, ELSEWHERE);
    scan(site, AT_SHOP);
    scan(site, ELSEWHERE);
    expect(scan(site, ELSEWHERE).status.alarm).toBe(false);
    expect(scan(site, ELSEWHERE).alarmChange).toBe('raised');
  });

  it('clears the alarm only after M good scans in a row (hysteresis)', () => {
    const site = check({ raiseAfterScans: 2, clearAfterScans: 3 });
    scan(site, ELSEWHERE);
    expect(scan(site, ELSEWHERE).alarmChange).toBe('raised');
    const good = scan(site, AT_SHOP);
    expect(good).toMatchObject({ alarmChange: null, status: { alarm: true, score: 1 } });
    expect(good.status.reason).toMatch(/until 3 good scans in a row \(1 so far\)/);
    scan(site, AT_SHOP);
    // A bad scan in between: the good count starts over.
    expect(scan(site, ELSEWHERE).status.alarm).toBe(true);
    scan(site, AT_SHOP);
    scan(site, AT_SHOP);
    expect(scan(site, AT_SHOP)).toMatchObject({ alarmChange: 'cleared', status: { state: 'ok', alarm: false } });
    expect(site.status().reason).toBeUndefined();
  });

  it('counts a score exactly at the threshold as good', () => {
    const site = check({ threshold: 0.5, raiseAfterScans: 1 });
    // (25/50 + 25/50 + 25/50) / 3 = 0.5
    const half = [{ bssid: STAFF_24, quality: 25 }, { bssid: STAFF_5, quality: 25 }, { bssid: POS_HIDDEN, quality: 25 }];
    expect(scan(site, half).status).toMatchObject({ score: 0.5, alarm: false });
    expect(scan(site, half.slice(1)).alarmChange).toBe('raised');
  });

  it('counts a faint sighting of the site (the terminal next door) as bad', () => {
    const site = check({ raiseAfterScans: 2 });
    const nextDoor = [{ bssid: STAFF_24, quality: 18 }, { bssid: POS_HIDDEN, quality: 12 }, ...NEIGHBOURS];
    expect(scan(site, nextDoor).status).toMatchObject({ score: 0.2, seenExpected: 2, alarm: false });
    expect(scan(site, nextDoor).alarmChange).toBe('raised');
  });

  it('turns unavailable on a failed scan, keeping the alarm, the streaks and the last result', () => {
    const site = check();
    scan(site, ELSEWHERE);
    const lastGood = scan(site, ELSEWHERE).status;
    const failed = site.recordFailure('nmcli was not found on PATH (is NetworkManager installed?)');
    expect(failed).toEqual({
      status: { ...lastGood, state: 'unavailable', reason: 'nmcli was not found on PATH (is NetworkManager installed?)' },
      alarmChange: null,
    });
    WifiSiteStatusSchema.parse(failed.status);
    // The failure neither broke nor advanced the streak: the next bad scan is the third.
    expect(scan(site, ELSEWHERE)).toMatchObject({ alarmChange: 'raised', status: { state: 'ok', alarm: true } });
    expect(site.recordFailure('nmcli exited 10: Error: Device \'wlan0\' not found.').status).toMatchObject({ state: 'unavailable', alarm: true });
    // Recovers with the next scan that works.
    expect(scan(site, AT_SHOP).status).toMatchObject({ state: 'ok', alarm: true, score: 1 });
  });

  it('treats a scan that saw no network at all as unavailable, not as being elsewhere', () => {
    const site = check({ raiseAfterScans: 1 });
    for (let i = 0; i < 5; i += 1) {
      const update = scan(site, []);
      expect(update).toMatchObject({ alarmChange: null, status: { state: 'unavailable', alarm: false, lastScanAt: null } });
      expect(update.status.reason).toMatch(/saw no network at all/);
    }
    expect(scan(site, ELSEWHERE).alarmChange).toBe('raised');
  });

  it('is not-configured and never alarms when the site lists no expected BSSIDs', () => {
    const site = check({ expectedBssids: [], raiseAfterScans: 1 });
    expect(site.status()).toMatchObject({ state: 'not-configured', expected: 0, alarm: false });
    for (let i = 0; i < 4; i += 1) {
      const update = scan(site, ELSEWHERE);
      expect(update.alarmChange).toBeNull();
      expect(update.status).toMatchObject({ state: 'not-configured', seenExpected: 0, expected: 0, alarm: false });
      expect(update.status.score).toBeUndefined();
      expect(update.status.lastScanAt).not.toBeNull();
    }
    // A box without Wi-Fi still says so.
    expect(site.recordFailure('no Wi-Fi device').status).toMatchObject({ state: 'unavailable', reason: 'no Wi-Fi device', alarm: false });
    expect(scan(site, ELSEWHERE).status.state).toBe('not-configured');
  });

  it('starts over when the expected BSSIDs change, and keeps going when only their spelling does', () => {
    const site = check({ raiseAfterScans: 1 });
    expect(scan(site, ELSEWHERE).alarmChange).toBe('raised');
    // The same APs, in another order and spelling: nothing starts over.
    site.configure({ expectedBssids: ['7c-8b-ca-21-4e-12', '7c-8b-ca-21-4e-10', '7c-8b-ca-21-4e-11'], raiseAfterScans: 1 });
    expect(site.status().alarm).toBe(true);
    // The site's APs were replaced: the alarm measured against the old ones is dropped.
    const status = site.configure({ expectedBssids: ['7C:8B:CA:35:90:20'], raiseAfterScans: 1 });
    expect(status).toMatchObject({ state: 'ok', alarm: false, expected: 1, seenExpected: 0 });
    expect(status.score).toBeUndefined();
    expect(scan(site, ELSEWHERE).status).toMatchObject({ score: 1, alarm: false });
    expect(site.settings().expectedBssids).toEqual(['7C:8B:CA:35:90:20']);
  });

  it('refuses invalid settings and keeps the ones it had', () => {
    expect(() => check({ expectedBssids: ['nope'] })).toThrow(/is not a Wi-Fi BSSID/);
    const site = check();
    expect(() => site.configure({ expectedBssids: [STAFF_24], threshold: 2 })).toThrow();
    expect(site.settings().expectedBssids).toEqual(EXPECTED);
  });

  it('warns once when an expected BSSID shows up only in a record the scanner could not trust', () => {
    const { logger, records } = capturingLogger();
    const site = check({}, logger);
    const networks = [{ bssid: STAFF_24, quality: 91 }, { bssid: POS_HIDDEN, quality: 89 }];
    const garbled = [{ bssid: STAFF_5 }, { bssid: null }, { bssid: '5C:A6:E6:7E:01:B4' }];
    expect(site.recordScan({ at: at(), networks, garbled }).status).toMatchObject({ seenExpected: 2, score: 0.667 });
    site.recordScan({ at: at(), networks, garbled });
    const warnings = records.filter((record) => record.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ bssid: STAFF_5, part: 'presence.wifi-site' });
    expect(warnings[0]?.msg).toMatch(/node-wifi cannot parse/);
  });

  it('logs the alarm at warn when raised and at info when cleared', () => {
    const { logger, records } = capturingLogger();
    const site = check({ raiseAfterScans: 1, clearAfterScans: 1 }, logger);
    scan(site, ELSEWHERE);
    scan(site, AT_SHOP);
    expect(records.filter((record) => record.level >= 30).map((record) => [record.level, record.msg])).toEqual([
      [40, expect.stringMatching(/moved-terminal alarm raised/)],
      [30, expect.stringMatching(/moved-terminal alarm cleared/)],
    ]);
  });
});
