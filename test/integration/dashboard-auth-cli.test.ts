import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

/** The first admin, through the built `punchgate` command as an operator runs it. */

type Cli = ReturnType<typeof startCli>;

describe('punchgate dashboard: the first admin', () => {
  let dir: string;
  let config: string;
  const running: Cli[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-auth-cli-'));
    config = path.join(dir, 'dashboard.json');
    await writeFile(config, JSON.stringify({ dataDir: 'data', http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }));
  });
  afterEach(async () => {
    for (const child of running.splice(0)) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  async function startDashboardCli(): Promise<{ child: Cli; url: string }> {
    const child = startCli(['dashboard', '--config', config]);
    running.push(child);
    const url = await waitFor('the dashboard to log its URL', () => /"msg":"dashboard started"/.test(child.output()) && /"url":"(http:\/\/[^"]+)"/.exec(child.output())?.[1], 15_000);
    return { child, url };
  }

  async function stop(child: Cli): Promise<void> {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
  }

  async function signIn(url: string, username: string, password: string): Promise<{ status: number; body: Record<string, unknown>; cookie: string | undefined }> {
    const response = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, cookie: response.headers.getSetCookie().find((value) => value.includes('punchgate_session='))?.split(';')[0] };
  }

  it('prints a one-time password for "admin" once, at the first start only, and it must be changed first', async () => {
    const first = await startDashboardCli();
    const printed = [...first.child.output().matchAll(/^ {2}password: (\S+)$/gm)];
    expect(printed).toHaveLength(1);
    const password = printed[0]![1]!;
    expect(first.child.output()).toMatch(/^ {2}username: admin$/m);
    // The log says where the password went, not the password.
    expect(first.child.output().split('\n').filter((line) => line.startsWith('{')).join('\n')).not.toContain(password);
    await stop(first.child);

    const second = await startDashboardCli();
    expect(second.child.output()).not.toMatch(/password: /);
    const session = await signIn(second.url, 'admin', password);
    expect(session.status).toBe(200);
    expect(session.body.mustChangePassword).toBe(true);
    const devices = await fetch(`${second.url}/api/v1/devices`, { headers: { cookie: session.cookie! } });
    expect(devices.status).toBe(403);
    expect(await devices.json()).toMatchObject({ code: 'PASSWORD_CHANGE_REQUIRED' });
  });

  it('create-admin makes an admin while the dashboard runs, with a one-time password printed once or one read from standard input', async () => {
    const { url } = await startDashboardCli();

    const generated = await runCli(['dashboard', 'create-admin', '--config', config, '--username', 'Ops.Lead']);
    expect(generated.code, generated.stderr).toBe(0);
    const password = /^ {2}password: (\S+)$/m.exec(generated.stdout)?.[1];
    expect(password).toBeDefined();
    const session = await signIn(url, 'ops.lead', password!);
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ user: { username: 'ops.lead', role: 'admin' }, mustChangePassword: true });

    const chosen = await runCli(['dashboard', 'create-admin', '--config', config, '--username', 'second', '--password-stdin'], { input: 'a long chosen passphrase\n' });
    expect(chosen.code, chosen.stderr).toBe(0);
    expect(chosen.stdout).not.toContain('a long chosen passphrase');
    const signedIn = await signIn(url, 'second', 'a long chosen passphrase');
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.mustChangePassword).toBe(false);

    const exists = await runCli(['dashboard', 'create-admin', '--config', config, '--username', 'second']);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/already exists.*--reset/);
    const reset = await runCli(['dashboard', 'create-admin', '--config', config, '--username', 'second', '--reset']);
    expect(reset.code, reset.stderr).toBe(0);
    const newPassword = /^ {2}password: (\S+)$/m.exec(reset.stdout)?.[1];
    expect((await signIn(url, 'second', 'a long chosen passphrase')).status).toBe(401);
    expect((await signIn(url, 'second', newPassword!)).status).toBe(200);

    const short = await runCli(['dashboard', 'create-admin', '--config', config, '--username', 'third', '--password-stdin'], { input: 'short\n' });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 12 characters/);
    const badName = await runCli(['dashboard', 'create-admin', '--config', config, '--username', 'no spaces']);
    expect(badName.code).toBe(2);
    expect((await runCli(['dashboard', 'create-admin', '--username', 'x1'])).code).toBe(2);

    // Every one of these is in the audit log, made by the CLI.
    const bootstrapToken = (await readFile(path.join(dir, 'data', 'api-token'), 'utf8')).trim();
    const audit = await fetch(`${url}/api/v1/audit?actorKind=system`, { headers: { authorization: `Bearer ${bootstrapToken}` } });
    const entries = ((await audit.json()) as { entries: Array<{ action: string; actor: { name: string }; entityId: string }> }).entries;
    expect(entries.filter((entry) => entry.actor.name === 'punchgate dashboard create-admin').map((entry) => entry.action)).toEqual(['user.password-reset', 'user.create', 'user.create']);
  });

  it('create-admin before the first start means no generated admin at the first start', async () => {
    const made = await runCli(['dashboard', 'create-admin', '--config', config, '--username', 'root-user', '--password-stdin'], { input: 'another long passphrase' });
    expect(made.code, made.stderr).toBe(0);
    const { child, url } = await startDashboardCli();
    expect(child.output()).not.toMatch(/password: /);
    expect((await signIn(url, 'root-user', 'another long passphrase')).status).toBe(200);
    expect((await signIn(url, 'admin', 'anything-at-all')).status).toBe(401);
  });
});
