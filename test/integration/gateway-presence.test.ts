import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { aes128, keyFromHex } from '../../core/beacon/aes-block.js';
import { eidAt } from '../../core/beacon/eddystone-eid.js';
import { rotatingMinorAt } from '../../core/beacon/rotating-ibeacon.js';
import { parseAdvertisement } from '../../firmware-bridge/ble/advertisement.js';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { loadBleno } from '../../gateway/presence/ble-modules.js';
import { installFakeHciSocket, type FakeHciController } from '../support/fake-hci-socket.js';
import { fakeNmcliEnv, setFakeNmcli } from '../support/fake-nmcli/index.js';
import { mergeRecordings, nobleWithFakeBinding, recordedFrames, recordSession, type FakeNobleBinding, type RecordedAdvert } from '../support/fake-noble-binding.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { rowsOf } from '../support/sqlite-rows.js';
import { waitFor } from '../support/wait.js';

/** The staff iBeacon tag of the recordings: uuid + major 1 + minor 200, as its ble-tag uid. */
const STAFF_TAG = 'E2C56DB5DFFB48D2B060D0F5A71096E0000100C8';
const COLLEAGUE_TAG = 'E2C56DB5DFFB48D2B060D0F5A71096E0000100C9';
const EID_KEY = '0102030405060708090A111213141516';
const SITE_KEY = '00112233445566778899AABBCCDDEEFF';
const START = '2026-11-23T01:00:00.000Z';
const T0 = Date.parse(START);

const roster = [
  { credential: { kind: 'ble-tag', uid: STAFF_TAG }, employeeId: 'E001', name: 'Chan Tai Man', bleConsentAt: '2026-11-01T02:00:00.000Z' },
  // No recorded consent: the tag must never punch.
  { credential: { kind: 'ble-tag', uid: COLLEAGUE_TAG }, employeeId: 'E002', name: 'Wong Siu Ming' },
  { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' },
];

let hci: FakeHciController;

describe('gateway presence: noble over a fake binding, bleno over a fake HCI socket, a fake nmcli', () => {
  let dir: string;
  let gateway: Gateway | undefined;
  let clock: ManualClock;
  let binding: FakeNobleBinding;

  beforeAll(() => {
    hci = installFakeHciSocket();
  });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-presence-'));
    clock = new ManualClock(START);
  });

  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function start(settings: Record<string, unknown>, wifiEnv = fakeNmcliEnv({ fixture: 'mongkok-shop.txt' })): Promise<Gateway> {
    await writeFile(path.join(dir, 'roster.json'), JSON.stringify(roster));
    const fake = nobleWithFakeBinding('poweredOn');
    binding = fake.binding;
    gateway = await startGateway(
      GatewayConfig.parse({
        deviceId: 'gw-1',
        siteId: 'mk-01',
        dataDir: path.join(dir, 'data'),
        rosterFile: path.join(dir, 'roster.json'),
        http: { port: 0 },
        presence: { wifi: { scanIntervalSeconds: 3600 }, settings },
      }),
      testLogger(),
      { clock, presence: { noble: fake.noble, bleno: loadBleno(), wifiEnv, handsFreeTickMs: 20 } },
    );
    return gateway;
  }

  function replay(recording: readonly RecordedAdvert[]): void {
    binding.replay(recording, (at) => clock.advance(Math.max(0, at - clock.now().getTime())));
  }

  async function punches(): Promise<Array<Record<string, unknown>>> {
    return rowsOf(path.join(dir, 'data', 'gateway.sqlite'), "SELECT json_extract(body, '$.credential.uid') AS uid, json_extract(body, '$.employeeId') AS employee, json_extract(body, '$.method') AS method, json_extract(body, '$.direction') AS direction, json_extract(body, '$.at') AS at FROM punches ORDER BY seq");
  }

  it('a consenting tag walking in punches in, walking out punches out at the time it was last heard; a tag without consent never punches', async () => {
    const gw = await start({ handsFree: { enabled: true, punchOutAfterSeconds: 60 } });
    const walk = (address: string, eir: string, seed: number): RecordedAdvert[] =>
      recordSession({ address, eir, seed, startAt: T0, intervalMs: 200, segments: [{ ms: 10_000, from: -95, to: -58 }, { ms: 60_000, from: -58, to: -58 }] });
    const recording = mergeRecordings(walk('c4:be:84:12:34:56', recordedFrames.STAFF_IBEACON, 1), walk('c4:be:84:12:34:57', recordedFrames.SECOND_IBEACON, 2));
    replay(recording);
    await waitFor('the punch in', async () => (await punches()).length === 1);
    expect(await punches()).toEqual([{ uid: STAFF_TAG, employee: 'E001', method: 'ble', direction: 'in', at: expect.any(String) }]);
    expect((await gw.health()).presence).toMatchObject({ scanner: { state: 'scanning' }, handsFree: { enabled: true, clockedIn: 1 } });

    const lastHeard = Math.max(...recording.filter((advert) => advert.address === 'c4:be:84:12:34:56').map((advert) => advert.at));
    // Gone: after the quiet period the tag is away, and 60 s later its owner is punched out.
    for (let step = 0; step < 100 && (await punches()).length < 2; step += 1) {
      clock.advance(5_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(clock.now().getTime() - lastHeard).toBeGreaterThanOrEqual(90_000);
    const rows = await punches();
    expect(rows[1]).toEqual({ uid: STAFF_TAG, employee: 'E001', method: 'ble', direction: 'out', at: new Date(lastHeard).toISOString() });
    expect(rows.filter((row) => row.uid === COLLEAGUE_TAG)).toEqual([]);
  });

  it('hands-free off (the default): present tags punch nothing', async () => {
    const gw = await start({});
    replay(recordSession({ address: 'c4:be:84:12:34:56', eir: recordedFrames.STAFF_IBEACON, seed: 3, startAt: T0, intervalMs: 200, segments: [{ ms: 20_000, from: -60, to: -60 }] }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await punches()).toEqual([]);
    expect((await gw.health()).presence.handsFree).toEqual({ enabled: false, clockedIn: 0 });
  });

  it('advertises the rotating Eddystone-EID and iBeacon computed from the site keys, and new ones after the window', async () => {
    const mark = hci.mark();
    const gw = await start({
      beacon: {
        eid: { identityKey: EID_KEY, rotationExponent: 4, epochUnixSeconds: T0 / 1000 - 1000 },
        ibeacon: { uuid: 'e2c56db5-dffb-48d2-b060-d0f5a71096e0', major: 7, siteKey: SITE_KEY, rotationExponent: 4 },
      },
    });
    await waitFor('advertising', async () => (await gw.health()).presence.advertiser.state === 'advertising', 10_000);
    const expectedEid = eidAt({ identityKey: aes128(keyFromHex(EID_KEY)), rotationExponent: 4, epochUnixSeconds: T0 / 1000 - 1000 }, T0 / 1000).eid.toLowerCase();
    const expectedMinor = rotatingMinorAt(aes128(keyFromHex(SITE_KEY)), 4, T0 / 1000).minor;
    const onAir = (): Array<Record<string, unknown>> => hci.advertisingDataSince(mark).map((bytes) => {
      const parsed = parseAdvertisement(bytes);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.frame as unknown as Record<string, unknown>;
    });
    expect(onAir()[0]).toEqual({ kind: 'eddystone-eid', txPower: -21, eid: expectedEid });
    // The advertiser turns to the next frame of its list every second of its clock.
    for (let step = 0; step < 40 && !onAir().some((frame) => frame.kind === 'ibeacon'); step += 1) {
      clock.advance(250);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(onAir().find((frame) => frame.kind === 'ibeacon')).toMatchObject({ major: 7, minor: expectedMinor, measuredPower: -59 });

    // The next 16-second window: new ids on air.
    clock.advance(16_000);
    const nextEid = eidAt({ identityKey: aes128(keyFromHex(EID_KEY)), rotationExponent: 4, epochUnixSeconds: T0 / 1000 - 1000 }, clock.now().getTime() / 1000).eid.toLowerCase();
    expect(nextEid).not.toBe(expectedEid);
    await waitFor('the rotated EID on air', () => onAir().some((frame) => frame.eid === nextEid), 10_000);
  });

  it('Wi-Fi: the shop seen -> ok; carried to another shop -> moved-terminal alarm in health, status and problems', async () => {
    const env = fakeNmcliEnv({ fixture: 'mongkok-shop.txt' });
    const gw = await start({ wifi: { expectedBssids: ['7c:8b:ca:21:4e:10', '7C-8B-CA-21-4E-11'] } }, env);
    await waitFor('a first scan', async () => (await gw.health()).presence.wifi.state === 'ok', 10_000);
    expect((await gw.health()).presence.wifi).toMatchObject({ state: 'ok', seenExpected: 2, expected: 2, alarm: false });

    setFakeNmcli(env, { fixture: 'tsimshatsui-shop.txt' });
    for (let scan = 0; scan < 3; scan += 1) await gw.presence.scanWifiNow();
    const health = await gw.health();
    expect(health.presence.wifi).toMatchObject({ state: 'ok', seenExpected: 0, alarm: true });
    expect(health.problems.some((problem) => problem.startsWith('presence: terminal may have been moved'))).toBe(true);
    expect(health.ok).toBe(false);
  });
});
