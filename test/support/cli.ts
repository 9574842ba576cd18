import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built command, as users run it (the global setup builds dist/ first). */
export const cliPath = path.join(repoRoot, 'dist/bin/punchgate.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`punchgate ${args.join(' ')} did not finish in ${options.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Starts `punchgate` in the background; the caller stops it. */
export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; command?: string; prefixArgs?: string[] } = {}): ChildProcess & { output: () => string } {
  const command = options.command ?? process.execPath;
  const child = spawn(command, [...(options.prefixArgs ?? []), ...(options.command ? [process.execPath] : []), cliPath, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return Object.assign(child, { output: () => output });
}

/** Waits for a started `punchgate gateway` to log the URL it serves; fails with its output if it exits. */
export async function gatewayUrl(child: ChildProcess & { output: () => string }, timeoutMs = 20_000): Promise<string> {
  const url = await waitFor('the gateway to listen', () => /"url":"(http:\/\/[^"]+)"/.exec(child.output())?.[1] ?? (child.exitCode !== null ? 'exited' : undefined), timeoutMs);
  if (url === 'exited') throw new Error(`the gateway exited at start (code ${child.exitCode}):\n${child.output()}`);
  return url;
}

/** Waits until the gateway's first reader is ready and has said who it is (bridge readers). */
export async function firstReaderReady(url: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    'the reader to be ready',
    async () => {
      const health = (await (await fetch(`${url}/health`)).json()) as { readers: Array<{ state: string; firmware?: string }> };
      return health.readers[0]?.state === 'ready' && health.readers[0].firmware !== undefined;
    },
    timeoutMs,
  );
}
