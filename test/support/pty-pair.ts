import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function requireCommand(command: string, debianPackage: string): void {
  const found = (process.env.PATH ?? '').split(':').some((dir) => existsSync(path.join(dir, command)));
  if (!found) {
    throw new Error(`this test needs "${command}" (Debian package ${debianPackage}); run: apt-get install -y ${debianPackage}`);
  }
}

/**
 * A real pseudo-terminal pair made by socat, with stable link names: `a` for the program under
 * test, `b` for the test or simulator. `unplug()` tears the pair down (a USB unplug) and
 * `replug()` makes a new one under the same names.
 */
export class PtyPair {
  private socat: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly a: string,
    readonly b: string,
    private readonly ownsDir: boolean,
  ) {}

  static async create(dir?: string): Promise<PtyPair> {
    requireCommand('socat', 'socat');
    const base = dir ?? (await mkdtemp(path.join(tmpdir(), 'punchgate-pty-')));
    await mkdir(base, { recursive: true });
    const pair = new PtyPair(base, path.join(base, 'ttyA'), path.join(base, 'ttyB'), dir === undefined);
    await pair.replug();
    return pair;
  }

  async replug(): Promise<void> {
    if (this.socat) await this.unplug();
    const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.socat = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const deadline = Date.now() + 5000;
    while (!stderr.includes('starting data transfer loop')) {
      if (child.exitCode !== null) throw new Error(`socat exited early: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`socat did not make a pty pair in 5 s: ${stderr}`);
      await sleep(10);
    }
  }

  async unplug(): Promise<void> {
    const child = this.socat;
    this.socat = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  async close(): Promise<void> {
    await this.unplug();
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }
}
