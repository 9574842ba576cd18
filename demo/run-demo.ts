import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { CardRead } from '../core/credential.js';
import { SiteLocationPolicy } from '../core/location/index.js';
import { DashboardConfig } from '../dashboard/config.js';
import { EmployeeBody, systemAccess } from '../dashboard/employees/employee-model.js';
import type { EmployeeService } from '../dashboard/employees/employee-service.js';
import { startDashboard } from '../dashboard/server.js';
import { SerialLink } from '../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../firmware-bridge/simulators/bridge-device.js';
import { createVirtualPair } from '../firmware-bridge/virtual-serial.js';
import { GatewayConfig } from '../gateway/config.js';
import { startGateway } from '../gateway/main.js';
import { createMetricsRegistry } from '../platform/metrics.js';
import { hashDeviceSecret, newDeviceSecret } from '../provisioning/device-secrets.js';

export const demoUsage = `usage: punchgate demo [--data-dir DIR] [--http-port N] [--mqtt-port N] [--gateway-port N] [--interval MS]

Runs everything on this machine: the dashboard with its embedded MQTT broker and SQLite, one
gateway connected to it, and a simulated punchgate-protocol reader tapping demo badges (three
staff, one revoked badge, one unknown badge) every --interval ms (default 3000). The demo site
(demo-site) and its four employees are rows the console shows; the dashboard pushes their roster
to the gateway over MQTT. Data is kept in --data-dir (default .punchgate/demo).`;

const DEVICE_ID = 'demo-gateway';
const DEMO_ADMIN = 'admin';
const DEMO_TOKEN_NAME = 'demo';
const SITE_ID = 'demo-site';
const DEMO_SITE = { name: 'Demo shop, Mong Kok', nameZh: '示範店（旺角）', timeZone: 'Asia/Hong_Kong' } as const;

/** The demo's people, written as employees with badges (E004's badge revoked), so the console lists them. */
const demoStaff = [
  { number: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', badge: { kind: 'em4100', uid: '62E3086CED' } },
  { number: 'E002', name: 'Wong Siu Ming', nameZh: '黃小明', badge: { kind: 'mifare', uid: '04A1B2C3D4E5F6' } },
  { number: 'E003', name: 'Lee Ka Yan', nameZh: '李嘉欣', badge: { kind: 'em4100', uid: '0012345678' } },
  { number: 'E004', name: 'Ho Wing Sze', nameZh: '何詠詩', badge: { kind: 'mifare', uid: '0A0B0C0D' }, revoked: true },
] as const;

const demoTaps: CardRead[] = [
  { kind: 'em4100', uid: '62E3086CED' },
  { kind: 'mifare', uid: '04A1B2C3D4E5F6' },
  { kind: 'em4100', uid: '0012345678' },
  { kind: 'mifare', uid: '0A0B0C0D' },
  { kind: 'mifare', uid: 'DEADBEEF' },
];

/** Phones punch at the demo shop by GPS within 80 m of Mong Kok's Langham Place (the gateway's badges need none). */
function demoSitePolicy(): SiteLocationPolicy {
  return SiteLocationPolicy.parse({
    siteId: SITE_ID,
    geofence: { kind: 'circle', center: { lat: 22.3183, lon: 114.1687 }, radiusMetres: 80 },
    accept: { anyOf: 1, factors: ['gps'] },
  });
}

/** Writes the demo's people once: in a reused data dir they stay as the console left them. */
async function putDemoStaff(employees: EmployeeService): Promise<void> {
  const access = systemAccess('punchgate demo');
  for (const person of demoStaff) {
    if (await employees.get(person.number, access)) continue;
    await employees.put(person.number, EmployeeBody.parse({ name: person.name, nameZh: person.nameZh, sites: [SITE_ID] }), access);
    await employees.assignBadge(person.number, person.badge, access);
    if ('revoked' in person) await employees.revokeBadge(person.number, person.badge, access, 'demo: a lost badge');
  }
}

export interface DemoIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  stopSignal: Promise<void>;
}

/** `punchgate demo`: what `npm start` runs. Composition only: each part is the real one. */
export async function runDemo(argv: string[], io: DemoIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string', default: '.punchgate/demo' },
        'http-port': { type: 'string', default: '8000' },
        'mqtt-port': { type: 'string', default: '1883' },
        'gateway-port': { type: 'string', default: '8080' },
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
  for (const flag of ['http-port', 'mqtt-port', 'gateway-port', 'interval'] as const) {
    if (!/^\d+$/.test(values[flag])) {
      io.stderr(`--${flag} must be a whole number, got "${values[flag]}"\n${demoUsage}`);
      return 2;
    }
  }

  const dataDir = path.resolve(values['data-dir']);
  await mkdir(dataDir, { recursive: true });
  const logger = pino({ level: process.env.PUNCHGATE_LOG ?? 'warn' }, process.stderr);

  let firstAdmin: { username: string; password: string } | undefined;
  const dashboard = await startDashboard(
    DashboardConfig.parse({
      dataDir: path.join(dataDir, 'dashboard'),
      http: { host: '127.0.0.1', port: Number(values['http-port']) },
      mqtt: { mode: 'embedded', host: '127.0.0.1', port: Number(values['mqtt-port']) },
      // Plain http on localhost: a Secure cookie would never come back.
      auth: { secureCookies: false },
    }),
    logger.child({ process: 'dashboard' }),
    // Each part has its own registry (and /metrics); the process metrics go with the dashboard's.
    { onFirstAdmin: (admin) => (firstAdmin = admin), metrics: createMetricsRegistry({ processMetrics: true }) },
  );
  // Like the gateway's secret, the demo's admin password and API token are made anew at each start
  // (the old token is revoked), so that a reused data dir still prints a working login.
  const demoActor = { kind: 'system', id: 'demo', name: 'punchgate demo' } as const;
  const login =
    firstAdmin ??
    (await (async () => {
      const admin = await dashboard.auth.users.getByUsername(DEMO_ADMIN);
      if (!admin) return { username: DEMO_ADMIN, password: (await dashboard.auth.users.create({ username: DEMO_ADMIN, role: 'admin' }, demoActor)).password };
      if (admin.role !== 'admin' || admin.disabled) await dashboard.auth.users.update(admin.id, { role: 'admin', disabled: false }, demoActor);
      return { username: DEMO_ADMIN, password: (await dashboard.auth.users.resetPassword(admin.id, demoActor)).password };
    })());
  await dashboard.auth.tokens.revokeNamed(DEMO_TOKEN_NAME, demoActor);
  const { secret: apiToken } = await dashboard.auth.tokens.create({ name: DEMO_TOKEN_NAME, role: 'admin' }, demoActor);
  // A real site and real employees, so that the console, reports and `punchgate provision device
  // --site demo-site` work on the demo; the gateway's roster comes from them through config push.
  await dashboard.sites.put(
    { id: SITE_ID, name: DEMO_SITE.name, nameZh: DEMO_SITE.nameZh, timeZone: DEMO_SITE.timeZone, policy: demoSitePolicy(), beacons: undefined },
    new Date(),
  );
  // A fresh secret every start: the demo gateway is enrolled again each time.
  const secret = newDeviceSecret();
  const secretHash = await hashDeviceSecret(secret);
  if (!(await dashboard.devices.setSecretHash(DEVICE_ID, secretHash))) {
    await dashboard.devices.register({ id: DEVICE_ID, siteId: SITE_ID, name: 'Demo gateway', secretHash, createdAt: new Date().toISOString() });
  }
  await putDemoStaff(dashboard.employees);
  // Earlier demos wrote the roster whole, which pins the device: hand it back to config push.
  await dashboard.configs.unpin(DEVICE_ID);
  dashboard.configPush.sitesChanged([SITE_ID]);

  const wire = createVirtualPair('demo-door');
  const gateway = await startGateway(
    GatewayConfig.parse({
      deviceId: DEVICE_ID,
      siteId: SITE_ID,
      dataDir: path.join(dataDir, 'gateway'),
      site: { name: DEMO_SITE.name, timeZone: DEMO_SITE.timeZone },
      readers: [{ id: 'door', path: wire.a, protocol: 'punchgate' }],
      http: { host: '127.0.0.1', port: Number(values['gateway-port']) },
      punch: { debounceSeconds: 10 },
      mqtt: { url: dashboard.brokerUrl, password: secret, batch: { ackTimeoutSeconds: 5 } },
      // The demo machine's clock is whatever it is; a real gateway checks NTP.
      clock: { syncCommand: null },
    }),
    logger.child({ process: 'gateway' }),
  );

  // The roster comes from the dashboard over MQTT: wait for it so that the first tap is known.
  for (let waited = 0; (await gateway.health()).config.version === 0 && waited < 10_000; waited += 50) await sleep(50);

  const link = new SerialLink({ path: wire.b, baudRate: 115200, logger: logger.child({ part: 'demo-reader' }) });
  await link.start();
  const reader = new BridgeDeviceSimulator({ port: link });
  reader.on('feedback', (feedback) => io.stdout(`  reader shows: ${feedback.kind.padEnd(9)} ${feedback.text ?? ''}`));
  await reader.start();

  io.stdout(`punchgate demo is running (data in ${dataDir})
  console:          ${dashboard.url}/  (sign in with the admin login below; English / 繁中)
  dashboard health: ${dashboard.url}/health
  admin sign-in:    username: ${login.username}  password: ${login.password}
                    (one-time: change it at first sign-in; POST ${dashboard.url}/api/v1/session)
  API token:        token: ${apiToken}
                    (role admin, named "${DEMO_TOKEN_NAME}"; a new one at each start, the previous one revoked)
  punches (API):    curl -H 'Authorization: Bearer ${apiToken}' '${dashboard.url}/api/v1/punches?limit=20'
  devices (API):    curl -H 'Authorization: Bearer ${apiToken}' ${dashboard.url}/api/v1/devices
  MQTT broker:      ${dashboard.brokerUrl}
  gateway:          ${gateway.url}/health
  kiosk screen:     ${gateway.url}/kiosk  (what the door's display shows; each demo tap appears there)
  metrics:          ${gateway.url}/metrics  and  curl -H 'Authorization: Bearer ${apiToken}' ${dashboard.url}/metrics
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
  await dashboard.stop();
  return 0;
}
