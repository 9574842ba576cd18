import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Punch } from '../../core/punch.js';
import { startCli } from '../support/cli.js';
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
    } finally {
      demo.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => (demo.exitCode !== null ? resolve(demo.exitCode) : demo.once('exit', (exitCode) => resolve(exitCode))));
    expect(code).toBe(0);
  });
});
