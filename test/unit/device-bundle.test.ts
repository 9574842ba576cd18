import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../gateway/config-file.js';
import { loadMqttAuth } from '../../gateway/uplink/mqtt-options.js';
import {
  buildDeviceBundle,
  DeviceBundleError,
  packDeviceBundle,
  unpackDeviceBundle,
  type BundleFile,
  type DeviceBundleInput,
} from '../../provisioning/device-bundle.js';
import { gatewayUnit } from '../../provisioning/pi/units.js';

const execFileAsync = promisify(execFile);

const SECRET = 'Xq3v_9Jk2LmN8pQr4StU6vWx0Yz1Ab2Cd3Ef4Gh5Ij';
const CA = '-----BEGIN CERTIFICATE-----\nMIIBfakeCAforTests\n-----END CERTIFICATE-----\n';
const base: DeviceBundleInput = {
  deviceId: 'mk-01-door',
  siteId: 'mk-01',
  siteName: 'Mong Kok 旺角',
  timeZone: 'Asia/Hong_Kong',
  secret: SECRET,
  brokerUrl: 'mqtts://broker.example.hk:8883',
  brokerCa: CA,
  createdAt: new Date('2026-03-02T01:02:03.000Z'),
};

const fileOf = (files: BundleFile[], name: string): BundleFile | undefined => files.find((file) => file.name === name);
const textOf = (files: BundleFile[], name: string): string => fileOf(files, name)?.content.toString('utf8') ?? '';

/** Unpacks with the real `tar`, as a technician's Pi would (the README's own command line). */
async function untar(archive: Buffer, into: string): Promise<void> {
  const file = path.join(into, 'bundle.tar.gz');
  await writeFile(file, archive);
  await execFileAsync('tar', ['-xzf', file, '-C', into, '--strip-components=1', '--no-same-owner']);
}

describe('device enrolment bundle', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-bundle-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('holds the config, the secret (0600 only), the CA, the unit and the README, in one folder named after the device', async () => {
    const bundle = buildDeviceBundle(base);
    expect(bundle.fileName).toBe('punchgate-enrol-mk-01-door.tar.gz');
    expect(bundle.files.map((file) => [file.name, file.mode.toString(8)])).toEqual([
      ['gateway.json', '644'],
      ['secret', '600'],
      ['ca.pem', '644'],
      ['punchgate-gateway.service', '644'],
      ['README.md', '644'],
    ]);
    // The secret is in its 0600 file and nowhere else.
    expect(textOf(bundle.files, 'secret')).toBe(`${SECRET}\n`);
    for (const file of bundle.files.filter((candidate) => candidate.name !== 'secret')) expect(file.content.toString('utf8'), file.name).not.toContain(SECRET);
    expect(textOf(bundle.files, 'ca.pem')).toBe(CA);

    const archive = await packDeviceBundle(bundle);
    const unpacked = await unpackDeviceBundle(archive);
    expect(unpacked.directory).toBe('punchgate-enrol-mk-01-door');
    expect(unpacked.files).toEqual(bundle.files);
  });

  it('unpacks with tar into files with their modes, and the gateway\'s own loader reads the config and the secret from them', async () => {
    const into = await mkdtemp(path.join(dir, 'pi-'));
    await untar(await packDeviceBundle(buildDeviceBundle(base)), into);
    expect((await stat(path.join(into, 'secret'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(into, 'gateway.json'))).mode & 0o777).toBe(0o644);

    const config = await loadGatewayConfig(path.join(into, 'gateway.json'));
    expect(config).toMatchObject({
      deviceId: 'mk-01-door',
      siteId: 'mk-01',
      dataDir: '/var/lib/punchgate',
      site: { name: 'Mong Kok 旺角', timeZone: 'Asia/Hong_Kong' },
      readers: [],
      mqtt: { url: 'mqtts://broker.example.hk:8883', username: 'mk-01-door', passwordFile: path.join(into, 'secret'), ca: path.join(into, 'ca.pem') },
    });
    // What the uplink will present to the broker.
    const auth = await loadMqttAuth(config.mqtt!, config.deviceId);
    expect(auth).toEqual({ username: 'mk-01-door', password: SECRET, ca: Buffer.from(CA) });
  });

  it('includes the CA only for a TLS broker that has one', () => {
    const names = (input: Partial<DeviceBundleInput>): string[] => buildDeviceBundle({ ...base, ...input }).files.map((file) => file.name);
    expect(names({ brokerUrl: 'wss://broker.example.hk/mqtt' })).toContain('ca.pem');
    // A CA beside a plain mqtt:// URL would never be used: left out, and the config does not name it.
    const plain = buildDeviceBundle({ ...base, brokerUrl: 'mqtt://10.0.0.5:1883' });
    expect(plain.files.map((file) => file.name)).not.toContain('ca.pem');
    expect(JSON.parse(textOf(plain.files, 'gateway.json')).mqtt).toEqual({ url: 'mqtt://10.0.0.5:1883', username: 'mk-01-door', passwordFile: 'secret' });
    // TLS without a CA: the Pi's own trust store (a public CA) decides.
    expect(names({ brokerCa: null })).not.toContain('ca.pem');
    expect(textOf(plain.files, 'README.md')).not.toContain('ca.pem');
  });

  it('makes the same bytes from the same input (a re-download can be compared), and a different secret gives different bytes', async () => {
    const first = await packDeviceBundle(buildDeviceBundle(base));
    expect((await packDeviceBundle(buildDeviceBundle(base))).equals(first)).toBe(true);
    expect((await packDeviceBundle(buildDeviceBundle({ ...base, secret: `${SECRET}x` }))).equals(first)).toBe(false);
  });

  it('writes a systemd unit that runs the gateway as its own user, restarts forever, and keeps serial and Bluetooth usable under the hardening', () => {
    const unit = textOf(buildDeviceBundle(base).files, 'punchgate-gateway.service');
    const settings = (key: string): string[] => unit.split('\n').filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1));
    // The installer's unit (provisioning/pi/units.ts), with this device named in its Description.
    expect(unit).toBe(gatewayUnit({ deviceId: 'mk-01-door', siteId: 'mk-01' }));
    expect(settings('Description')).toEqual(['punchgate gateway mk-01-door (site mk-01)']);
    // READY=1 once started, watchdog pings from the event loop (gateway/systemd-notify.ts).
    expect(settings('Type')).toEqual(['notify']);
    expect(settings('NotifyAccess')).toEqual(['main']);
    expect(settings('WatchdogSec')).toEqual(['30s']);
    expect(settings('ExecStart')).toEqual(['/usr/local/bin/punchgate gateway --config /etc/punchgate/gateway.json']);
    expect(settings('User')).toEqual(['punchgate']);
    expect(settings('Restart')).toEqual(['always']);
    expect(settings('StartLimitIntervalSec')).toEqual(['0']);
    expect(settings('SupplementaryGroups')).toEqual(['dialout']);
    expect(settings('StateDirectory')).toEqual(['punchgate']);
    expect(settings('AmbientCapabilities')).toEqual(['CAP_NET_RAW CAP_NET_ADMIN']);
    expect(settings('RestrictAddressFamilies')[0]?.split(' ')).toEqual(expect.arrayContaining(['AF_BLUETOOTH', 'AF_INET', 'AF_INET6', 'AF_UNIX', 'AF_NETLINK']));
    for (const key of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'ProtectKernelModules', 'RestrictSUIDSGID']) expect(settings(key), key).toHaveLength(1);
    // These would take the readers or Node's JIT away.
    for (const key of ['PrivateDevices', 'ProtectClock', 'MemoryDenyWriteExecute', 'DevicePolicy', 'DeviceAllow']) expect(settings(key), key).toEqual([]);
  });

  it.skipIf(!existsSync('/usr/bin/systemd-analyze'))('writes a unit that systemd-analyze verify accepts without a warning', async () => {
    // verify checks that ExecStart's program exists: point it at a real one.
    const executable = path.join(dir, 'punchgate');
    await writeFile(executable, '#!/bin/sh\n');
    await chmod(executable, 0o755);
    const unitFile = path.join(dir, 'punchgate-gateway.service');
    await writeFile(unitFile, textOf(buildDeviceBundle({ ...base, executable }).files, 'punchgate-gateway.service'));
    const { stdout, stderr } = await execFileAsync('systemd-analyze', ['verify', unitFile]);
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });

  it('writes the three steps in English and Traditional Chinese, with the commands matching the files', () => {
    const readme = textOf(buildDeviceBundle(base).files, 'README.md');
    for (const heading of ['### 1. Copy the bundle to the Pi', '### 2. Create the service account', '### 3. Install and start the service', '### 1. 把套件複製到 Pi', '### 2. 建立服務帳戶', '### 3. 安裝並啟動服務']) {
      expect(readme).toContain(heading);
    }
    expect(readme).toContain('sudo tar -xzf punchgate-enrol-mk-01-door.tar.gz -C /etc/punchgate --strip-components=1');
    expect(readme).toContain('sudo chown punchgate:punchgate /etc/punchgate/secret');
    expect(readme).toContain('sudo cp /etc/punchgate/punchgate-gateway.service /etc/systemd/system/');
    expect(readme).toContain('sudo systemctl enable --now punchgate-gateway');
    // The installer's one-command way, in both languages.
    expect(readme.split('sudo punchgate-install --bundle punchgate-enrol-mk-01-door.tar.gz')).toHaveLength(3);
    expect(readme).toContain('mqtts://broker.example.hk:8883');
    expect(readme).toContain('Mong Kok 旺角 (mk-01)');
  });

  it('refuses bad input, naming each field, and makes nothing', () => {
    const attempt = (input: Partial<DeviceBundleInput>): string[] => {
      try {
        buildDeviceBundle({ ...base, ...input });
      } catch (error) {
        expect(error).toBeInstanceOf(DeviceBundleError);
        return (error as DeviceBundleError).problems;
      }
      throw new Error('the bundle was made');
    };
    expect(attempt({ deviceId: 'gw/../x' })).toEqual(['deviceId: may hold only letters, digits, "_", "." and "-", starting with a letter or digit, at most 64 characters']);
    expect(attempt({ brokerUrl: 'http://broker:1883' })).toEqual(['brokerUrl: must be an mqtt://, mqtts://, ws:// or wss:// URL']);
    expect(attempt({ secret: 'has a space in the middle of it' })).toEqual(['secret: must be printable ASCII without spaces']);
    expect(attempt({ secret: 'short' })).toEqual(['secret: is too short to be a device secret']);
    expect(attempt({ brokerCa: 'not a certificate' })).toEqual(['brokerCa: must be a PEM certificate']);
    expect(attempt({ timeZone: 'Mars/Olympus', installDir: 'etc/punchgate', executable: '/usr/bin/punch gate' })).toEqual([
      'timeZone: is not an IANA time zone (e.g. Asia/Hong_Kong)',
      'installDir: must be an absolute path without spaces or quotes',
      'executable: must be an absolute path without spaces or quotes',
    ]);
  });

  describe('reading an archive back', () => {
    async function archiveOf(entries: Array<{ name: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string; content?: string }>): Promise<Buffer> {
      const archive = pack();
      const chunks: Buffer[] = [];
      const collected = (async () => {
        for await (const chunk of archive) chunks.push(Buffer.from(chunk as Uint8Array));
      })();
      for (const entry of entries) {
        await new Promise<void>((resolve, reject) => {
          const done = (error?: Error | null): void => (error ? reject(error) : resolve());
          if (entry.type === 'file' || entry.type === undefined) archive.entry({ name: entry.name, type: 'file' }, entry.content ?? 'x', done);
          else archive.entry({ name: entry.name, type: entry.type, ...(entry.linkname ? { linkname: entry.linkname } : {}) }, done);
        });
      }
      archive.finalize();
      await collected;
      return gzipSync(Buffer.concat(chunks));
    }

    it('refuses paths that climb out, absolute paths, links, two folders, an empty archive and bytes that are not gzip', async () => {
      const refusal = async (archive: Buffer): Promise<string> => {
        const error = await unpackDeviceBundle(archive).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(DeviceBundleError);
        return (error as Error).message;
      };
      expect(await refusal(await archiveOf([{ name: 'punchgate-enrol-a/../../etc/passwd' }]))).toMatch(/unexpected path/);
      expect(await refusal(await archiveOf([{ name: '/etc/passwd' }]))).toMatch(/unexpected path/);
      expect(await refusal(await archiveOf([{ name: 'punchgate-enrol-a/secret', type: 'symlink', linkname: '/etc/shadow' }]))).toMatch(/not a plain file/);
      expect(await refusal(await archiveOf([{ name: 'punchgate-enrol-a/x' }, { name: 'punchgate-enrol-b/y' }]))).toMatch(/two folders/);
      expect(await refusal(await archiveOf([{ name: 'punchgate-enrol-a/', type: 'directory' }]))).toMatch(/empty/);
      expect(await refusal(Buffer.from('{"error":"not found"}'))).toMatch(/not a gzip file/);
      expect(await refusal(gzipSync(Buffer.from('plain text, not a tar archive, '.repeat(40))))).toMatch(/not a valid tar archive|empty/);
    });
  });
});
