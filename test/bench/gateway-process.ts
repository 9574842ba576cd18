import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, fstatSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { loadGatewayConfig } from '../../gateway/config-file.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import { cliPath } from '../support/cli.js';

export type GatewayMode = 'child' | 'in-process';

export interface BenchGateway {
  mode: GatewayMode;
  url: string;
  logFile: string;
  /** The gateway object, when it runs in this process (for the latency breakdown). */
  inProcess?: Gateway;
  pid?: number;
  stop(): Promise<void>;
}

/** One pino record from the gateway's log. */
export type LogRecord = Record<string, unknown> & { msg?: string; level?: number; time?: number };

/** Reads a growing JSON-lines log from where it last stopped. */
export class LogTail {
  private offset = 0;
  private partial = '';

  constructor(private readonly file: string) {}

  read(): LogRecord[] {
    if (!existsSync(this.file)) return [];
    const fd = openSync(this.file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return [];
      const buffer = Buffer.alloc(size - this.offset);
      const got = readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset += got;
      const text = this.partial + buffer.subarray(0, got).toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      const records: LogRecord[] = [];
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          records.push(JSON.parse(line) as LogRecord);
        } catch {
          // a line that is not pino's (a stack trace on stderr): not ours to judge here
        }
      }
      return records;
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Starts a gateway on a config file, as `node dist/bin/punchgate.js gateway --config FILE` in a
 * child process (the default: its own event loop, as in production) or with startGateway() in
 * this process. Its log (level from the config) goes to `logFile` in both cases.
 */
export async function launchGateway(options: {
  mode: GatewayMode;
  configFile: string;
  /** Where the gateway's HTTP will listen (from its config). */
  url: string;
  logFile: string;
  timeoutMs?: number;
  /** Extra node flags for a child gateway, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  nodeArgs?: string[];
  /** Child only: record the gateway's GC pauses into this file (see gc-probe.mjs). */
  gcFile?: string;
}): Promise<BenchGateway> {
  const { mode, configFile, logFile } = options;
  const timeoutMs = options.timeoutMs ?? 20_000;
  await writeFile(logFile, '');
  if (mode === 'in-process') {
    const config = await loadGatewayConfig(configFile);
    const destination = pino.destination({ dest: logFile, sync: true });
    const logger = pino({ level: config.log.level, base: { deviceId: config.deviceId } }, destination);
    const gateway = await startGateway(config, logger);
    return {
      mode,
      url: gateway.url,
      logFile,
      inProcess: gateway,
      async stop() {
        await gateway.stop();
        destination.flushSync();
      },
    };
  }

  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run "npm run build" first (npm run bench does)`);
  const fd = openSync(logFile, 'a');
  const probe = options.gcFile ? ['--import', pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'gc-probe.mjs')).href] : [];
  const env = options.gcFile ? { ...process.env, PUNCHGATE_BENCH_GC_FILE: options.gcFile } : process.env;
  const child: ChildProcess = spawn(process.execPath, [...probe, ...(options.nodeArgs ?? []), cliPath, 'gateway', '--config', configFile], { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  const url = options.url;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with code ${child.exitCode} before it started:\n${await readFile(logFile, 'utf8')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the gateway did not start in ${timeoutMs} ms:\n${await readFile(logFile, 'utf8')}`);
    }
    const listening = await fetch(`${url}/health`).then(
      () => true,
      () => false,
    );
    if (listening) break;
    await sleep(20);
  }
  return {
    mode,
    url,
    logFile,
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        throw new Error('the gateway did not stop within 10 s of SIGTERM');
      }
    },
  };
}

/** Polls the gateway's /health until `ready` says so. */
export async function waitForHealth(url: string, ready: (health: HealthView) => boolean, timeoutMs = 10_000): Promise<HealthView> {
  const deadline = Date.now() + timeoutMs;
  let last: HealthView | undefined;
  for (;;) {
    try {
      last = (await (await fetch(`${url}/health`)).json()) as HealthView;
      if (ready(last)) return last;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the gateway was not ready in ${timeoutMs} ms; last /health: ${JSON.stringify(last)}`);
    await sleep(25);
  }
}

export interface HealthView {
  ok: boolean;
  readers: Array<{ id: string; state: string; reads: number; badFrames: number; firmware?: string }>;
  outbox: { total: number; pending: number };
  taps: Record<string, number>;
  problems: string[];
}
