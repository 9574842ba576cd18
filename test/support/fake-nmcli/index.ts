import { accessSync, chmodSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The fake `nmcli` (./nmcli, a POSIX shell script) and its recorded scans (./fixtures). Put
 * FAKE_NMCLI_DIR first on the PATH node-wifi spawns nmcli with (WifiScanner's `env` option) and
 * node-wifi's real code runs it: execFile, its terse-output parser, its error path.
 */
export const FAKE_NMCLI_DIR = path.dirname(fileURLToPath(import.meta.url));
export const FAKE_NMCLI = path.join(FAKE_NMCLI_DIR, 'nmcli');

/** nmcli's failures the fake reproduces (text and exit status as NetworkManager's nmcli prints them). */
export type FakeNmcliFailure = 'no-wifi-device' | 'device-not-found' | 'not-wifi' | 'nm-not-running';

export type FakeNmcliFixture =
  | 'mongkok-shop.txt'
  | 'mongkok-shop-ap-reboot.txt'
  | 'mongkok-shop-quirks.txt'
  | 'mongkok-next-door.txt'
  | 'tsimshatsui-shop.txt'
  | 'empty.txt';

export interface FakeNmcliSettings {
  fixture?: FakeNmcliFixture;
  fail?: FakeNmcliFailure;
  /** Seconds the fake sleeps before answering. */
  delaySeconds?: number;
  /** A file the fake appends "start PID LC_ALL=... ARGS" / "end PID STATUS" lines to. */
  log?: string;
}

/**
 * A mutable env for WifiScanner's `env` option (the scanner reads it at every scan): PATH with the
 * fake first, and the fake's controls. Change it between scans with {@link setFakeNmcli}.
 */
export function fakeNmcliEnv(settings: FakeNmcliSettings = {}): Record<string, string | undefined> {
  ensureFakeNmcliExecutable();
  const env: Record<string, string | undefined> = { PATH: `${FAKE_NMCLI_DIR}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}` };
  setFakeNmcli(env, settings);
  return env;
}

/** Replaces the fake's controls in `env` (unset settings are removed). */
export function setFakeNmcli(env: Record<string, string | undefined>, settings: FakeNmcliSettings): void {
  env.FAKE_NMCLI_FIXTURE = settings.fixture;
  env.FAKE_NMCLI_FAIL = settings.fail;
  env.FAKE_NMCLI_DELAY = settings.delaySeconds === undefined ? undefined : String(settings.delaySeconds);
  env.FAKE_NMCLI_LOG = settings.log;
}

/** A checkout or archive may lose the executable bit: put it back. */
export function ensureFakeNmcliExecutable(): void {
  try {
    accessSync(FAKE_NMCLI, constants.X_OK);
  } catch {
    chmodSync(FAKE_NMCLI, 0o755);
  }
}

export interface FakeNmcliCall {
  event: 'start' | 'end';
  pid: number;
  /** start: the LC_ALL nmcli saw. */
  lcAll?: string;
  /** start: its arguments. */
  args?: string;
  /** end: its exit status. */
  status?: number;
}

/** The calls the fake logged to `file`, in order ([] if it logged none). */
export function readFakeNmcliLog(file: string): FakeNmcliCall[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line): FakeNmcliCall => {
      const start = /^start (\d+) LC_ALL=(\S*) (.*)$/.exec(line);
      if (start) return { event: 'start', pid: Number(start[1]), lcAll: start[2] ?? '', args: start[3] ?? '' };
      const end = /^end (\d+) (\d+)$/.exec(line);
      if (end) return { event: 'end', pid: Number(end[1]), status: Number(end[2]) };
      throw new Error(`fake nmcli log line not understood: ${line}`);
    });
}
