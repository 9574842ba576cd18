import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CardRead } from '../../core/credential.js';
import type { DeviceConfigSnapshotInput, SiteLanguage } from '../../core/config-snapshot.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { GatewayConfig } from '../../gateway/config.js';
import { KioskState } from '../../gateway/kiosk/kiosk-events.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import type { TapOutcome } from '../../gateway/punch-desk.js';
import { TestBroker } from '../support/aedes-broker.js';
import { TestIngest } from '../support/ingest-server.js';
import { testLogger } from '../support/logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

/**
 * What the kiosk suites share: a real gateway with a punchgate bridge reader on a real pty pair
 * (the reader simulator taps on the far end), its uplink to a real broker (Aedes) with a server
 * that acks every batch, and the site, roster and schedules pushed to it as a retained config
 * snapshot, as the dashboard does. The gateway's clock is the test's (a Tuesday, not a holiday),
 * so verdicts are exact: the shift starts 09:00 Hong Kong time.
 */

export const DEVICE = 'gw-kiosk';
/** Tuesday 24 November 2026, 09:04:30 in Hong Kong. */
export const MORNING = '2026-11-24T01:04:30.000Z';

export const CARDS = {
  chan: { kind: 'em4100', uid: '62E3086CED' },
  wong: { kind: 'mifare', uid: '04A1B2C3D4E5F6' },
  revoked: { kind: 'mifare', uid: '0A0B0C0D' },
  stranger: { kind: 'mifare', uid: 'DEADBEEF' },
} as const satisfies Record<string, CardRead>;

const roster: DeviceConfigSnapshotInput['roster'] = [
  { credential: CARDS.chan, employeeId: 'E001', name: 'Chan Tai Man 陳大文' },
  { credential: CARDS.wong, employeeId: 'E002', name: 'Wong Siu Ming 王小明' },
  { credential: CARDS.revoked, employeeId: 'E003', name: 'Ho Wing Sze 何詠詩', status: 'revoked' },
];

const everyDay = { sun: 'day', mon: 'day', tue: 'day', wed: 'day', thu: 'day', fri: 'day', sat: 'day' };

/** The config snapshot the dashboard would push: a 09:00-18:00 shift every day for everyone. */
export function kioskSnapshot(version: number, site: { name?: string; languages?: SiteLanguage[] } = {}): DeviceConfigSnapshotInput {
  return {
    version,
    issuedAt: MORNING,
    deviceId: DEVICE,
    site: { id: 'mk-01', name: site.name ?? 'Mong Kok 旺角', timeZone: 'Asia/Hong_Kong', ...(site.languages ? { languages: site.languages } : {}) },
    roster,
    attendance: {
      book: {
        shifts: [{ id: 'day', name: 'Day', kind: 'fixed', segments: [{ start: '09:00', end: '18:00' }] }],
        assignments: [{ id: 'all', appliesTo: { everyone: true }, validFrom: '2026-01-01', pattern: { kind: 'weekly', days: everyDay } }],
      },
      people: { E001: { department: null, rank: null }, E002: { department: null, rank: null }, E003: { department: null, rank: null } },
    },
  };
}

export interface KioskRig {
  gateway: Gateway;
  clock: ManualClock;
  broker: TestBroker | undefined;
  ingest: TestIngest | undefined;
  /** The pushed config's version last published. */
  version: number;
  /** Taps the card on the simulated reader; resolves with the desk's outcome for it (taps one at a time). */
  tap(card: CardRead): Promise<TapOutcome>;
  /** Publishes a config snapshot (retained, as the dashboard does) and waits until the kiosk runs it. */
  push(site: { name?: string; languages?: SiteLanguage[] }): Promise<void>;
  kioskState(): Promise<KioskState>;
  /** The broker goes away (the gateway is offline) ... */
  brokerDown(): Promise<void>;
  /** ... and comes back on the same port. */
  brokerUp(): Promise<void>;
  /** Stops the gateway alone (once; stop() then leaves it). */
  stopGateway(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the rig. With `uplink: false` the gateway has no MQTT at all (stand-alone) and runs its
 * local config: `site` then gives the local site name and languages.
 */
export async function startKioskRig(options: { uplink?: boolean; site?: { name?: string; languages?: SiteLanguage[] }; idleSeconds?: number } = {}): Promise<KioskRig> {
  const dir = await mkdtemp(path.join(tmpdir(), 'punchgate-kiosk-'));
  const uplink = options.uplink ?? true;
  const pair = await PtyPair.create(path.join(dir, 'pty'));
  const clock = new ManualClock(MORNING);
  let broker = uplink ? await TestBroker.start() : undefined;
  const brokerPort = broker?.port;
  const ingest = broker ? await TestIngest.connect(broker.url) : undefined;
  const rosterFile = path.join(dir, 'roster.json');
  await writeFile(rosterFile, JSON.stringify(roster));
  const gateway = await startGateway(
    GatewayConfig.parse({
      deviceId: DEVICE,
      siteId: 'mk-01',
      dataDir: path.join(dir, 'data'),
      ...(uplink ? {} : { rosterFile, site: { name: options.site?.name ?? 'Mong Kok 旺角', ...(options.site?.languages ? { languages: options.site.languages } : {}) } }),
      readers: [{ id: 'door', path: pair.a, protocol: 'punchgate' }],
      http: { port: 0 },
      kiosk: { idleSeconds: options.idleSeconds ?? 6 },
      ...(broker ? { mqtt: { url: broker.url, keepaliveSeconds: 5, batch: { ackTimeoutSeconds: 1 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } } } : {}),
      clock: { syncCommand: null },
    }),
    testLogger(),
    { clock, readerRetryMs: { min: 20, max: 200 }, uplink: { statusMinIntervalMs: 0, pollIntervalMs: 50 } },
  );
  const link = new SerialLink({ path: pair.b, baudRate: 115200, logger: testLogger(), minRetryMs: 20, maxRetryMs: 200 });
  await link.start();
  const device = new BridgeDeviceSimulator({ port: link });
  await device.start();
  await waitFor('the bridge reader to be ready', () => gateway.readers[0]?.status().state === 'ready' && gateway.readers[0]?.status().firmware !== undefined, 10_000);

  let gatewayStopped: Promise<void> | undefined;
  const kioskState = async (): Promise<KioskState> => KioskState.parse(await (await fetch(`${gateway.url}/kiosk/state`)).json());

  const rig: KioskRig = {
    gateway,
    clock,
    broker,
    ingest,
    version: 0,
    async tap(card) {
      const outcome = new Promise<TapOutcome>((resolve) => {
        const listener = (result: TapOutcome): void => {
          if (result.readerId !== 'door') return;
          gateway.desk.off('outcome', listener);
          resolve(result);
        };
        gateway.desk.on('outcome', listener);
      });
      await device.tap(card);
      return outcome;
    },
    async push(site) {
      if (!ingest) throw new Error('this rig has no uplink to push a config over');
      rig.version += 1;
      const version = rig.version;
      await ingest.publishRaw(DEVICE, 'config', Buffer.from(JSON.stringify(kioskSnapshot(version, site))), true);
      await waitFor(`config v${version} to be applied`, async () => (await gateway.health()).config.version === version, 10_000);
    },
    kioskState,
    async brokerDown() {
      await broker?.stop();
      broker = undefined;
      await waitFor('the kiosk to see the gateway offline', async () => (await kioskState()).link === 'offline', 10_000);
    },
    async brokerUp() {
      broker = await TestBroker.start({ port: brokerPort });
      rig.broker = broker;
      await waitFor('the kiosk to see the gateway online', async () => (await kioskState()).link === 'online', 15_000);
    },
    async stopGateway() {
      gatewayStopped ??= gateway.stop();
      await gatewayStopped;
    },
    async stop() {
      await rig.stopGateway().catch(() => undefined);
      await device.stop().catch(() => undefined);
      await link.stop().catch(() => undefined);
      await ingest?.close().catch(() => undefined);
      await broker?.stop().catch(() => undefined);
      await pair.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return rig;
}
