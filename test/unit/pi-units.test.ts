import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeviceBundle } from '../../provisioning/device-bundle.js';
import { mergeEnrolmentConfig, mergeEnrolmentConfigFiles } from '../../provisioning/pi/enrol-config.js';
import { bluetoothUnit, gatewayUnit, KIOSK_PAM_CONFIG, kioskUnit, kioskUrl, PI_LAYOUT, UNIT_FILES } from '../../provisioning/pi/units.js';
import { writeUnits } from '../../provisioning/pi/write-units.js';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

/** `KEY=value` settings of a unit, in order. */
const settingsOf = (unit: string, key: string): string[] => unit.split('\n').filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1));

function requireSystemdAnalyze(): void {
  if (!existsSync('/usr/bin/systemd-analyze') && !existsSync('/bin/systemd-analyze')) {
    throw new Error('this test needs systemd-analyze (Debian package systemd): bash scripts/ensure-test-packages.sh installs it');
  }
}

/** systemd-analyze verify: its complaints (empty when the unit is clean), and whether it failed. */
async function verify(file: string): Promise<{ failed: boolean; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('systemd-analyze', ['verify', file]);
    return { failed: false, output: `${stdout}${stderr}`.trim() };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    return { failed: true, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim() };
  }
}

describe('the Raspberry Pi systemd units (provisioning/pi/units.ts)', () => {
  let dir: string;
  /** Stand-ins for the programs the units run: verify checks that each ExecStart's program exists. */
  const stub: Record<string, string> = {};
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-units-'));
    await mkdir(path.join(dir, 'bin'));
    for (const name of ['punchgate', 'chromium', 'cage', 'curl', 'hciconfig', 'rfkill']) {
      stub[name] = path.join(dir, 'bin', name);
      await writeFile(stub[name] as string, '#!/bin/sh\n');
      await chmod(stub[name] as string, 0o755);
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs the gateway as Type=notify with a 30 s watchdog that only its main process may feed, and is the bundle\'s unit', () => {
    const unit = gatewayUnit({ deviceId: 'gw-1', siteId: 'mk-01' });
    expect(settingsOf(unit, 'Type')).toEqual(['notify']);
    expect(settingsOf(unit, 'NotifyAccess')).toEqual(['main']);
    expect(settingsOf(unit, 'WatchdogSec')).toEqual(['30s']);
    expect(settingsOf(unit, 'Restart')).toEqual(['always']);
    expect(settingsOf(unit, 'ExecStart')).toEqual(['/usr/local/bin/punchgate gateway --config /etc/punchgate/gateway.json']);
    expect(settingsOf(unit, 'StateDirectory')).toEqual(['punchgate']);
    expect(settingsOf(unit, 'ProtectSystem')).toEqual(['strict']);
    expect(settingsOf(unit, 'AmbientCapabilities')).toEqual(['CAP_NET_RAW CAP_NET_ADMIN']);
    expect(settingsOf(unit, 'Environment')).toContain('NOBLE_MULTI_ROLE=1');
    expect(settingsOf(unit, 'SyslogIdentifier')).toEqual(['punchgate-gateway']);
    // One text: what the dashboard puts in the enrolment bundle is what the installer writes.
    const bundled = buildDeviceBundle({ deviceId: 'gw-1', siteId: 'mk-01', secret: 'Xq3v_9Jk2LmN8pQr4StU6vWx0Yz1Ab2Cd3Ef4Gh5Ij', brokerUrl: 'mqtt://10.0.0.5:1883', createdAt: new Date(0) });
    expect(bundled.files.find((file) => file.name === UNIT_FILES.gateway)?.content.toString()).toBe(unit);
    // Without a device yet (an install before enrolment), a plain description.
    expect(settingsOf(gatewayUnit(), 'Description')).toEqual(['punchgate gateway']);
  });

  it('starts the kiosk after the gateway is ready and its page answers, with a profile in RAM, and restarts it', () => {
    const unit = kioskUnit({ url: 'http://127.0.0.1:8080/kiosk' });
    expect(settingsOf(unit, 'After')).toContain('punchgate-gateway.service');
    expect(settingsOf(unit, 'Wants')).toContain('punchgate-gateway.service');
    expect(settingsOf(unit, 'Restart')).toEqual(['always']);
    expect(settingsOf(unit, 'User')).toEqual([PI_LAYOUT.kioskUser]);
    expect(settingsOf(unit, 'PAMName')).toEqual([PI_LAYOUT.kioskPamService]);
    expect(settingsOf(unit, 'TTYPath')).toEqual(['/dev/tty1']);
    expect(settingsOf(unit, 'Conflicts')).toEqual(['getty@tty1.service']);
    expect(settingsOf(unit, 'ExecStartPre')).toEqual(['/usr/bin/curl --silent --show-error --output /dev/null --retry 30 --retry-delay 2 --retry-connrefused http://127.0.0.1:8080/kiosk']);
    const [execStart] = settingsOf(unit, 'ExecStart');
    expect(execStart).toMatch(/^\/usr\/bin\/cage -s -- \/usr\/bin\/chromium --kiosk .* --user-data-dir=\/run\/punchgate-kiosk\/chromium http:\/\/127\.0\.0\.1:8080\/kiosk$/);
    expect(settingsOf(unit, 'RuntimeDirectory')).toEqual(['punchgate-kiosk']);
    // A "%" would be a unit specifier, a space would split the argument.
    expect(() => kioskUnit({ url: 'http://127.0.0.1:8080/kiosk?x=%20' })).toThrow(/plain http/);
    expect(() => kioskUnit({ url: 'http://127.0.0.1:8080/kiosk', browser: '/usr/bin/my browser' })).toThrow(/absolute path/);
  });

  it('reaches the kiosk page where the gateway listens, on loopback for a wildcard address', () => {
    expect(kioskUrl(undefined)).toBe('http://127.0.0.1:8080/kiosk');
    expect(kioskUrl({ port: 8090 })).toBe('http://127.0.0.1:8090/kiosk');
    expect(kioskUrl({ host: '0.0.0.0', port: 80 })).toBe('http://127.0.0.1:80/kiosk');
    expect(kioskUrl({ host: '::1', port: 8080 })).toBe('http://[::1]:8080/kiosk');
    expect(() => kioskUrl({ port: 0 })).toThrow(/fixed port/);
  });

  it('powers the adapter up before the gateway, when the adapter appears', () => {
    const unit = bluetoothUnit();
    expect(settingsOf(unit, 'ExecStart')).toEqual(['-/usr/sbin/rfkill unblock bluetooth', '/usr/bin/hciconfig %i up']);
    expect(settingsOf(unit, 'Before')).toEqual(['punchgate-gateway.service']);
    expect(settingsOf(unit, 'BindsTo')).toEqual(['sys-subsystem-bluetooth-devices-%i.device']);
    expect(settingsOf(unit, 'WantedBy')).toEqual(['bluetooth.target']);
    expect(KIOSK_PAM_CONFIG).toMatch(/^session +required +pam_systemd\.so$/m);
  });

  it('writes units that systemd-analyze verify accepts without a warning', async () => {
    requireSystemdAnalyze();
    const units = path.join(dir, 'units');
    await mkdir(units);
    const files: Record<string, string> = {
      [UNIT_FILES.gateway]: gatewayUnit({ deviceId: 'gw-1', siteId: 'mk-01', executable: stub.punchgate }),
      [UNIT_FILES.kiosk]: kioskUnit({ url: 'http://127.0.0.1:8080/kiosk', browser: stub.chromium, cage: stub.cage, curl: stub.curl }),
      [UNIT_FILES.bluetooth]: bluetoothUnit({ hciconfig: stub.hciconfig, rfkill: stub.rfkill }),
    };
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(units, name), text);
    // The template as it is enabled: an instance for hci0.
    await symlink(UNIT_FILES.bluetooth, path.join(units, 'punchgate-bluetooth@hci0.service'));
    for (const name of [...Object.keys(files), 'punchgate-bluetooth@hci0.service']) {
      expect(await verify(path.join(units, name)), name).toEqual({ failed: false, output: '' });
    }
  });

  it('has a verify that can fail: a missing program and an unknown key are reported (the control)', async () => {
    requireSystemdAnalyze();
    const bad = path.join(dir, 'bad');
    await mkdir(bad);
    await writeFile(path.join(bad, UNIT_FILES.kiosk), kioskUnit({ url: 'http://127.0.0.1:8080/kiosk', browser: stub.chromium, cage: path.join(dir, 'no-such-cage'), curl: stub.curl }));
    const missing = await verify(path.join(bad, UNIT_FILES.kiosk));
    expect(missing.failed).toBe(true);
    expect(missing.output).toMatch(/no-such-cage is not executable/);
    await writeFile(path.join(bad, UNIT_FILES.gateway), gatewayUnit({ executable: stub.punchgate }).replace('Type=notify', 'Type=notify\nWatchdogSecs=30s'));
    expect((await verify(path.join(bad, UNIT_FILES.gateway))).output).toMatch(/Unknown key 'WatchdogSecs'/);
  });
});

describe('write-units (what punchgate-install runs)', () => {
  let dir: string;
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { stdout: (line: string) => void out.push(line), stderr: (line: string) => void err.push(line) }, out, err };
  };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-write-units-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes the three units and the PAM file, naming the device and the kiosk port from the config', async () => {
    const etc = path.join(dir, 'etc');
    const units = path.join(dir, 'system');
    const pam = path.join(dir, 'pam.d');
    for (const folder of [etc, units, pam]) await mkdir(folder);
    await writeFile(path.join(etc, 'gateway.json'), JSON.stringify({ deviceId: 'gw-7', siteId: 'tst-02', dataDir: '/var/lib/punchgate', http: { host: '0.0.0.0', port: 8090 } }));
    const { io: streams, out } = io();
    const code = await writeUnits(['--out', units, '--pam-dir', pam, '--config', path.join(etc, 'gateway.json'), '--browser', '/usr/bin/chromium-browser'], streams);
    expect(code).toBe(0);
    expect((await readdir(units)).sort()).toEqual([UNIT_FILES.bluetooth, UNIT_FILES.gateway, UNIT_FILES.kiosk]);
    expect(await readdir(pam)).toEqual([PI_LAYOUT.kioskPamService]);
    expect(out).toHaveLength(4);
    const gateway = await readFile(path.join(units, UNIT_FILES.gateway), 'utf8');
    expect(gateway).toBe(gatewayUnit({ deviceId: 'gw-7', siteId: 'tst-02', installDir: etc }));
    const kiosk = await readFile(path.join(units, UNIT_FILES.kiosk), 'utf8');
    expect(kiosk).toBe(kioskUnit({ url: 'http://127.0.0.1:8090/kiosk', browser: '/usr/bin/chromium-browser' }));
    expect(await readFile(path.join(pam, PI_LAYOUT.kioskPamService), 'utf8')).toBe(KIOSK_PAM_CONFIG);
  });

  it('without a config yet (before enrolment) writes the plain units for the default port', async () => {
    const { io: streams, out } = io();
    expect(await writeUnits(['--print', '--config', path.join(dir, 'none.json')], streams)).toBe(0);
    expect(out.join('\n')).toContain('Description=punchgate gateway\n');
    expect(out.join('\n')).toContain('http://127.0.0.1:8080/kiosk');
  });

  it('refuses what it cannot write: usage, a random port, a bad config', async () => {
    const usage = io();
    expect(await writeUnits(['--bogus'], usage.io)).toBe(2);
    expect(await writeUnits([], usage.io)).toBe(2);
    expect(usage.err.join('\n')).toMatch(/--out DIR/);
    await writeFile(path.join(dir, 'random-port.json'), JSON.stringify({ deviceId: 'gw-1', http: { port: 0 } }));
    const randomPort = io();
    expect(await writeUnits(['--print', '--config', path.join(dir, 'random-port.json')], randomPort.io)).toBe(2);
    expect(randomPort.err.join('\n')).toMatch(/the kiosk needs a fixed port/);
    await writeFile(path.join(dir, 'broken.json'), '{"deviceId": ');
    const broken = io();
    expect(await writeUnits(['--print', '--config', path.join(dir, 'broken.json')], broken.io)).toBe(2);
    expect(broken.err.join('\n')).toMatch(/cannot read .*broken\.json/);
  });
});

describe('re-enrolling a Pi keeps its readers', () => {
  it('keeps the previous readers when the bundle lists none, and says when the device changes', () => {
    const door = { id: 'door', path: '/dev/punchgate-reader-usb-1-1.2', protocol: 'rdm6300' };
    const next = { deviceId: 'gw-2', siteId: 'mk-01', readers: [] };
    expect(mergeEnrolmentConfig(next, { deviceId: 'gw-1', readers: [door] })).toEqual({
      config: { deviceId: 'gw-2', siteId: 'mk-01', readers: [door] },
      notes: ['this Pi was gw-1; it becomes gw-2', 'kept the readers of the previous config: door'],
    });
    expect(mergeEnrolmentConfig(next, undefined)).toEqual({ config: next, notes: [] });
    // A bundle that does list readers wins.
    const side = { id: 'side', path: '/dev/serial0', protocol: 'wiegand' };
    expect(mergeEnrolmentConfig({ ...next, readers: [side] }, { deviceId: 'gw-2', readers: [door] }).config.readers).toEqual([side]);
  });

  it('rewrites the new file in place', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'punchgate-enrol-'));
    try {
      await writeFile(path.join(dir, 'new.json'), JSON.stringify({ deviceId: 'gw-1', readers: [] }));
      await writeFile(path.join(dir, 'old.json'), JSON.stringify({ deviceId: 'gw-1', readers: [{ id: 'door' }] }));
      expect(await mergeEnrolmentConfigFiles(path.join(dir, 'new.json'), path.join(dir, 'old.json'))).toEqual(['kept the readers of the previous config: door']);
      expect(JSON.parse(await readFile(path.join(dir, 'new.json'), 'utf8'))).toEqual({ deviceId: 'gw-1', readers: [{ id: 'door' }] });
      expect(await mergeEnrolmentConfigFiles(path.join(dir, 'new.json'), path.join(dir, 'missing.json'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the udev rules for badge readers', () => {
  /** udev's rule syntax: comma-separated KEY{attr}OP"value" pairs per line, labels that GOTOs name. */
  it('are well-formed, name readers by USB port and serial number, and give them to dialout', async () => {
    const text = await readFile(path.join(repoRoot, 'provisioning/pi/70-punchgate-readers.rules'), 'utf8');
    const rules = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    const pair = /^(ACTION|SUBSYSTEM|SUBSYSTEMS|KERNEL|ATTRS\{[a-z_]+\}|ENV\{[A-Z_]+\}|GROUP|MODE|SYMLINK|GOTO|LABEL)(==|!=|=|\+=)"[^"]*"$/;
    const labels = new Set<string>();
    const gotos = new Set<string>();
    for (const rule of rules) {
      for (const part of rule.split(', ')) {
        expect(part, rule).toMatch(pair);
        const label = /^LABEL="(.*)"$/.exec(part)?.[1];
        if (label) labels.add(label);
        const target = /^GOTO="(.*)"$/.exec(part)?.[1];
        if (target) gotos.add(target);
      }
    }
    expect([...gotos].every((target) => labels.has(target))).toBe(true);
    expect(rules).toContain('GROUP="dialout", MODE="0660"');
    expect(text).toContain('SYMLINK+="punchgate-reader-usb-$env{PUNCHGATE_USB_PORT}$env{PUNCHGATE_IF}"');
    expect(text).toContain('SYMLINK+="punchgate-reader-sn-$env{ID_SERIAL_SHORT}$env{PUNCHGATE_IF}"');
  });
});
