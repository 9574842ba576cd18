import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gatewayUrl, repoRoot, startCli } from '../support/cli.js';
import { requireCommand } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

/**
 * The gateway under systemd's notify protocol, for real: a `punchgate gateway` process with
 * NOTIFY_SOCKET pointing at a unix datagram socket that the test binds with socat (Node cannot),
 * as systemd would for a `Type=notify` unit with `WatchdogSec=` (provisioning/pi/units.ts).
 */

/** A datagram socket bound by socat; every datagram the gateway sends ends with a newline. */
class NotifyReceiver {
  private child: ChildProcess | undefined;
  private received = '';
  constructor(readonly socketPath: string) {}

  async start(): Promise<void> {
    requireCommand('socat', 'socat');
    const child = spawn('socat', ['-u', `UNIX-RECV:${this.socketPath}`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (this.received += chunk.toString()));
    this.child = child;
    await waitFor('socat to bind the notify socket', () => existsSync(this.socketPath), 5000);
  }

  lines(): string[] {
    return this.received.split('\n').filter((line) => line !== '');
  }

  /** Sends a marker datagram from outside the gateway, into the same ordered stream, and waits until it is read. */
  async mark(text: string): Promise<void> {
    execFileSync('socat', ['-u', 'STDIN', `UNIX-SENDTO:${this.socketPath}`], { input: `${text}\n` });
    await waitFor(`the marker ${text}`, () => this.lines().includes(text), 5000);
  }

  stop(): void {
    this.child?.kill('SIGTERM');
  }
}

const between = (lines: string[], from: string, to: string): string[] => {
  const start = lines.indexOf(from);
  const end = lines.indexOf(to);
  if (start < 0 || end < start) throw new Error(`markers ${from} .. ${to} not found in order: ${lines.join(' | ')}`);
  return lines.slice(start + 1, end);
};
const pings = (lines: string[]): number => lines.filter((line) => line === 'WATCHDOG=1').length;

describe('punchgate gateway under systemd: READY=1 and watchdog pings from the event loop', () => {
  let dir: string;
  let receiver: NotifyReceiver;
  let gateway: (ChildProcess & { output: () => string }) | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-watchdog-'));
    receiver = new NotifyReceiver(path.join(dir, 'notify'));
    await receiver.start();
  });
  afterEach(async () => {
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) gateway.kill('SIGKILL');
    gateway = undefined;
    receiver.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A gateway without readers, radios or uplink; its clock check records the environment it was given. */
  const writeConfig = async (): Promise<string> => {
    const file = path.join(dir, 'gateway.json');
    const probe = path.join(dir, 'child-env.txt');
    await writeFile(
      file,
      JSON.stringify({
        deviceId: 'gw-1',
        siteId: 'mk-01',
        dataDir: 'data',
        http: { port: 0 },
        // A child process of the gateway: it must not inherit the service manager's socket.
        clock: { syncCommand: ['sh', '-c', `printf '%s' "\${NOTIFY_SOCKET-unset} \${WATCHDOG_USEC-unset}" > ${probe}; echo yes`] },
        presence: { ble: { scan: false, advertise: false }, wifi: { enabled: false } },
      }),
    );
    return file;
  };

  const exitOf = (child: ChildProcess): Promise<number | null> =>
    child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

  it('says READY=1 once it serves, pings at half WATCHDOG_USEC, sends nothing while its event loop is blocked, then STOPPING=1', async () => {
    const config = await writeConfig();
    gateway = startCli(['gateway', '--config', config], {
      prefixArgs: ['--import', pathToFileURL(path.join(repoRoot, 'test/support/block-event-loop.mjs')).href],
      // 300 ms: a ping every 150 ms. The block lasts 2 s, several times the whole watchdog interval,
      // after which systemd would have killed the gateway.
      env: { NOTIFY_SOCKET: receiver.socketPath, WATCHDOG_USEC: '300000', PUNCHGATE_TEST_BLOCK_MS: '2000' },
    });
    await waitFor('READY=1', () => receiver.lines().includes('READY=1'), 30_000);
    // Ready means started: the local HTTP answers by now.
    const url = await gatewayUrl(gateway);
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ deviceId: 'gw-1' });
    const lines = receiver.lines();
    expect(lines.indexOf('READY=1')).toBe(0);
    expect(lines[1]).toBe('STATUS=no readers configured; no uplink configured');
    await waitFor('three watchdog pings', () => pings(receiver.lines()) >= 3, 10_000);
    expect(gateway.output()).toMatch(/"watchdogPingMs":150,"msg":"told systemd the gateway is ready"/);

    // The control: over a window as long as the block, a free event loop pings.
    await receiver.mark('TEST=free-begin');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await receiver.mark('TEST=free-end');
    expect(pings(between(receiver.lines(), 'TEST=free-begin', 'TEST=free-end'))).toBeGreaterThan(0);

    // A stuck event loop: not one ping between the markers sent from inside the blocked callback.
    gateway.kill('SIGUSR2');
    await waitFor('the block to end', () => receiver.lines().includes('TEST=block-end'), 20_000);
    expect(between(receiver.lines(), 'TEST=block-begin', 'TEST=block-end')).toEqual([]);
    // ... and once the loop runs again, so do the pings.
    await waitFor('a ping after the block', () => pings(receiver.lines().slice(receiver.lines().indexOf('TEST=block-end'))) >= 1, 10_000);

    gateway.kill('SIGTERM');
    expect(await exitOf(gateway)).toBe(0);
    await waitFor('STOPPING=1', () => receiver.lines().includes('STOPPING=1'), 5000);
    // The gateway's children never saw the socket (sd_notify's unset_environment).
    expect(await readFile(path.join(dir, 'child-env.txt'), 'utf8')).toBe('unset unset');
  });

  it('sends READY=1 but no pings when WATCHDOG_PID names another process, and says why', async () => {
    gateway = startCli(['gateway', '--config', await writeConfig()], { env: { NOTIFY_SOCKET: receiver.socketPath, WATCHDOG_USEC: '300000', WATCHDOG_PID: '1' } });
    await waitFor('READY=1', () => receiver.lines().includes('READY=1'), 30_000);
    expect(gateway.output()).toMatch(/WATCHDOG_PID=1 is another process: no watchdog pings/);
    expect(gateway.output()).toMatch(/"watchdogPingMs":null/);
    gateway.kill('SIGTERM');
    expect(await exitOf(gateway)).toBe(0);
    expect(pings(receiver.lines())).toBe(0);
  });

  it('without NOTIFY_SOCKET runs as before and sends nothing', async () => {
    gateway = startCli(['gateway', '--config', await writeConfig()], { env: { NOTIFY_SOCKET: '', WATCHDOG_USEC: '300000' } });
    const url = await gatewayUrl(gateway);
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ deviceId: 'gw-1' });
    gateway.kill('SIGTERM');
    expect(await exitOf(gateway)).toBe(0);
    expect(gateway.output()).not.toMatch(/"part":"systemd"/);
    expect(receiver.lines()).toEqual([]);
  });
});
