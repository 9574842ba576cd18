import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

describe('punchgate dashboard', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-dash-cli-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const writeConfig = async (config: unknown): Promise<string> => {
    const file = path.join(dir, 'dashboard.json');
    await writeFile(file, JSON.stringify(config));
    return file;
  };

  it('refuses a bad config naming each key, and writes nothing', async () => {
    const result = await runCli(['dashboard', '--config', await writeConfig({ dataDir: 'data', http: { port: 'eighty' }, mqtt: { mode: 'cloud' }, extra: 1 })]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/http\.port: /);
    expect(result.stderr).toMatch(/mqtt\.mode: /);
    expect(result.stderr).toMatch(/Unrecognized key.*extra/);
    expect(existsSync(path.join(dir, 'data'))).toBe(false);
  });

  it('starts with its embedded broker, keeps a private API token, and stops on SIGTERM', async () => {
    const config = await writeConfig({ dataDir: 'data', http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } });
    const dashboard = startCli(['dashboard', '--config', config]);
    try {
      const url = await waitFor('the dashboard to log its URL', () => /"msg":"dashboard started"/.test(dashboard.output()) && /"url":"(http:\/\/[^"]+)"/.exec(dashboard.output())?.[1], 15_000);
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ ok: true, mqttConnected: true, punches: 0 });
      const tokenFile = path.join(dir, 'data', 'api-token');
      expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
      // Never starts with '-': `--token TOKEN` on a command line would take it for an option.
      expect(await readFile(tokenFile, 'utf8')).toMatch(/^pgb_[A-Za-z0-9_-]{32}\n$/);
      expect((await fetch(`${url}/api/v1/devices`)).status).toBe(401);
    } finally {
      dashboard.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => dashboard.once('exit', (exitCode) => resolve(exitCode)));
    expect(code).toBe(0);
  });
});
