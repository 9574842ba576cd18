import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bluetoothUnit, gatewayUnit, KIOSK_PAM_CONFIG, kioskUnit, kioskUrl, PI_LAYOUT, UNIT_FILES } from './units.js';

/**
 * Writes the units of provisioning/pi/units.ts as files: what punchgate-install runs, with the
 * installed release's Node, so that the units on a Pi are always the text of the software it runs
 * (and the same text the enrolment bundle carries).
 *
 *   node dist/provisioning/pi/write-units.js --out /etc/systemd/system --pam-dir /etc/pam.d \
 *     --config /etc/punchgate/gateway.json --browser /usr/bin/chromium
 *
 * The gateway config, when it exists, names the device in the gateway unit's Description and gives
 * the kiosk page's address (`http.host`/`http.port`). Exit codes: 0 written, 2 usage or bad input.
 */

export const writeUnitsUsage = `usage: node write-units.js --out DIR [--pam-dir DIR] [--config FILE] [--executable PATH]
       [--browser PATH] [--cage PATH] [--curl PATH] [--hciconfig PATH] [--rfkill PATH] [--tty ttyN] [--print]`;

interface ConfigFacts {
  deviceId?: string;
  siteId?: string;
  dataDir?: string;
  http?: { host?: string; port?: number };
}

async function readConfigFacts(file: string): Promise<ConfigFacts | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const raw = JSON.parse(text) as Record<string, unknown>;
  const facts: ConfigFacts = {};
  if (typeof raw.deviceId === 'string') facts.deviceId = raw.deviceId;
  if (typeof raw.siteId === 'string') facts.siteId = raw.siteId;
  // As the gateway's loader does: a relative data dir is taken from the config file's folder.
  if (typeof raw.dataDir === 'string') facts.dataDir = path.resolve(path.dirname(path.resolve(file)), raw.dataDir);
  if (raw.http && typeof raw.http === 'object') facts.http = raw.http as ConfigFacts['http'];
  return facts;
}

/** Writes atomically: a reader (systemd) never sees half a unit. */
async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, file);
}

export async function writeUnits(argv: string[], io: { stdout: (line: string) => void; stderr: (line: string) => void }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        'pam-dir': { type: 'string' },
        config: { type: 'string' },
        executable: { type: 'string' },
        browser: { type: 'string' },
        cage: { type: 'string' },
        curl: { type: 'string' },
        hciconfig: { type: 'string' },
        rfkill: { type: 'string' },
        tty: { type: 'string' },
        print: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${writeUnitsUsage}`);
    return 2;
  }
  if (!values.out && !values.print) {
    io.stderr(`--out DIR (or --print) is required\n${writeUnitsUsage}`);
    return 2;
  }
  const configFile = values.config ?? `${PI_LAYOUT.configDir}/gateway.json`;
  let facts: ConfigFacts | undefined;
  try {
    facts = await readConfigFacts(configFile);
  } catch (error) {
    io.stderr(`write-units: cannot read ${configFile}: ${(error as Error).message}`);
    return 2;
  }
  const files: Array<{ dir: string | undefined; name: string; content: string }> = [];
  try {
    files.push({
      dir: values.out,
      name: UNIT_FILES.gateway,
      content: gatewayUnit({
        deviceId: facts?.deviceId,
        siteId: facts?.siteId,
        installDir: path.dirname(path.resolve(configFile)),
        ...(facts?.dataDir ? { dataDir: facts.dataDir } : {}),
        ...(values.executable ? { executable: values.executable } : {}),
      }),
    });
    files.push({
      dir: values.out,
      name: UNIT_FILES.kiosk,
      content: kioskUnit({
        url: kioskUrl(facts?.http),
        ...(values.browser ? { browser: values.browser } : {}),
        ...(values.cage ? { cage: values.cage } : {}),
        ...(values.curl ? { curl: values.curl } : {}),
        ...(values.tty ? { tty: values.tty } : {}),
      }),
    });
    files.push({
      dir: values.out,
      name: UNIT_FILES.bluetooth,
      content: bluetoothUnit({ ...(values.hciconfig ? { hciconfig: values.hciconfig } : {}), ...(values.rfkill ? { rfkill: values.rfkill } : {}) }),
    });
    if (values['pam-dir']) files.push({ dir: values['pam-dir'], name: PI_LAYOUT.kioskPamService, content: KIOSK_PAM_CONFIG });
  } catch (error) {
    io.stderr(`write-units: ${(error as Error).message}`);
    return 2;
  }
  for (const file of files) {
    if (values.print) {
      io.stdout(`# ${file.dir ? path.join(file.dir, file.name) : file.name}\n${file.content}`);
      continue;
    }
    const target = path.join(file.dir as string, file.name);
    await writeAtomically(target, file.content, 0o644);
    io.stdout(`wrote ${target}`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  writeUnits(process.argv.slice(2), { stdout: (line) => process.stdout.write(`${line}\n`), stderr: (line) => process.stderr.write(`${line}\n`) }).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`write-units: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
