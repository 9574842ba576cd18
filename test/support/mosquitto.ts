import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const execFileAsync = promisify(execFile);

/** Debian puts mosquitto in /usr/sbin, which a non-root PATH may lack. */
export function findCommand(command: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`this test needs "${command}" (Debian package ${debianPackage}); run: apt-get install -y ${debianPackage}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A real Mosquitto process on a free port of 127.0.0.1 (never the machine's 1883), with its own
 * config, password file (made with the real `mosquitto_passwd`) and ACL in a temp dir: no anonymous
 * clients, no persistence, log in `dir/mosquitto.log`. `stop()` kills it and removes the dir.
 */
export class MosquittoBroker {
  private constructor(
    private child: ChildProcess,
    readonly dir: string,
    readonly port: number,
    readonly logFile: string,
    private readonly command: string,
    private readonly configFile: string,
  ) {}

  static async start(options: {
    acl: string;
    users: Record<string, string>;
    /** Mosquitto `log_type`s (default: all, which logs every packet). */ logTypes?: string[];
    /** Written as the password file verbatim, after any `users` (e.g. lines from our own generator). */ passwordFile?: string;
  }): Promise<MosquittoBroker> {
    const mosquitto = findCommand('mosquitto', 'mosquitto');
    const mosquittoPasswd = findCommand('mosquitto_passwd', 'mosquitto');
    const dir = await mkdtemp(path.join(tmpdir(), 'punchgate-mosquitto-'));
    try {
      const passwordFile = path.join(dir, 'passwd');
      const aclFile = path.join(dir, 'acl');
      const logFile = path.join(dir, 'mosquitto.log');
      await writeFile(passwordFile, '', { mode: 0o600 });
      for (const [username, password] of Object.entries(options.users)) {
        await execFileAsync(mosquittoPasswd, ['-b', passwordFile, username, password]);
      }
      if (options.passwordFile !== undefined) await writeFile(passwordFile, options.passwordFile, { flag: 'a' });
      await chmod(passwordFile, 0o600);
      await writeFile(aclFile, options.acl, { mode: 0o600 });
      for (let attempt = 0; ; attempt++) {
        const port = await freePort();
        const configFile = path.join(dir, 'mosquitto.conf');
        await writeFile(
          configFile,
          [
            // Run as root, Mosquitto would drop to the "mosquitto" user, which cannot read this dir.
            `user ${userInfo().username}`,
            'per_listener_settings false',
            `listener ${port} 127.0.0.1`,
            'allow_anonymous false',
            `password_file ${passwordFile}`,
            `acl_file ${aclFile}`,
            'persistence false',
            `log_dest file ${logFile}`,
            ...(options.logTypes ?? ['all']).map((type) => `log_type ${type}`),
            'connection_messages true',
            '',
          ].join('\n'),
        );
        const child = spawn(mosquitto, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        let exited = false;
        child.once('exit', () => (exited = true));
        const deadline = Date.now() + 5000;
        while (!exited && Date.now() < deadline && !(await canConnect(port))) await sleep(20);
        if (!exited && Date.now() < deadline) return new MosquittoBroker(child, dir, port, logFile, mosquitto, configFile);
        child.kill('SIGKILL');
        const log = await readFile(logFile, 'utf8').catch(() => '');
        // Another process may have taken the port between freePort() and the bind: try again.
        if (attempt < 3 && /address already in use/i.test(log + stderr)) continue;
        throw new Error(`mosquitto did not start on port ${port}:\n${stderr}\n${log}`);
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Replaces the password file (`text` verbatim) and sends SIGHUP, on which Mosquitto reloads it. */
  async reloadPasswordFile(text: string): Promise<void> {
    await writeFile(path.join(this.dir, 'passwd'), text, { mode: 0o600 });
    this.child.kill('SIGHUP');
  }

  log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** Kills the broker process (SIGKILL when `hard`, else SIGTERM) and keeps its dir, for `restart()`. */
  async halt(hard = false): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
  }

  /** Starts the broker again after `halt()`, on the same port with the same config. */
  async restart(): Promise<void> {
    await this.halt();
    const deadline = Date.now() + 5000;
    for (;;) {
      const child = spawn(this.command, ['-c', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      this.child = child;
      let exited = false;
      child.once('exit', () => (exited = true));
      while (!exited && Date.now() < deadline && !(await canConnect(this.port))) await sleep(20);
      if (!exited && Date.now() < deadline) return;
      child.kill('SIGKILL');
      // The old listening socket may linger a moment: try again until the deadline.
      if (Date.now() >= deadline) throw new Error(`mosquitto did not restart on port ${this.port}:\n${await this.log()}`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000).then(() => this.child.kill('SIGKILL'))]);
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
