import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Feedback } from '../../core/feedback.js';
import { encodeEm4100Frame } from '../../firmware-bridge/codecs/em4100.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { Pn532ChipSimulator } from '../../firmware-bridge/simulators/pn532-chip.js';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';
import { rowsOf } from '../support/sqlite-rows.js';

const roster = [
  { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' },
  { credential: { kind: 'mifare', uid: '04A1B2C3D4E5F6' }, employeeId: 'E002', name: 'Wong Siu Ming' },
  { credential: { kind: 'mifare', uid: '0A0B0C0D' }, employeeId: 'E003', name: 'Ho Wing Sze', status: 'revoked' },
];

describe('the punch path: reader bytes on a real pty -> punch in SQLite -> feedback on the wire', () => {
  let dir: string;
  let pairs: PtyPair[];
  let links: SerialLink[];
  let gateway: Gateway | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-path-'));
    links = [];
    pairs = await Promise.all(['bridge', 'pn532', 'rdm'].map((name) => PtyPair.create(path.join(dir, name))));
  });

  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    for (const link of links) await link.stop();
    for (const pair of pairs) await pair.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<Gateway> {
    await writeFile(path.join(dir, 'roster.json'), JSON.stringify(roster));
    const [bridge, pn532, rdm] = pairs as [PtyPair, PtyPair, PtyPair];
    gateway = await startGateway(
      GatewayConfig.parse({
        deviceId: 'gw-1',
        siteId: 'mk-01',
        dataDir: path.join(dir, 'data'),
        rosterFile: path.join(dir, 'roster.json'),
        readers: [
          { id: 'door', path: bridge.a, protocol: 'punchgate' },
          { id: 'nfc', path: pn532.a, protocol: 'pn532' },
          { id: 'side', path: rdm.a, protocol: 'rdm6300' },
        ],
        http: { port: 0 },
      }),
      testLogger(),
      { readerRetryMs: { min: 20, max: 200 } },
    );
    return gateway;
  }

  async function deviceEnd(pair: PtyPair, baudRate: number): Promise<SerialLink> {
    const link = new SerialLink({ path: pair.b, baudRate, logger: testLogger(), minRetryMs: 20, maxRetryMs: 200 });
    links.push(link);
    await link.start();
    return link;
  }

  it('records each outcome and tells the bridge reader, with the punch on disk first', async () => {
    const gw = await start();
    const device = new BridgeDeviceSimulator({ port: await deviceEnd(pairs[0] as PtyPair, 115200) });
    const feedback: Feedback[] = [];
    device.on('feedback', (item) => feedback.push(item));
    await device.start();
    await waitFor('the reader to be ready', () => gw.readers[0]?.status().state === 'ready' && gw.readers[0]?.status().firmware !== undefined);

    await device.tap({ kind: 'em4100', uid: '62E3086CED' });
    await waitFor('feedback 1', () => feedback.length === 1);
    // The feedback is here, so the punch must already be readable by another connection.
    expect(await rowsOf(gw.store.file, 'SELECT employee_id, direction, credential_key FROM punches')).toEqual([
      { employee_id: 'E001', direction: 'in', credential_key: 'em4100:E3086CED' },
    ]);
    expect(feedback[0]).toEqual({ kind: 'accepted', text: expect.stringMatching(/^IN \d\d:\d\d Chan Tai Man$/) });

    await device.tap({ kind: 'mifare', uid: 'DEADBEEF' });
    await device.tap({ kind: 'mifare', uid: '0A0B0C0D' });
    await device.tap({ kind: 'em4100', uid: '62E3086CED' });
    await waitFor('feedback 4', () => feedback.length === 4);
    expect(feedback.slice(1).map((item) => item.kind)).toEqual(['unknown', 'revoked', 'duplicate']);
    expect(await rowsOf(gw.store.file, 'SELECT employee_id, credential_key FROM punches ORDER BY seq')).toEqual([
      { employee_id: 'E001', credential_key: 'em4100:E3086CED' },
      { employee_id: null, credential_key: 'mifare:DEADBEEF' },
    ]);
    expect(await rowsOf(gw.store.file, 'SELECT employee_id, reader_id FROM refused_taps')).toEqual([{ employee_id: 'E003', reader_id: 'door' }]);

    const health = await gw.health();
    expect(health.taps).toEqual({ accepted: 1, unknown: 1, revoked: 1, duplicate: 1, error: 0 });
    expect(health.outbox).toMatchObject({ pending: 2, total: 2 });
    expect(health.lastPunch?.credential).toEqual({ kind: 'mifare', uid: 'DEADBEEF' });
  });

  it('polls a PN532 chip and records the card it finds', async () => {
    const gw = await start();
    const chip = new Pn532ChipSimulator({ port: await deviceEnd(pairs[1] as PtyPair, 115200) });
    await chip.start();
    await waitFor('the PN532 to be ready', () => gw.readers[1]?.status().state === 'ready', 10_000);
    expect(gw.readers[1]?.status().firmware).toMatch(/^PN532 v\d+\.\d+$/);
    await chip.tap({ kind: 'mifare', uid: '04A1B2C3D4E5F6' });
    await waitFor('the punch', async () => (await gw.store.outbox.recent(5)).length === 1);
    const [punch] = await gw.store.outbox.recent(1);
    expect(punch).toMatchObject({ employeeId: 'E002', credential: { kind: 'mifare', uid: '04A1B2C3D4E5F6' }, method: 'badge' });
    await chip.stop();
  });

  it('records RDM6300 frames and counts a corrupted one as a bad frame, not a punch', async () => {
    const gw = await start();
    const wire = await deviceEnd(pairs[2] as PtyPair, 9600);
    await waitFor('the RDM6300 port to open', () => gw.readers[2]?.status().state === 'ready');
    const corrupted = encodeEm4100Frame('62E3086CED', 'stx-etx');
    corrupted[12] = 0x39; // checksum 09 instead of 08
    await wire.write(Buffer.concat([corrupted, encodeEm4100Frame('62E3086CED', 'stx-etx')]));
    await waitFor('the punch', async () => (await gw.store.outbox.recent(5)).length === 1);
    const status = gw.readers[2]?.status();
    expect(status).toMatchObject({ reads: 1, badFrames: 1 });
    expect((await gw.store.outbox.recent(1))[0]).toMatchObject({ employeeId: 'E001', credential: { kind: 'em4100', uid: 'E3086CED' } });
  });

  it('serves /health and /api/punches over HTTP', async () => {
    const gw = await start();
    const wire = await deviceEnd(pairs[2] as PtyPair, 9600);
    await waitFor('the RDM6300 port to open', () => gw.readers[2]?.status().state === 'ready');
    await wire.write(encodeEm4100Frame('62E3086CED', 'stx-etx'));
    await waitFor('the punch', async () => (await gw.store.outbox.recent(5)).length === 1);

    const punches = await fetch(`${gw.url}/api/punches?limit=10`);
    expect(punches.status).toBe(200);
    const body = (await punches.json()) as { punches: Array<{ employeeId: string; seq: number }> };
    expect(body.punches).toEqual([expect.objectContaining({ employeeId: 'E001', seq: 1 })]);

    const health = await fetch(`${gw.url}/health`);
    expect(health.status).toBe(200);
    const report = (await health.json()) as { deviceId: string; readers: Array<{ id: string }>; roster: { entries: number } };
    expect(report.deviceId).toBe('gw-1');
    expect(report.readers.map((reader) => reader.id)).toEqual(['door', 'nfc', 'side']);
    expect(report.roster.entries).toBe(3);

    for (const bad of ['limit=0', 'limit=1001', 'limit=ten', 'limit=5&since=x']) {
      const response = await fetch(`${gw.url}/api/punches?${bad}`);
      expect(response.status, bad).toBe(400);
    }
  });
});
