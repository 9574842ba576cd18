import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { z } from 'zod';
import { describeIssues } from '../core/errors.js';
import { EntityId } from '../core/punch.js';
import { DEFAULT_TIME_ZONE, TimeZone } from '../core/time.js';
import { isValidDeviceId } from '../core/topics.js';
import { gatewayUnit, PI_LAYOUT } from './pi/units.js';

/**
 * The enrolment bundle of one gateway: everything a technician copies to a Raspberry Pi to make it
 * that gateway. Built in memory (no I/O), so the dashboard can make it at the one moment the
 * plaintext secret exists, and the CLI and tests can read it back.
 *
 *   gateway.json               the gateway's config, in the format gateway/config-file.ts loads
 *   secret                     the device's MQTT password (mode 0600), referenced by gateway.json
 *   ca.pem                     the broker's CA certificate (TLS brokers only, when one is given)
 *   punchgate-gateway.service  the systemd unit (provisioning/pi/units.ts, the installer's too):
 *                              dedicated user, Type=notify with a watchdog, restarts forever, hardened
 *   README.md                  the three steps to install it, in English and 繁體中文
 */

export const GATEWAY_CONFIG_FILE = 'gateway.json';
export const SECRET_FILE = 'secret';
export const CA_FILE = 'ca.pem';
export const SYSTEMD_UNIT_FILE = 'punchgate-gateway.service';
export const README_FILE = 'README.md';

/** Where the files go on the Pi, and what the unit runs: the README and the unit agree on these. */
export const BUNDLE_DEFAULTS = {
  installDir: PI_LAYOUT.configDir,
  dataDir: PI_LAYOUT.dataDir,
  executable: PI_LAYOUT.executable,
  serviceUser: PI_LAYOUT.serviceUser,
} as const;

/** Paths written unquoted into a systemd unit and shell commands: absolute, no whitespace or quotes. */
const AbsolutePath = z.string().regex(/^\/[A-Za-z0-9_./+@-]*$/, 'must be an absolute path without spaces or quotes');

export const DeviceBundleInput = z
  .object({
    deviceId: z.string().refine(isValidDeviceId, 'may hold only letters, digits, "_", "." and "-", starting with a letter or digit, at most 64 characters'),
    siteId: EntityId,
    /** The site's name, shown in the README and the gateway's status (the gateway allows 120 characters). */
    siteName: z.string().trim().min(1).max(120).nullish(),
    timeZone: TimeZone.default(DEFAULT_TIME_ZONE),
    /** The plaintext device secret: it exists only while the bundle is made. */
    secret: z
      .string()
      .min(16, 'is too short to be a device secret')
      // One line of a password file: a newline or space would be cut or read as part of the password.
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
    /** Where gateways reach the broker (not necessarily where the dashboard does). */
    brokerUrl: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
    /** PEM text of the CA that signed the broker's certificate; used only with mqtts:// and wss://. */
    brokerCa: z.string().includes('-----BEGIN CERTIFICATE-----', { message: 'must be a PEM certificate' }).nullish(),
    /** The files' modification time in the archive (the registration time, so the same input gives the same bytes). */
    createdAt: z.date(),
    installDir: AbsolutePath.default(BUNDLE_DEFAULTS.installDir),
    dataDir: AbsolutePath.default(BUNDLE_DEFAULTS.dataDir),
    executable: AbsolutePath.default(BUNDLE_DEFAULTS.executable),
  })
  .strict();
export type DeviceBundleInput = z.input<typeof DeviceBundleInput>;

export class DeviceBundleError extends Error {
  override name = 'DeviceBundleError';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length ? `${message}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}` : message);
  }
}

export interface BundleFile {
  /** The file's name inside the bundle's folder (no directories). */
  name: string;
  /** Unix permission bits; 0o600 for anything holding the secret. */
  mode: number;
  content: Buffer;
}

export interface DeviceBundle {
  deviceId: string;
  /** The one folder the archive unpacks into: `punchgate-enrol-{deviceId}`. */
  directory: string;
  /** `punchgate-enrol-{deviceId}.tar.gz`. */
  fileName: string;
  createdAt: Date;
  files: BundleFile[];
}

/**
 * The part of gateway/config.ts's GatewayConfig the bundle writes (the gateway fills in the rest
 * with its defaults). provisioning/ may not import gateway/, so the tests load the written file
 * with the gateway's own loader to prove the two agree.
 */
export interface EnrolmentGatewayConfig {
  deviceId: string;
  siteId: string;
  dataDir: string;
  site: { name?: string; timeZone: string };
  readers: [];
  mqtt: { url: string; username: string; passwordFile: string; ca?: string };
}

export function bundleDirectory(deviceId: string): string {
  return `punchgate-enrol-${deviceId}`;
}

export function bundleFileName(deviceId: string): string {
  return `${bundleDirectory(deviceId)}.tar.gz`;
}

/** TLS brokers only: a CA file next to a plain mqtt:// URL would never be used and would mislead. */
export function brokerUsesTls(brokerUrl: string): boolean {
  return /^(mqtts|wss):\/\//i.test(brokerUrl);
}

type BundleSettings = z.output<typeof DeviceBundleInput>;

/** Builds the bundle's files; throws DeviceBundleError naming each bad field. */
export function buildDeviceBundle(input: DeviceBundleInput): DeviceBundle {
  const parsed = DeviceBundleInput.safeParse(input);
  if (!parsed.success) throw new DeviceBundleError('cannot make the enrolment bundle', describeIssues(parsed.error));
  const settings = parsed.data;
  const withCa = brokerUsesTls(settings.brokerUrl) && Boolean(settings.brokerCa);
  const config: EnrolmentGatewayConfig = {
    deviceId: settings.deviceId,
    siteId: settings.siteId,
    dataDir: settings.dataDir,
    site: { ...(settings.siteName ? { name: settings.siteName } : {}), timeZone: settings.timeZone },
    // Readers are wired on site: the technician adds them (README) once the Pi shows its ports.
    readers: [],
    // Relative paths: the gateway's loader takes them from the config file's folder.
    mqtt: { url: settings.brokerUrl, username: settings.deviceId, passwordFile: SECRET_FILE, ...(withCa ? { ca: CA_FILE } : {}) },
  };
  const files: BundleFile[] = [
    { name: GATEWAY_CONFIG_FILE, mode: 0o644, content: Buffer.from(`${JSON.stringify(config, null, 2)}\n`) },
    { name: SECRET_FILE, mode: 0o600, content: Buffer.from(`${settings.secret}\n`) },
    ...(withCa ? [{ name: CA_FILE, mode: 0o644, content: Buffer.from(ensureTrailingNewline(settings.brokerCa as string)) }] : []),
    { name: SYSTEMD_UNIT_FILE, mode: 0o644, content: Buffer.from(systemdUnit(settings)) },
    { name: README_FILE, mode: 0o644, content: Buffer.from(readme(settings, withCa)) },
  ];
  return { deviceId: settings.deviceId, directory: bundleDirectory(settings.deviceId), fileName: bundleFileName(settings.deviceId), createdAt: settings.createdAt, files };
}

function ensureTrailingNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/**
 * The systemd unit: the same text punchgate-install writes (provisioning/pi/units.ts), with this
 * device named in its Description.
 */
export function systemdUnit(settings: Pick<BundleSettings, 'deviceId' | 'siteId' | 'installDir' | 'dataDir' | 'executable'>): string {
  return gatewayUnit(settings);
}

/**
 * The three install steps' shell commands, run on the Pi in the folder holding the archive: the
 * README and the CLI's "what next" print the same ones.
 */
export function installCommands(deviceId: string, installDir: string = BUNDLE_DEFAULTS.installDir): { unpack: string[]; account: string[]; service: string[] } {
  const user = BUNDLE_DEFAULTS.serviceUser;
  return {
    unpack: [`sudo mkdir -p ${installDir}`, `sudo tar -xzf ${bundleFileName(deviceId)} -C ${installDir} --strip-components=1 --no-same-owner`],
    account: [
      // Idempotent: a re-enrolled Pi has the account already.
      `id ${user} >/dev/null 2>&1 || sudo useradd --system --user-group --no-create-home --shell /usr/sbin/nologin ${user}`,
      `sudo chown ${user}:${user} ${installDir}/${SECRET_FILE}`,
      `sudo chmod 600 ${installDir}/${SECRET_FILE}`,
    ],
    service: [`sudo cp ${installDir}/${SYSTEMD_UNIT_FILE} /etc/systemd/system/`, 'sudo systemctl daemon-reload', 'sudo systemctl enable --now punchgate-gateway'],
  };
}

/** The README: what the bundle is, then the same three steps in English and in Traditional Chinese (Hong Kong). */
function readme(settings: BundleSettings, withCa: boolean): string {
  const archive = bundleFileName(settings.deviceId);
  const dir = settings.installDir;
  const user = BUNDLE_DEFAULTS.serviceUser;
  const site = settings.siteName ? `${settings.siteName} (${settings.siteId})` : settings.siteId;
  const commands = installCommands(settings.deviceId, dir);
  const shell = (lines: string[]): string[] => ['```sh', ...lines, '```'];
  const unpack = shell(commands.unpack);
  const account = shell(commands.account);
  const service = shell(commands.service);
  const readerExample = '`{ "id": "door", "path": "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0", "protocol": "rdm6300" }`';
  return [
    `# punchgate gateway ${settings.deviceId}`,
    '',
    `This bundle makes a Raspberry Pi the punchgate gateway **${settings.deviceId}** at site **${site}**, connected to the broker at \`${settings.brokerUrl}\`.`,
    `此套件會把一部 Raspberry Pi 設定為 punchgate 閘道 **${settings.deviceId}**，所屬地點 **${site}**，連接到 \`${settings.brokerUrl}\` 的 MQTT 伺服器。`,
    '',
    `**\`${SECRET_FILE}\` is the device's password: keep this bundle like a key, and delete it from laptops and USB sticks once the Pi runs.**`,
    `**\`${SECRET_FILE}\` 是裝置的密碼：請像鎖匙一樣保管此套件，Pi 運作後請從手提電腦及 USB 手指刪除。**`,
    '',
    '| file 檔案 | what 內容 |',
    '|---|---|',
    `| \`${GATEWAY_CONFIG_FILE}\` | the gateway's config 閘道設定檔 |`,
    `| \`${SECRET_FILE}\` | the MQTT password, mode 0600 MQTT 密碼（權限 0600） |`,
    ...(withCa ? [`| \`${CA_FILE}\` | the broker's CA certificate 伺服器的 CA 證書 |`] : []),
    `| \`${SYSTEMD_UNIT_FILE}\` | the systemd service systemd 服務 |`,
    `| \`${README_FILE}\` | this page 本說明 |`,
    '',
    '## English',
    '',
    `Before you start: Raspberry Pi OS (Debian 11 or newer) with Node.js 20 or newer and the punchgate software installed, so that \`${settings.executable} --version\` answers.`,
    '',
    `On a Pi set up with punchgate-install (docs/deploy-pi.md), one command does the three steps below: \`sudo punchgate-install --bundle ${archive}\`.`,
    '',
    `### 1. Copy the bundle to the Pi and unpack it into ${dir}`,
    '',
    `Copy \`${archive}\` to the Pi (\`scp ${archive} pi@PI-ADDRESS:\` or a USB stick), then on the Pi:`,
    '',
    ...unpack,
    '',
    `Badge readers: add each one to \`"readers"\` in \`${dir}/${GATEWAY_CONFIG_FILE}\`, e.g. ${readerExample} (\`ls /dev/serial/by-id/\` lists the plugged-in ones).`,
    '',
    '### 2. Create the service account and give it the secret',
    '',
    ...account,
    '',
    `The service runs as \`${user}\`, with the \`dialout\` group for the serial readers and the Bluetooth rights it needs, nothing more.`,
    '',
    '### 3. Install and start the service',
    '',
    ...service,
    '',
    `Check: \`systemctl status punchgate-gateway\` says "active (running)", \`journalctl -u punchgate-gateway -f\` shows the gateway connecting, and the console lists ${settings.deviceId} as online under Devices.`,
    '',
    '## 繁體中文',
    '',
    `開始前：Raspberry Pi OS（Debian 11 或以上），已安裝 Node.js 20 或以上及 punchgate 軟件，\`${settings.executable} --version\` 能顯示版本。`,
    '',
    `如 Pi 已用 punchgate-install 安裝（見 docs/deploy-pi.md），一個指令即可完成以下三個步驟：\`sudo punchgate-install --bundle ${archive}\`。`,
    '',
    `### 1. 把套件複製到 Pi，並解壓到 ${dir}`,
    '',
    `把 \`${archive}\` 複製到 Pi（\`scp ${archive} pi@PI-ADDRESS:\` 或用 USB 手指），然後在 Pi 上執行：`,
    '',
    ...unpack,
    '',
    `讀卡器：在 \`${dir}/${GATEWAY_CONFIG_FILE}\` 的 \`"readers"\` 逐一加入，例如 ${readerExample}（\`ls /dev/serial/by-id/\` 會列出已接上的讀卡器）。`,
    '',
    '### 2. 建立服務帳戶，並讓它讀取密碼',
    '',
    ...account,
    '',
    `服務以 \`${user}\` 帳戶執行，只有讀卡器所需的 \`dialout\` 群組及藍牙所需的權限。`,
    '',
    '### 3. 安裝並啟動服務',
    '',
    ...service,
    '',
    `檢查：\`systemctl status punchgate-gateway\` 顯示「active (running)」，\`journalctl -u punchgate-gateway -f\` 顯示閘道正在連線，而管理控制台「裝置」頁顯示 ${settings.deviceId} 為在線。`,
    '',
  ].join('\n');
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * The bundle as a .tar.gz (what technicians' Pis unpack with `tar -xzf`): one folder, owned by
 * root in the archive, each file with its own mode.
 */
export async function packDeviceBundle(bundle: DeviceBundle): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of archive) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: bundle.createdAt };
  const add = (header: Parameters<typeof archive.entry>[0], content?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (error?: Error | null): void => (error ? reject(error) : resolve());
      if (content === undefined) archive.entry(header, done);
      else archive.entry(header, content, done);
    });
  await add({ ...owner, name: `${bundle.directory}/`, type: 'directory', mode: 0o755 });
  for (const file of bundle.files) await add({ ...owner, name: `${bundle.directory}/${file.name}`, type: 'file', mode: file.mode }, file.content);
  archive.finalize();
  await collected;
  return gzipAsync(Buffer.concat(chunks));
}

/** Names a bundle may hold: one folder of plain files, nothing that could climb out of it. */
const SafeName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Reads a bundle archive back: its folder and files (with their modes). Refuses anything that is
 * not one folder of plain files with plain names (links, devices, `..`, absolute paths), so that a
 * caller writing the files out cannot be made to write elsewhere.
 */
export async function unpackDeviceBundle(archive: Uint8Array): Promise<{ directory: string; files: BundleFile[] }> {
  let tarBytes: Buffer;
  try {
    tarBytes = await gunzipAsync(archive);
  } catch (error) {
    throw new DeviceBundleError(`the enrolment bundle is not a gzip file: ${(error as Error).message}`);
  }
  const reader = extract();
  const files: BundleFile[] = [];
  let directory: string | undefined;
  const read = (async () => {
    for await (const entry of reader) {
      const { name, type, mode } = entry.header;
      const parts = name.replace(/\/$/, '').split('/');
      const top = parts[0] ?? '';
      if (!SafeName.test(top) || parts.length > 2 || (parts.length === 2 && !SafeName.test(parts[1] ?? ''))) {
        throw new DeviceBundleError(`the enrolment bundle holds an unexpected path "${name}"`);
      }
      if (directory !== undefined && top !== directory) throw new DeviceBundleError(`the enrolment bundle holds two folders, "${directory}" and "${top}"`);
      directory = top;
      const body: Buffer[] = [];
      for await (const chunk of entry) body.push(Buffer.from(chunk as Uint8Array));
      if (type === 'directory' && parts.length === 1) continue;
      if (type !== 'file' || parts.length !== 2) throw new DeviceBundleError(`the enrolment bundle holds "${name}", which is not a plain file in its folder`);
      files.push({ name: parts[1] as string, mode: mode & 0o777, content: Buffer.concat(body) });
    }
  })();
  reader.end(tarBytes);
  try {
    await read;
  } catch (error) {
    if (error instanceof DeviceBundleError) throw error;
    throw new DeviceBundleError(`the enrolment bundle is not a valid tar archive: ${(error as Error).message}`);
  }
  if (directory === undefined || files.length === 0) throw new DeviceBundleError('the enrolment bundle is empty');
  return { directory, files };
}
