import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Punch } from '../../core/punch.js';
import { runCli, startCli } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

describe('punchgate demo (what npm start runs)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-demo-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('runs dashboard, broker, gateway and reader together: taps reach the central API', async () => {
    const demo = startCli(['demo', '--data-dir', dir, '--http-port', '0', '--mqtt-port', '0', '--gateway-port', '0', '--interval', '400']);
    try {
      const api = await waitFor('the demo to print its URLs', () => /curl -H 'Authorization: Bearer ([^']+)' '(http:\/\/[^/]+)\/api\/v1\/punches/.exec(demo.output()) ?? (demo.exitCode !== null ? null : undefined), 20_000);
      if (!api) throw new Error(`the demo exited:\n${demo.output()}`);
      const [, token, base] = api;
      const central = async (): Promise<Punch[]> => {
        const response = await fetch(`${base}/api/v1/punches?limit=50`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        return ((await response.json()) as { punches: Punch[] }).punches;
      };
      // Three staff, one revoked (never a punch), one unknown badge (a punch with no employee).
      const punches = await waitFor('four punches in the central database', async () => {
        const found = await central();
        return found.length >= 4 ? found : undefined;
      }, 20_000);
      const employees = new Set(punches.map((punch) => punch.employeeId));
      expect(employees).toEqual(new Set(['E001', 'E002', 'E003', null]));
      expect(punches.every((punch) => punch.deviceId === 'demo-gateway' && punch.siteId === 'demo-site')).toBe(true);
      expect(demo.output()).toMatch(/reader shows: accepted +IN \d\d:\d\d Chan Tai Man 陳大文/);
      expect(demo.output()).toMatch(/reader shows: revoked/);
      // The demo's admin sign-in (one-time password) and its API token, printed once.
      const login = /admin sign-in: +username: (\S+) +password: (\S+)/.exec(demo.output());
      expect(login).not.toBeNull();
      expect(demo.output().match(/admin sign-in:/g)).toHaveLength(1);
      expect(demo.output()).toContain(`token: ${token}`);
      const signIn = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: login![1], password: login![2] }) });
      expect(signIn.status).toBe(200);
      expect(await signIn.json()).toMatchObject({ mustChangePassword: true });
      // The console it points at answers (its root sends a browser on to the overview page).
      const consoleUrl = /console: +(http:\/\/\S+)/.exec(demo.output())?.[1];
      expect(consoleUrl).toBe(`${base}/`);
      expect((await fetch(consoleUrl as string, { redirect: 'manual' })).status).toBe(302);
      // The demo's site and people are rows the console shows, and a device can be enrolled at the site.
      const get = async (route: string): Promise<unknown> => (await fetch(`${base}/api/v1${route}`, { headers: { authorization: `Bearer ${token}` } })).json();
      expect(await get('/sites/demo-site')).toMatchObject({ site: { id: 'demo-site', name: 'Demo shop, Mong Kok', nameZh: '示範店（旺角）', timeZone: 'Asia/Hong_Kong' } });
      expect(await get('/employees/E001')).toMatchObject({ employee: { employeeNumber: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', sites: ['demo-site'] } });
      const enrol = await runCli(['provision', 'device', '--site', 'demo-site', '--id', 'demo-door-2', '--out', path.join(dir, 'enrol'), '--url', base!, '--token', token!], {
        env: { PUNCHGATE_URL: '', PUNCHGATE_TOKEN: '' },
        timeoutMs: 30_000,
      });
      expect(enrol.code, enrol.stderr).toBe(0);
      expect(await get('/devices/demo-door-2')).toMatchObject({ device: { id: 'demo-door-2', siteId: 'demo-site' } });
    } finally {
      demo.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => (demo.exitCode !== null ? resolve(demo.exitCode) : demo.once('exit', (exitCode) => resolve(exitCode))));
    expect(code).toBe(0);
  });

  it('starts again on the same data dir: the people stay as they were, taps still reach the central API', async () => {
    const run = async (check: (base: string, token: string) => Promise<void>): Promise<void> => {
      const demo = startCli(['demo', '--data-dir', dir, '--http-port', '0', '--mqtt-port', '0', '--gateway-port', '0', '--interval', '300']);
      try {
        const api = await waitFor('the demo to print its URLs', () => /curl -H 'Authorization: Bearer ([^']+)' '(http:\/\/[^/]+)\/api\/v1\/punches/.exec(demo.output()) ?? (demo.exitCode !== null ? null : undefined), 20_000);
        if (!api) throw new Error(`the demo exited:\n${demo.output()}`);
        await check(api[2]!, api[1]!);
      } finally {
        demo.kill('SIGINT');
      }
      const code = await new Promise<number | null>((resolve) => (demo.exitCode !== null ? resolve(demo.exitCode) : demo.once('exit', (exitCode) => resolve(exitCode))));
      expect(code).toBe(0);
    };
    const punchesOf = async (base: string, token: string): Promise<Punch[]> =>
      ((await (await fetch(`${base}/api/v1/punches?limit=200`, { headers: { authorization: `Bearer ${token}` } })).json()) as { punches: Punch[] }).punches;
    let firstRun = 0;
    await run(async (base, token) => {
      firstRun = (await waitFor('a punch', async () => ((await punchesOf(base, token)).length >= 1 ? punchesOf(base, token) : undefined), 20_000)).length;
      // Someone renames E002 in the console: a restart must not undo it.
      const renamed = await fetch(`${base}/api/v1/employees/E002`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Wong Siu Ming (Ming)', nameZh: '黃小明', sites: ['demo-site'] }),
      });
      expect(renamed.status).toBe(200);
    });
    await run(async (base, token) => {
      const { employee } = (await (await fetch(`${base}/api/v1/employees/E002`, { headers: { authorization: `Bearer ${token}` } })).json()) as { employee: { name: string } };
      expect(employee.name).toBe('Wong Siu Ming (Ming)');
      const punches = await waitFor('new punches after the restart', async () => {
        const found = await punchesOf(base, token);
        return found.length > firstRun + 1 ? found : undefined;
      }, 20_000);
      expect(punches.some((punch) => punch.employeeId === 'E001')).toBe(true);
    });
  }, 90_000);
});
