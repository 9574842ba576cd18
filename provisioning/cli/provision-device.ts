import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { EntityId } from '../../core/punch.js';
import { isValidDeviceId } from '../../core/topics.js';
import { DeviceBundleError, installCommands, unpackDeviceBundle } from '../device-bundle.js';
import { ApiError, CONNECTION_OPTIONS, CONNECTION_USAGE, connectionOf, describeRefusal, request, requestJson, type Connection } from './api-client.js';
import type { ProvisionIo } from './run-provision.js';

export const provisionDeviceUsage = `usage: punchgate provision device --site SITE [--id ID] [--name NAME] [--out DIR] [--url URL --token TOKEN]
       punchgate provision device --re-enrol --id ID [--out DIR] [--url URL --token TOKEN]

Registers a gateway at the running dashboard, downloads its enrolment bundle (gateway config,
secret, broker CA, systemd unit, README) and writes it into DIR, unpacked and as the .tar.gz to
copy to the Raspberry Pi. --re-enrol gives a replaced box of a registered device a new secret
and bundle (the old secret stops working).

  --site SITE    the site the gateway belongs to (it must exist at the dashboard)
  --id ID        the device id, also its MQTT username (default: the site and a random suffix)
  --name NAME    a name shown in the console, e.g. "Front door"
  --out DIR      where to write the bundle (default: ./punchgate-enrol-ID); must be new or empty
  --re-enrol     re-enrol the registered device --id instead of registering a new one
${CONNECTION_USAGE}`;

/** What the dashboard answers at registration and re-enrolment (the fields this command uses). */
const Enrolled = z.object({
  device: z.object({ id: z.string(), siteId: z.string(), name: z.string().nullable() }),
  enrolment: z.object({
    path: z.string().startsWith('/api/v1/'),
    fileName: z.string(),
    warnings: z.array(z.object({ message: z.string() })),
    mosquitto: z.object({ passwordLine: z.string(), acl: z.string() }).nullable(),
  }),
});
type Enrolled = z.infer<typeof Enrolled>;

const NAME_MAX = 120;
const SUFFIX_BYTES = 2;

/** A device id for a site: `{site}-{4 hex}`, the site cut so that the whole stays within 64 characters. */
export function defaultDeviceId(siteId: string, suffix = randomBytes(SUFFIX_BYTES).toString('hex')): string {
  return `${siteId.slice(0, 64 - suffix.length - 1)}-${suffix}`;
}

/** A refusal the command explains and exits 1 on; everything it prints goes to stderr. */
class Refused extends Error {
  override name = 'Refused';
}

/** An ApiError in this command's words: what the user can do about it. */
function explain(error: ApiError, what: { siteId?: string; deviceId: string }): string {
  if (error.status === undefined) return `${error.message} (is it running? --url or PUNCHGATE_URL says where)`;
  if (error.status === 401) return `the dashboard does not accept the token (HTTP 401): check --token or PUNCHGATE_TOKEN (pgt_..., from the console under Tokens)`;
  if (error.status === 403) return `the token may not register or re-enrol devices (HTTP 403): use one whose role has devices:write (admin or facilities)`;
  if (error.status === 409) {
    return `device ${what.deviceId} is already registered: choose another --id, or re-enrol a replaced box with: punchgate provision device --re-enrol --id ${what.deviceId}`;
  }
  if (error.status === 404 && what.siteId === undefined) return `device ${what.deviceId} is not registered (or not at a site this token reaches): register it with --site SITE`;
  return error.message;
}

/** Writes a file with exactly this mode (the umask would otherwise narrow or keep it). */
async function writeWithMode(file: string, content: Uint8Array, mode: number): Promise<void> {
  await writeFile(file, content, { mode, flag: 'wx' });
  await chmod(file, mode);
}

/** `punchgate provision device`: returns the exit code (0 done, 1 refused or unreachable, 2 usage). */
export async function runProvisionDevice(argv: string[], io: ProvisionIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...CONNECTION_OPTIONS,
        site: { type: 'string' },
        id: { type: 'string' },
        name: { type: 'string' },
        out: { type: 'string' },
        're-enrol': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr(`punchgate provision device: ${(error as Error).message}\n\n${provisionDeviceUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(provisionDeviceUsage);
    return 0;
  }
  const usage = (problem: string): number => {
    io.stderr(`punchgate provision device: ${problem}\n\n${provisionDeviceUsage}`);
    return 2;
  };
  const reEnrol = values['re-enrol'] === true;
  if (reEnrol) {
    if (values.id === undefined) return usage('--re-enrol needs --id ID (the registered device)');
    if (values.site !== undefined || values.name !== undefined) return usage('--re-enrol keeps the device\'s site and name: leave out --site and --name (change them in the console)');
  } else if (values.site === undefined) {
    return usage('--site SITE is required (the site the gateway belongs to)');
  }
  if (values.site !== undefined && !EntityId.safeParse(values.site).success) return usage(`--site "${values.site}" is not a site id (letters, digits, "_", "." and "-", starting with a letter or digit)`);
  if (values.id !== undefined && !isValidDeviceId(values.id)) return usage(`--id "${values.id}" is not a device id (letters, digits, "_", "." and "-", starting with a letter or digit, at most 64 characters)`);
  const name = values.name?.trim();
  if (values.name !== undefined && (!name || name.length > NAME_MAX)) return usage(`--name must be 1 to ${NAME_MAX} characters`);
  const connection = connectionOf(values, io.env ?? process.env);
  if (typeof connection === 'string') return usage(connection);

  const deviceId = values.id ?? defaultDeviceId(values.site as string);
  const out = path.resolve(values.out ?? `punchgate-enrol-${deviceId}`);
  try {
    // Before anything changes at the dashboard: a secret that cannot be written down is lost.
    await checkOutputDir(out);
    if (!reEnrol) await checkSite(connection, values.site as string);
    const enrolled = reEnrol
      ? await requestJson<unknown>(connection, 'POST', `/devices/${encodeURIComponent(deviceId)}/enrolment`)
      : await requestJson<unknown>(connection, 'POST', '/devices', { id: deviceId, siteId: values.site, ...(name ? { name } : {}) });
    const answer = Enrolled.safeParse(enrolled);
    if (!answer.success) throw new Refused(`the dashboard's answer has no enrolment bundle (is it older than this command?): ${answer.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
    const written = await downloadAndWrite(connection, answer.data, out).catch((error: unknown) => {
      const reason = error instanceof ApiError ? error.message : (error as Error).message;
      throw new Refused(`device ${deviceId} is ${reEnrol ? 're-enrolled' : 'registered'}, but its bundle could not be saved: ${reason}\nGet a new one with: punchgate provision device --re-enrol --id ${deviceId}`);
    });
    report(io, answer.data, out, written, reEnrol);
    return 0;
  } catch (error) {
    if (error instanceof ApiError) io.stderr(`punchgate provision device: ${explain(error, { deviceId, ...(reEnrol ? {} : { siteId: values.site as string }) })}`);
    else if (error instanceof Refused) io.stderr(`punchgate provision device: ${error.message}`);
    else throw error;
    return 1;
  }
}

async function checkOutputDir(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new Refused(`cannot write the bundle to ${out}: ${(error as Error).message}`);
  }
  if (entries.length > 0) throw new Refused(`${out} exists and is not empty: give --out a new folder (a bundle is never written over another)`);
}

/** An unknown site is refused before a device is made for it; a token that may not read sites skips the check. */
async function checkSite(connection: Connection, siteId: string): Promise<void> {
  try {
    await requestJson(connection, 'GET', `/sites/${encodeURIComponent(siteId)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) throw new Refused(`site ${siteId} does not exist at the dashboard (or this token does not reach it): create it in the console under Sites first`);
    if (error instanceof ApiError && error.status === 403) return;
    throw error;
  }
}

/** Downloads the bundle once and writes it out: the files with their modes, and the .tar.gz, in a folder only the user can read. */
async function downloadAndWrite(connection: Connection, enrolled: Enrolled, out: string): Promise<string[]> {
  const response = await request(connection, 'POST', enrolled.enrolment.path.slice('/api/v1'.length));
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (!response.ok) {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      body = undefined;
    }
    throw new ApiError(describeRefusal(response.status, body), response.status, body);
  }
  let bundle;
  try {
    bundle = await unpackDeviceBundle(bytes);
  } catch (error) {
    if (error instanceof DeviceBundleError) throw new Refused(error.message);
    throw error;
  }
  // The folder holds the secret: only its owner may look inside.
  await mkdir(out, { recursive: true, mode: 0o700 });
  await chmod(out, 0o700);
  await writeWithMode(path.join(out, enrolled.enrolment.fileName), bytes, 0o600);
  for (const file of bundle.files) await writeWithMode(path.join(out, file.name), file.content, file.mode);
  return [enrolled.enrolment.fileName, ...bundle.files.map((file) => `${file.name}${file.mode === 0o600 ? ' (0600)' : ''}`)];
}

function report(io: ProvisionIo, enrolled: Enrolled, out: string, written: string[], reEnrol: boolean): void {
  const { device, enrolment } = enrolled;
  const commands = installCommands(device.id);
  const lines = [
    reEnrol
      ? `Re-enrolled ${device.id} (site ${device.siteId}): it has a new secret, and the old one no longer works.`
      : `Registered ${device.id}${device.name ? ` (${device.name})` : ''} at site ${device.siteId}.`,
    `Its enrolment bundle is in ${out}${path.sep}:`,
    `  ${written[0]}   copy this to the Raspberry Pi`,
    `  ${written.slice(1).join(', ')}`,
    'It holds the device\'s secret: keep it like a key, and delete it once the Pi runs.',
    '',
    `Next, on the Pi, in the folder where you copied ${enrolment.fileName} (README.md explains each step, in English and 繁體中文):`,
    `  1. ${commands.unpack.join(' && ')}`,
    `  2. ${commands.account.join(' && ')}`,
    `  3. ${commands.service.join(' && ')}`,
    `Then the console lists ${device.id} as online under Devices.`,
  ];
  for (const warning of enrolment.warnings) lines.push('', `Warning: ${warning.message}`);
  if (enrolment.mosquitto) {
    lines.push(
      '',
      'For the Mosquitto broker (its administrator): add this line to its password_file, then reload it (kill -HUP):',
      `  ${enrolment.mosquitto.passwordLine}`,
      'and, once for all devices, these lines to its acl_file:',
      ...enrolment.mosquitto.acl.trimEnd().split('\n').map((line) => `  ${line}`),
    );
  }
  io.stdout(lines.join('\n'));
}
