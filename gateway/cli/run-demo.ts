import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { CardRead } from '../../core/credential.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { createVirtualPair } from '../../firmware-bridge/virtual-serial.js';
import { GatewayConfig } from '../config.js';
import { startGateway } from '../main.js';

export const demoUsage = `usage: punchgate demo [--data-dir DIR] [--port N] [--interval MS]

Runs a gateway on this machine with a simulated punchgate-protocol reader tapping demo badges
(three staff, one revoked badge, one unknown badge) every --interval ms (default 3000).
Punches are kept in --data-dir (default .punchgate/demo).`;

const demoRoster = [
  { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man 陳大文' },
  { credential: { kind: 'mifare', uid: '04A1B2C3D4E5F6' }, employeeId: 'E002', name: 'Wong Siu Ming 黃小明' },
  { credential: { kind: 'em4100', uid: '0012345678' }, employeeId: 'E003', name: 'Lee Ka Yan 李嘉欣' },
  { credential: { kind: 'mifare', uid: '0A0B0C0D' }, employeeId: 'E004', name: 'Ho Wing Sze 何詠詩', status: 'revoked' },
];

const demoTaps: CardRead[] = [
  { kind: 'em4100', uid: '62E3086CED' },
  { kind: 'mifare', uid: '04A1B2C3D4E5F6' },
  { kind: 'em4100', uid: '0012345678' },
  { kind: 'mifare', uid: '0A0B0C0D' },
  { kind: 'mifare', uid: 'DEADBEEF' },
];

export interface DemoIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  stopSignal: Promise<void>;
}

/** `punchgate demo`: what `npm start` runs. */
export async function runDemo(argv: string[], io: DemoIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string', default: '.punchgate/demo' },
        port: { type: 'string', default: '8080' },
        interval: { type: 'string', default: '3000' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${demoUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(demoUsage);
    return 0;
  }
  if (!/^\d+$/.test(values.port) || !/^\d+$/.test(values.interval)) {
    io.stderr(`--port and --interval must be whole numbers\n${demoUsage}`);
    return 2;
  }

  const dataDir = path.resolve(values['data-dir']);
  await mkdir(dataDir, { recursive: true });
  const rosterFile = path.join(dataDir, 'roster.json');
  await writeFile(rosterFile, `${JSON.stringify(demoRoster, null, 2)}\n`);
  const wire = createVirtualPair('demo-door');
  const config = GatewayConfig.parse({
    deviceId: 'demo-gateway',
    siteId: 'demo-site',
    dataDir,
    site: { name: 'Demo shop, Mong Kok', timeZone: 'Asia/Hong_Kong' },
    readers: [{ id: 'door', path: wire.a, protocol: 'punchgate' }],
    rosterFile,
    http: { host: '127.0.0.1', port: Number(values.port) },
    punch: { debounceSeconds: 10 },
  });
  const logger = pino({ level: process.env.PUNCHGATE_LOG ?? 'warn' }, process.stderr);
  const gateway = await startGateway(config, logger);

  const link = new SerialLink({ path: wire.b, baudRate: 115200, logger: logger.child({ part: 'demo-reader' }) });
  await link.start();
  const reader = new BridgeDeviceSimulator({ port: link });
  reader.on('feedback', (feedback) => io.stdout(`  reader shows: ${feedback.kind.padEnd(9)} ${feedback.text ?? ''}`));
  await reader.start();

  io.stdout(`punchgate demo is running (data in ${dataDir})
  health:  ${gateway.url}/health
  punches: ${gateway.url}/api/punches?limit=20
Press Ctrl+C to stop.`);

  let stopped = false;
  void io.stopSignal.then(() => {
    stopped = true;
  });
  for (let index = 0; !stopped; index += 1) {
    const card = demoTaps[index % demoTaps.length] as CardRead;
    io.stdout(`tap ${card.kind}:${card.uid}`);
    await reader.tap(card);
    await Promise.race([sleep(Number(values.interval)), io.stopSignal]);
  }
  await reader.stop();
  await link.stop();
  await gateway.stop();
  return 0;
}
