import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { loadGatewayConfig } from '../../gateway/config-file.js';
import { newDeviceSecret } from '../../provisioning/device-secrets.js';
import { mosquittoAclFile } from '../../provisioning/mosquitto.js';
import { mosquittoPasswordFile } from '../../provisioning/mosquitto-passwd.js';
import { runCli } from '../support/cli.js';
import { testLogger } from '../support/logger.js';
import { MosquittoBroker } from '../support/mosquitto.js';
import { wifiOnlyPolicy } from '../support/site-policy.js';
import { waitFor } from '../support/wait.js';

/**
 * `punchgate provision device` as users run it (the built dist/bin/punchgate.js, a separate
 * process) against a running dashboard: it registers the device, writes the bundle unpacked and as
 * the .tar.gz (the secret 0600, the folder 0700), and the written secret logs in at the broker.
 * Refusals (unknown site, device exists, unreachable dashboard, bad token, a folder in the way) exit
 * 1 and change nothing; usage errors exit 2.
 */

const execFileAsync = promisify(execFile);
const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('punchgate provision device', () => {
  let dir: string;
  let dashboard: Dashboard;
  let facilities: string;
  const connection = (): string[] => ['--url', dashboard.url, '--token', dashboard.apiToken];
  const provision = (args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
    // No PUNCHGATE_URL/TOKEN from the outside: each case says what it connects with.
    runCli(['provision', 'device', ...args], { cwd: options.cwd ?? dir, env: { PUNCHGATE_URL: '', PUNCHGATE_TOKEN: '', ...options.env }, timeoutMs: 30_000 });
  const deviceIds = async (): Promise<string[]> => (await dashboard.devices.list()).map((device) => device.id);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-provision-cli-'));
    dashboard = await startDashboard(DashboardConfig.parse({ dataDir: path.join(dir, 'dashboard'), http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }), testLogger(), {
      onFirstAdmin: () => undefined,
    });
    await dashboard.sites.put({ id: 'mk-01', name: 'Mong Kok', nameZh: '旺角', timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy('mk-01'), beacons: [] }, new Date());
    facilities = (await dashboard.auth.tokens.create({ name: 'facilities', role: 'facilities' }, undefined)).secret;
  }, 60_000);

  afterAll(async () => {
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a device with an id made from the site, and writes its bundle into ./punchgate-enrol-ID: unpacked, as the .tar.gz, secret 0600, folder 0700', async () => {
    const work = await mkdtemp(path.join(dir, 'work-'));
    const result = await provision(['--site', 'mk-01', '--name', 'Front door', ...connection()], { cwd: work });
    expect(result.code, result.stderr).toBe(0);
    const [id] = (await deviceIds()).filter((candidate) => candidate.startsWith('mk-01-'));
    expect(id).toMatch(/^mk-01-[0-9a-f]{4}$/);
    expect(await dashboard.devices.get(id!)).toMatchObject({ siteId: 'mk-01', name: 'Front door' });

    const out = path.join(work, `punchgate-enrol-${id}`);
    expect((await readdir(out)).sort()).toEqual(['README.md', 'gateway.json', `punchgate-enrol-${id}.tar.gz`, 'punchgate-gateway.service', 'secret']);
    expect(await modeOf(out)).toBe(0o700);
    expect(await modeOf(path.join(out, 'secret'))).toBe(0o600);
    expect(await modeOf(path.join(out, `punchgate-enrol-${id}.tar.gz`))).toBe(0o600);
    expect(await modeOf(path.join(out, 'gateway.json'))).toBe(0o644);

    // The .tar.gz holds the same files as the folder.
    const unpacked = path.join(work, 'unpacked');
    await mkdir(unpacked);
    await execFileAsync('tar', ['-xzf', path.join(out, `punchgate-enrol-${id}.tar.gz`), '-C', unpacked, '--strip-components=1']);
    for (const name of ['gateway.json', 'secret', 'punchgate-gateway.service', 'README.md']) {
      expect(await readFile(path.join(unpacked, name), 'utf8'), name).toBe(await readFile(path.join(out, name), 'utf8'));
    }
    // The gateway's loader reads the config; the written secret logs in at the broker.
    const config = await loadGatewayConfig(path.join(out, 'gateway.json'));
    expect(config).toMatchObject({ deviceId: id, siteId: 'mk-01', site: { name: 'Mong Kok' }, mqtt: { url: dashboard.brokerUrl, username: id, passwordFile: path.join(out, 'secret') } });
    const secret = (await readFile(path.join(out, 'secret'), 'utf8')).trim();
    const client = await mqtt.connectAsync(dashboard.brokerUrl, { clientId: id, username: id, password: secret, reconnectPeriod: 0 });
    await client.endAsync();

    // What to do next, with the commands of the README; the secret itself is never printed.
    expect(result.stdout).toContain(`Registered ${id} (Front door) at site mk-01.`);
    expect(result.stdout).toContain(`  1. sudo mkdir -p /etc/punchgate && sudo tar -xzf punchgate-enrol-${id}.tar.gz -C /etc/punchgate --strip-components=1 --no-same-owner`);
    expect(result.stdout).toContain('  3. sudo cp /etc/punchgate/punchgate-gateway.service /etc/systemd/system/ && sudo systemctl daemon-reload && sudo systemctl enable --now punchgate-gateway');
    expect(result.stdout).toContain('Warning: the bundle\'s broker address mqtt://127.0.0.1:');
    expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
  });

  it('takes --id and --out, and PUNCHGATE_URL/PUNCHGATE_TOKEN from the environment', async () => {
    const out = path.join(dir, 'bundles', 'door');
    const result = await provision(['--site', 'mk-01', '--id', 'mk-01-door', '--out', out], { env: { PUNCHGATE_URL: dashboard.url, PUNCHGATE_TOKEN: facilities } });
    expect(result.code, result.stderr).toBe(0);
    expect(await readdir(out)).toContain('punchgate-enrol-mk-01-door.tar.gz');
    expect(await dashboard.devices.get('mk-01-door')).toMatchObject({ siteId: 'mk-01', name: null });
  });

  it('re-enrols a registered device with --re-enrol: a new secret in a new bundle, the old one refused', async () => {
    const first = path.join(dir, 'gw-re-1');
    expect((await provision(['--site', 'mk-01', '--id', 'gw-re', '--out', first, ...connection()])).code).toBe(0);
    const oldSecret = (await readFile(path.join(first, 'secret'), 'utf8')).trim();
    const second = path.join(dir, 'gw-re-2');
    const result = await provision(['--re-enrol', '--id', 'gw-re', '--out', second, ...connection()]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Re-enrolled gw-re (site mk-01): it has a new secret, and the old one no longer works.');
    const newSecret = (await readFile(path.join(second, 'secret'), 'utf8')).trim();
    expect(newSecret).not.toBe(oldSecret);
    await expect(mqtt.connectAsync(dashboard.brokerUrl, { clientId: 'gw-re', username: 'gw-re', password: oldSecret, reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/i);
    await (await mqtt.connectAsync(dashboard.brokerUrl, { clientId: 'gw-re', username: 'gw-re', password: newSecret, reconnectPeriod: 0 })).endAsync();
  });

  it('refuses an unknown site, an existing device and a device to re-enrol that is not registered, with exit code 1, registering and writing nothing', async () => {
    const before = await deviceIds();
    const unknownSite = await provision(['--site', 'nowhere-9', '--id', 'gw-nowhere', '--out', path.join(dir, 'nowhere'), ...connection()]);
    expect(unknownSite.code).toBe(1);
    expect(unknownSite.stderr).toBe('punchgate provision device: site nowhere-9 does not exist at the dashboard (or this token does not reach it): create it in the console under Sites first\n');

    expect((await provision(['--site', 'mk-01', '--id', 'gw-twice', '--out', path.join(dir, 'twice-1'), ...connection()])).code).toBe(0);
    const exists = await provision(['--site', 'mk-01', '--id', 'gw-twice', '--out', path.join(dir, 'twice-2'), ...connection()]);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toBe(
      'punchgate provision device: device gw-twice is already registered: choose another --id, or re-enrol a replaced box with: punchgate provision device --re-enrol --id gw-twice\n',
    );
    const notRegistered = await provision(['--re-enrol', '--id', 'gw-never', '--out', path.join(dir, 'never'), ...connection()]);
    expect(notRegistered.code).toBe(1);
    expect(notRegistered.stderr).toMatch(/device gw-never is not registered/);

    expect((await deviceIds()).filter((id) => !before.includes(id))).toEqual(['gw-twice']);
    for (const folder of ['nowhere', 'twice-2', 'never']) await expect(stat(path.join(dir, folder))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to write over a folder that is not empty before it registers anything', async () => {
    const out = path.join(dir, 'occupied');
    await mkdir(out);
    await writeFile(path.join(out, 'notes.txt'), 'mine');
    const result = await provision(['--site', 'mk-01', '--id', 'gw-occupied', '--out', out, ...connection()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`punchgate provision device: ${out} exists and is not empty: give --out a new folder (a bundle is never written over another)\n`);
    expect(await dashboard.devices.get('gw-occupied')).toBeUndefined();
    expect(await readdir(out)).toEqual(['notes.txt']);
  });

  it('says when the dashboard cannot be reached or refuses the token (exit 1)', async () => {
    const unreachable = await provision(['--site', 'mk-01', '--url', `http://127.0.0.1:${await closedPort()}`, '--token', 'pgt_whatever']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^punchgate provision device: cannot reach the dashboard at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(is it running\? --url or PUNCHGATE_URL says where\)\n$/);
    const badToken = await provision(['--site', 'mk-01', '--url', dashboard.url, '--token', 'pgt_not-a-token']);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toBe('punchgate provision device: the dashboard does not accept the token (HTTP 401): check --token or PUNCHGATE_TOKEN (pgt_..., from the console under Tokens)\n');
    const storeManager = (await dashboard.auth.tokens.create({ name: 'manager', role: 'store-manager', sites: ['mk-01'] }, undefined)).secret;
    const forbidden = await provision(['--site', 'mk-01', '--id', 'gw-manager', '--out', path.join(dir, 'manager'), '--url', dashboard.url, '--token', storeManager]);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/may not register or re-enrol devices \(HTTP 403\)/);
    expect(await dashboard.devices.get('gw-manager')).toBeUndefined();
  });

  it('answers usage errors with exit code 2 and the usage, and --help with 0', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[...connection()], /--site SITE is required/],
      [['--site', 'mk-01', '--colour', 'red', ...connection()], /Unknown option '--colour'/],
      [['--site', 'mk-01', '--id', 'bad/id', ...connection()], /--id "bad\/id" is not a device id/],
      [['--site', 'mk/01', ...connection()], /--site "mk\/01" is not a site id/],
      [['--site', 'mk-01', '--name', '   ', ...connection()], /--name must be 1 to 120 characters/],
      [['--re-enrol', ...connection()], /--re-enrol needs --id ID/],
      [['--re-enrol', '--id', 'gw-1', '--site', 'mk-01', ...connection()], /--re-enrol keeps the device's site and name/],
      [['--site', 'mk-01', '--url', dashboard.url], /an API token is needed/],
      [['--site', 'mk-01', '--url', 'ftp://example', '--token', 'pgt_x'], /is not an http:\/\/ or https:\/\/ URL/],
    ];
    for (const [args, message] of cases) {
      const result = await provision(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr).toContain('usage: punchgate provision device --site SITE');
    }
    const help = await provision(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--out DIR');
  }, 60_000);
});

describe('punchgate provision device with a dashboard on an external Mosquitto', () => {
  const dashboardPassword = newDeviceSecret();
  let broker: MosquittoBroker;
  let dir: string;
  let dashboard: Dashboard;

  beforeAll(async () => {
    broker = await MosquittoBroker.start({ acl: mosquittoAclFile({ dashboardUsername: 'dashboard' }), users: {}, passwordFile: mosquittoPasswordFile([{ username: 'dashboard', password: dashboardPassword }]) });
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-provision-cli-mosq-'));
    dashboard = await startDashboard(
      DashboardConfig.parse({ dataDir: path.join(dir, 'dashboard'), http: { port: 0 }, mqtt: { mode: 'external', url: broker.url, username: 'dashboard', password: dashboardPassword } }),
      testLogger(),
      { onFirstAdmin: () => undefined },
    );
    await dashboard.sites.put({ id: 'mk-01', name: 'Mong Kok', nameZh: null, timeZone: 'Asia/Hong_Kong', policy: wifiOnlyPolicy('mk-01'), beacons: [] }, new Date());
  }, 60_000);

  afterAll(async () => {
    await dashboard?.stop();
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the password-file line and the ACL; installed at the broker, the written secret logs in', async () => {
    const out = path.join(dir, 'gw-m');
    const result = await runCli(['provision', 'device', '--site', 'mk-01', '--id', 'gw-m', '--out', out, '--url', dashboard.url, '--token', dashboard.apiToken], { timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(0);
    const passwordLine = /^ {2}(gw-m:\$7\$101\$\S+)$/m.exec(result.stdout)?.[1];
    expect(passwordLine).toBeDefined();
    expect(result.stdout).toContain('add this line to its password_file, then reload it (kill -HUP)');
    expect(result.stdout).toContain('  pattern write punchgate/v1/devices/%u/punches');
    await broker.reloadPasswordFile(`${mosquittoPasswordFile([{ username: 'dashboard', password: dashboardPassword }])}${passwordLine}\n`);
    const secret = (await readFile(path.join(out, 'secret'), 'utf8')).trim();
    // Mosquitto reloads on SIGHUP in its own time.
    const client = await waitFor('gw-m let in by Mosquitto', () =>
      mqtt.connectAsync(broker.url, { clientId: 'gw-m', username: 'gw-m', password: secret, protocolVersion: 4, reconnectPeriod: 0 }).catch(() => undefined),
    );
    await client.endAsync();
  });
});
