import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeviceBundle, packDeviceBundle } from '../../provisioning/device-bundle.js';
import { PI_LAYOUT, UNIT_FILES } from '../../provisioning/pi/units.js';
import { repoRoot } from '../support/cli.js';
import { requireCommand } from '../support/pty-pair.js';

/**
 * provisioning/pi/install.sh, run for real in its --dry-run mode on this (Debian) machine: every
 * step printed, in order, and nothing on the machine changed, which strace checks syscall by
 * syscall. The units it writes are checked in test/unit/pi-units.test.ts.
 */

const installer = path.join(repoRoot, 'provisioning/pi/install.sh');
const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
/** The Node.js the installer finds on PATH (it keeps it: new enough). */
const pathNode = spawnSync('bash', ['-c', 'command -v node'], { encoding: 'utf8' }).stdout.trim();
const pathNodeVersion = spawnSync(pathNode, ['--version'], { encoding: 'utf8' }).stdout.trim();
const makeRelease = path.join(repoRoot, 'provisioning/pi/make-release.sh');

/** What a dry run must leave as it found it. */
const TARGETS = [
  PI_LAYOUT.configDir,
  PI_LAYOUT.installRoot,
  PI_LAYOUT.executable,
  '/usr/local/sbin/punchgate-install',
  '/etc/udev/rules.d/70-punchgate-readers.rules',
  '/etc/systemd/journald.conf.d/punchgate.conf',
  `/etc/systemd/system/${UNIT_FILES.gateway}`,
  `/etc/systemd/system/${UNIT_FILES.kiosk}`,
  '/etc/pam.d/punchgate-kiosk',
  '/etc/apt/sources.list.d/nodesource.list',
];
const MODIFYING = /^\d+ +(?:(?:openat|open|creat)\(.*O_(?:WRONLY|RDWR|CREAT|TRUNC)|(?:unlink|unlinkat|rename|renameat|renameat2|mkdir|mkdirat|rmdir|chmod|fchmod|fchmodat|chown|fchown|fchownat|lchown|link|linkat|symlink|symlinkat|truncate|ftruncate|mknod|mknodat|utimensat)\()/;

/**
 * The traced calls that change a file anywhere but in the run's own temp dir (and /dev/null,
 * /dev/tty): every path a line names, quoted or as a descriptor's `<path>` (strace -y), must be
 * one of those for the line to be let through.
 */
function changesOutside(trace: string, scratch: string): string[] {
  const allowed = (file: string): boolean => file.startsWith(`${scratch}/`) || file === scratch || /^\/dev\/(null|tty)$/.test(file);
  return trace
    .split('\n')
    .filter((line) => MODIFYING.test(line))
    .filter((line) => {
      // The working directory strace names after AT_FDCWD is not written to; a relative path would be.
      const named = line.replace(/AT_FDCWD<[^>]*>/g, 'AT_FDCWD');
      const paths = [...named.matchAll(/"([^"]*)"|<(\/[^>]*)>/g)].map((match) => match[1] ?? match[2] ?? '');
      return paths.length === 0 || !paths.every(allowed);
    });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Syscalls that would change a file, outside the run's own temp dir and /dev/null (with `trace`). */
  changes: string[];
}

describe('punchgate-install (provisioning/pi/install.sh)', () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-install-'));
    // Readable by the unprivileged user of the non-root runs.
    await chmod(dir, 0o755);
    bundle = path.join(dir, 'punchgate-enrol-mk-01-door.tar.gz');
    const made = buildDeviceBundle({ deviceId: 'mk-01-door', siteId: 'mk-01', secret: 'Xq3v_9Jk2LmN8pQr4StU6vWx0Yz1Ab2Cd3Ef4Gh5Ij', brokerUrl: 'mqtt://10.0.0.5:1883', createdAt: new Date('2026-03-02T00:00:00Z') });
    await writeFile(bundle, await packDeviceBundle(made));
    await chmod(bundle, 0o644);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function run(args: string[], options: { trace?: boolean; asNobody?: boolean } = {}): Promise<Run> {
    const scratch = await mkdtemp(path.join(dir, 'run-'));
    await chmod(scratch, 0o777);
    const traceFile = path.join(scratch, 'trace.txt');
    let command = ['bash', installer, ...args];
    if (options.asNobody) command = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...command];
    if (options.trace) {
      requireCommand('strace', 'strace');
      command = ['strace', '-f', '-y', '-qq', '-e', 'signal=none', '-o', traceFile, '-e', `trace=${MODIFYING_CALLS}`, ...command];
    }
    const [program, ...rest] = command;
    // bash keeps here-documents in TMPDIR: the one place a dry run may write.
    const result = spawnSync(program as string, rest, { encoding: 'utf8', env: { ...process.env, TMPDIR: scratch }, timeout: 60_000 });
    let changes: string[] = [];
    if (options.trace) {
      changes = changesOutside(await readFile(traceFile, 'utf8'), scratch);
    }
    return { code: result.status, stdout: result.stdout, stderr: result.stderr, changes };
  }
  const MODIFYING_CALLS = 'openat,open,creat,unlink,unlinkat,rename,renameat,renameat2,mkdir,mkdirat,rmdir,chmod,fchmod,fchmodat,chown,fchown,fchownat,lchown,link,linkat,symlink,symlinkat,truncate,ftruncate,mknodat,utimensat';

  /** The lines, each found after the one before it. */
  const expectInOrder = (output: string, lines: string[]): void => {
    const all = output.split('\n');
    let at = -1;
    for (const line of lines) {
      const found = all.findIndex((candidate, index) => index > at && candidate === line);
      expect(found, `"${line}" after line ${at}:\n${output}`).toBeGreaterThan(at);
      at = found;
    }
  };
  const steps = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('== ')).map((line) => line.replace(/^== \d+\. /, ''));

  it('prints every step of a first install with an enrolment bundle, in order, and changes nothing', async () => {
    const before = TARGETS.map((target) => [target, existsSync(target)]);
    const userBefore = spawnSync('id', ['-u', 'punchgate']).status;
    const result = await run(['--dry-run', '--bundle', bundle], { trace: true });
    expect(result.stderr).not.toMatch(/punchgate-install:/);
    expect(result.code).toBe(0);
    expect(steps(result.stdout)).toEqual([
      'check this machine',
      'system packages (BlueZ, build tools for the native modules, cage and Chromium for the kiosk)',
      'Node.js 20.19.0 or newer',
      `punchgate ${version} in /opt/punchgate/releases/${version}`,
      'accounts and folders',
      'badge readers: udev rules for stable names and the dialout group',
      "journald: the gateway's logs, kept small",
      `enrolment bundle ${bundle} into /etc/punchgate`,
      'systemd units: punchgate-gateway.service, punchgate-kiosk.service, punchgate-bluetooth@.service',
      'Bluetooth for BLE without root (adapter hci0)',
      'services',
      'done',
    ]);
    const node = pathNode;
    const release = `/opt/punchgate/releases/${version}`;
    expectInOrder(result.stdout, [
      '   dry run: nothing is changed; each step shows what it would do',
      '+ apt-get update',
      '+ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bluez rfkill ca-certificates curl gnupg python3 build-essential cage chromium',
      `   keeping Node.js ${pathNodeVersion} (${node})`,
      `+ install -d -m 0755 ${release}.new`,
      `+ tar -C ${repoRoot} --exclude=./node_modules --exclude=./.git -cf - . | tar -C ${release}.new -xf -`,
      `+ (cd ${release}.new && npm pkg delete scripts.prepare)`,
      `+ (cd ${release}.new && npm ci --omit=dev --no-audit --no-fund)`,
      `+ mv -T ${release}.new ${release}`,
      `+ ln -sfn releases/${version} /opt/punchgate/current.new`,
      '+ mv -T /opt/punchgate/current.new /opt/punchgate/current',
      '+ write /usr/local/bin/punchgate (mode 0755, root:root)',
      `    | exec ${node} /opt/punchgate/current/dist/bin/punchgate.js "$@"`,
      '+ ln -sfn /opt/punchgate/current/provisioning/pi/install.sh /usr/local/sbin/punchgate-install',
      '+ useradd --system --user-group --home-dir /var/lib/punchgate --no-create-home --shell /usr/sbin/nologin punchgate',
      '+ usermod -a -G dialout punchgate',
      '+ useradd --system --user-group --home-dir /run/punchgate-kiosk --no-create-home --shell /usr/sbin/nologin punchgate-kiosk',
      '+ install -d -m 0750 -o root -g punchgate /etc/punchgate',
      '+ install -d -m 0750 -o punchgate -g punchgate /var/lib/punchgate',
      `+ install -m 0644 ${repoRoot}/provisioning/pi/70-punchgate-readers.rules /etc/udev/rules.d/70-punchgate-readers.rules`,
      '+ udevadm control --reload-rules',
      `+ install -m 0644 ${repoRoot}/provisioning/pi/journald-punchgate.conf /etc/systemd/journald.conf.d/punchgate.conf`,
      '   device mk-01-door: gateway.json secret punchgate-gateway.service README.md',
      '+ tar -xzf ' + bundle + ' -C /run/punchgate-enrol.XXXXXX --strip-components=1 --no-same-owner',
      '+ install -m 0644 -o root -g punchgate /run/punchgate-enrol.XXXXXX/gateway.json /etc/punchgate/gateway.json',
      // The secret: the gateway's account alone may read it.
      '+ install -m 0600 -o punchgate -g punchgate /run/punchgate-enrol.XXXXXX/secret /etc/punchgate/secret',
      '+ rm -rf /run/punchgate-enrol.XXXXXX',
      `+ ${node} ${release}/dist/provisioning/pi/write-units.js --out /etc/systemd/system --pam-dir /etc/pam.d --config /etc/punchgate/gateway.json --executable /usr/local/bin/punchgate --browser /usr/bin/chromium`,
      '+ systemctl daemon-reload',
      '+ systemctl disable --now bluetooth.service',
      '+ systemctl mask bluetooth.service',
      '+ systemctl enable punchgate-bluetooth@hci0.service',
      '+ systemctl enable punchgate-gateway.service',
      '+ systemctl restart punchgate-gateway.service',
      '+ systemctl enable punchgate-kiosk.service',
      '+ systemctl restart --no-block punchgate-kiosk.service',
      '   dry run: nothing was changed',
    ]);
    // No NodeSource: this machine's Node.js is new enough. No root-only tool ran for real.
    expect(result.stdout).not.toContain('nodesource');
    expect(result.changes).toEqual([]);
    expect(TARGETS.map((target) => [target, existsSync(target)])).toEqual(before);
    expect(spawnSync('id', ['-u', 'punchgate']).status).toBe(userBefore);
  });

  it('has a change check that can fail: a write is caught (the control)', async () => {
    // The same trace and filter over a script that writes one file outside its temp dir.
    const target = path.join(dir, 'written-by-control.txt');
    const control = path.join(dir, 'control.sh');
    await writeFile(control, `#!/usr/bin/env bash\necho x > ${target}\n`);
    const scratch = await mkdtemp(path.join(dir, 'control-'));
    const traceFile = path.join(scratch, 'trace.txt');
    spawnSync('strace', ['-f', '-y', '-qq', '-e', 'signal=none', '-o', traceFile, '-e', `trace=${MODIFYING_CALLS}`, 'bash', control], { env: { ...process.env, TMPDIR: scratch } });
    const changes = changesOutside(await readFile(traceFile, 'utf8'), scratch);
    expect(changes.some((line) => line.includes(target))).toBe(true);
  });

  it('without a display or bluetoothd changes: no Chromium, the kiosk off, bluetoothd left alone', async () => {
    const result = await run(['--dry-run', '--bundle', bundle, '--no-kiosk', '--keep-bluetoothd', '--adapter', 'hci1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('+ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bluez rfkill ca-certificates curl gnupg python3 build-essential\n');
    expect(result.stdout).not.toMatch(/useradd .*punchgate-kiosk|systemctl (enable|restart) punchgate-kiosk/);
    expect(result.stdout).not.toContain('systemctl mask bluetooth.service');
    expectInOrder(result.stdout, [
      '+ systemctl disable punchgate-bluetooth@hci1.service',
      '+ systemctl unmask bluetooth.service',
      '+ systemctl enable --now bluetooth.service',
      '+ systemctl restart punchgate-gateway.service',
      '+ systemctl disable --now punchgate-kiosk.service',
    ]);
  });

  it('installs Node.js from NodeSource when asked for a newer major than the one present', async () => {
    // One major above the Node.js present, whichever it is.
    const newer = Number(/^v(\d+)/.exec(pathNodeVersion)?.[1]) + 1;
    const result = await run(['--dry-run', '--node-major', String(newer)], { trace: true });
    expect(result.code).toBe(0);
    expectInOrder(result.stdout, [
      `   Node.js ${pathNodeVersion} is too old; installing Node.js ${newer} from NodeSource (Debian 12 has 18)`,
      '+ install -d -m 0755 /etc/apt/keyrings',
      '+ curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg',
      '+ write /etc/apt/sources.list.d/nodesource.list (mode 0644, root:root)',
      `    | deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${newer}.x nodistro main`,
      '+ write /etc/apt/preferences.d/nodesource (mode 0644, root:root)',
      '    | Pin: origin deb.nodesource.com',
      '+ env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs',
      '    | exec /usr/bin/node /opt/punchgate/current/dist/bin/punchgate.js "$@"',
    ]);
    // Before enrolment: units written, the gateway not started.
    expect(result.stdout).toContain('   no /etc/punchgate/gateway.json yet: enrol this Pi with the bundle from the dashboard:');
    expect(result.stdout).not.toContain('systemctl restart punchgate-gateway.service');
    expect(result.changes).toEqual([]);
  });

  it('refuses a bundle that could write outside /etc/punchgate, or that is no bundle, before any change', async () => {
    const evil = path.join(dir, 'evil');
    await mkdir(path.join(evil, 'punchgate-enrol-gw-1'), { recursive: true });
    await writeFile(path.join(evil, 'punchgate-enrol-gw-1', 'gateway.json'), '{}');
    await writeFile(path.join(evil, 'punchgate-enrol-gw-1', 'secret'), 'Xq3v_9Jk2LmN8pQr4StU6vWx0Yz1Ab2Cd3Ef4Gh5Ij\n');
    await symlink('/etc/shadow', path.join(evil, 'punchgate-enrol-gw-1', 'ca.pem'));
    const archive = (name: string, ...entries: string[]): string => {
      const file = path.join(dir, name);
      expect(spawnSync('tar', ['-czf', file, '-C', evil, ...entries]).status).toBe(0);
      return file;
    };
    const withLink = archive('with-link.tar.gz', 'punchgate-enrol-gw-1');
    const linked = await run(['--dry-run', '--bundle', withLink]);
    expect(linked.code).toBe(1);
    expect(linked.stderr).toContain('holds links or devices: refused');
    expect(linked.stdout).not.toContain('/etc/punchgate/secret');

    await rm(path.join(evil, 'punchgate-enrol-gw-1', 'ca.pem'));
    const climbing = path.join(dir, 'climbing.tar.gz');
    expect(spawnSync('tar', ['-czf', climbing, '-C', evil, 'punchgate-enrol-gw-1', '--transform', 's,gateway.json,../../etc/cron.d/x,']).status).toBe(0);
    const climbed = await run(['--dry-run', '--bundle', climbing]);
    expect(climbed.code).toBe(1);
    expect(climbed.stderr).toMatch(/holds an unexpected path "punchgate-enrol-gw-1\/\.\.\/\.\.\/etc\/cron\.d\/x": refused/);

    const notBundle = archive('not-a-bundle.tar.gz', 'punchgate-enrol-gw-1/secret');
    await rm(path.join(evil, 'punchgate-enrol-gw-1', 'gateway.json'));
    const noConfig = archive('no-config.tar.gz', 'punchgate-enrol-gw-1');
    expect((await run(['--dry-run', '--bundle', noConfig])).stderr).toContain('has no gateway.json');
    expect((await run(['--dry-run', '--bundle', notBundle])).code).toBe(1);
    expect((await run(['--dry-run', '--bundle', path.join(dir, 'missing.tar.gz')])).stderr).toContain('no such bundle');
  });

  it('refuses bad options with its usage (exit 2), and to change anything without root', async () => {
    const unknown = await run(['--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown option: --frobnicate');
    expect(unknown.stderr).toContain('usage: punchgate-install [options]');
    expect((await run(['--adapter', 'bluetooth0'])).code).toBe(2);
    expect((await run(['--node-major', '18'])).stderr).toContain('--node-major must be 20 or newer');
    requireCommand('setpriv', 'util-linux');
    const notRoot = await run(['--bundle', bundle], { asNobody: true });
    expect(notRoot.code).toBe(1);
    expect(notRoot.stderr).toMatch(/run as root: sudo/);
    // A dry run needs no root.
    const dryRun = await run(['--dry-run', '--bundle', bundle], { asNobody: true });
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain('+ systemctl restart punchgate-gateway.service');
  });

  it('installs a release archive made by make-release.sh: checked, unpacked beside the others, handed to its own installer', async () => {
    const out = await mkdtemp(path.join(dir, 'release-'));
    // dist/ is built by the test run's global setup (or npm run build before it).
    const made = spawnSync('bash', [makeRelease, '--no-build', '--out', out], { encoding: 'utf8', cwd: repoRoot });
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    const archive = made.stdout.trim();
    expect(archive).toBe(path.join(out, `punchgate-${version}.tar.gz`));
    const listing = spawnSync('tar', ['-tzf', archive], { encoding: 'utf8' }).stdout.split('\n');
    for (const file of ['package.json', 'package-lock.json', 'dist/bin/punchgate.js', 'dist/provisioning/pi/write-units.js', 'dist/gateway/systemd-notify.js', 'provisioning/pi/install.sh', 'provisioning/pi/70-punchgate-readers.rules']) {
      expect(listing, file).toContain(`punchgate-${version}/${file}`);
    }
    expect(listing.filter((entry) => /^[^/]+\/(test|node_modules|\.git)\//.test(entry))).toEqual([]);
    expect(listing.filter((entry) => entry !== '' && !entry.startsWith(`punchgate-${version}/`))).toEqual([]);

    const result = await run(['--dry-run', '--release', archive, '--bundle', bundle], { trace: true });
    expect(result.code).toBe(0);
    expectInOrder(result.stdout, [
      `== 2. unpack the release ${archive}`,
      `+ install -d -m 0755 /opt/punchgate/releases /opt/punchgate/releases/.unpack-${/\.unpack-(\d+)/.exec(result.stdout)?.[1]}`,
      `+ exec bash /opt/punchgate/releases/.unpack-${/\.unpack-(\d+)/.exec(result.stdout)?.[1]}/punchgate-${version}/provisioning/pi/install.sh --dry-run --bundle ${bundle}`,
    ]);
    expect(result.changes).toEqual([]);

    // Not a release: refused before anything.
    const refused = await run(['--dry-run', '--release', bundle]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not a punchgate release archive');
  });

  it('refuses a release archive holding a link or a path outside its folder, however long the archive', async () => {
    // Long enough that tar is still listing when the first bad entry has been seen.
    const tree = await mkdtemp(path.join(dir, 'bad-release-'));
    const top = path.join(tree, 'punchgate-9.9.9');
    await mkdir(path.join(top, 'provisioning/pi'), { recursive: true });
    await writeFile(path.join(top, 'provisioning/pi/install.sh'), '#!/usr/bin/env bash\n');
    await symlink('/etc/shadow', path.join(top, 'a-link'));
    await mkdir(path.join(top, 'many'));
    for (let index = 0; index < 3000; index += 1) await writeFile(path.join(top, 'many', `file-${index}`), '');
    const linked = path.join(tree, 'linked.tar.gz');
    expect(spawnSync('tar', ['-czf', linked, '-C', tree, 'punchgate-9.9.9/provisioning', 'punchgate-9.9.9/a-link', 'punchgate-9.9.9/many']).status).toBe(0);
    const withLink = await run(['--dry-run', '--release', linked]);
    expect(withLink.code).toBe(1);
    expect(withLink.stderr).toContain('holds links or devices: refused');
    await rm(path.join(top, 'a-link'));
    const outside = path.join(tree, 'outside.tar.gz');
    expect(spawnSync('tar', ['-czf', outside, '-C', tree, 'punchgate-9.9.9/provisioning', 'punchgate-9.9.9/many', '--transform', 's,^punchgate-9.9.9/many/file-1$,punchgate-9x9x9/file-1,']).status).toBe(0);
    const escaped = await run(['--dry-run', '--release', outside]);
    expect(escaped.code).toBe(1);
    expect(escaped.stderr).toContain('holds paths outside punchgate-9.9.9/: refused');
  });

  it('agrees with provisioning/pi/units.ts on the layout', async () => {
    const script = await readFile(installer, 'utf8');
    const constant = (name: string): string | undefined => new RegExp(`^readonly ${name}=(.*)$`, 'm').exec(script)?.[1];
    expect(constant('SERVICE_USER')).toBe(PI_LAYOUT.serviceUser);
    expect(constant('KIOSK_USER')).toBe(PI_LAYOUT.kioskUser);
    expect(constant('CONFIG_DIR')).toBe(PI_LAYOUT.configDir);
    expect(constant('DATA_DIR')).toBe(PI_LAYOUT.dataDir);
    expect(constant('INSTALL_ROOT')).toBe(PI_LAYOUT.installRoot);
    expect(constant('EXECUTABLE')).toBe(PI_LAYOUT.executable);
    expect(constant('GATEWAY_UNIT')).toBe(UNIT_FILES.gateway);
    expect(constant('KIOSK_UNIT')).toBe(UNIT_FILES.kiosk);
    expect(constant('BLUETOOTH_UNIT')).toBe(UNIT_FILES.bluetooth);
    // The minimum Node.js is package.json's.
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${constant('MIN_NODE_VERSION')?.replace(/\.0$/, '')}`);
  });

  it('is shellcheck-clean, with the release script', () => {
    requireCommand('shellcheck', 'shellcheck');
    const result = spawnSync('shellcheck', ['--severity=style', '--external-sources', installer, makeRelease], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
