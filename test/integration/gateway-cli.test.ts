import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

describe('punchgate gateway: refusing bad input at start', () => {
  let dir: string;
  let dataDir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-cli-'));
    dataDir = path.join(dir, 'data');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const writeConfig = async (config: unknown): Promise<string> => {
    const file = path.join(dir, 'gateway.json');
    await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config));
    return file;
  };
  const valid = { deviceId: 'gw-1', siteId: 'mk-01', dataDir: 'data', http: { port: 0 } };

  it('refuses a file that is not JSON, and writes nothing', async () => {
    const result = await runCli(['gateway', '--config', await writeConfig('{"deviceId": "gw-1",')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not valid JSON/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('names every wrong key and its problem', async () => {
    const config = await writeConfig({
      ...valid,
      deviceId: 'gw 1',
      dataDri: 'typo',
      http: { port: 70000 },
      readers: [{ id: 'door', path: '/dev/ttyUSB0', protocol: 'rdm9000' }],
    });
    const result = await runCli(['gateway', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/deviceId: may hold only letters/);
    expect(result.stderr).toMatch(/Unrecognized key.*dataDri/);
    expect(result.stderr).toMatch(/http\.port: /);
    expect(result.stderr).toMatch(/readers\[0\]\.protocol: /);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses a missing config file and a missing --config', async () => {
    const missing = await runCli(['gateway', '--config', path.join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the config file/);
    const noFlag = await runCli(['gateway']);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toMatch(/--config FILE is required/);
  });

  it('refuses a bad roster file naming the entry and field, and writes nothing', async () => {
    await writeFile(
      path.join(dir, 'roster.json'),
      JSON.stringify([
        { credential: { kind: 'em4100', uid: '62E3086CED' }, employeeId: 'E001', name: 'Chan Tai Man' },
        { credential: { kind: 'em4100', uid: '12' }, employeeId: 'E002', name: 'Wong Siu Ming' },
      ]),
    );
    const result = await runCli(['gateway', '--config', await writeConfig({ ...valid, rosterFile: 'roster.json' })]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/roster file .*roster\.json/);
    expect(result.stderr).toMatch(/entry\[1\]\.credential\.uid: em4100 uid must be 4 or 5 bytes/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses a data dir that cannot be a directory', async () => {
    await writeFile(path.join(dir, 'file'), 'not a directory');
    const result = await runCli(['gateway', '--config', await writeConfig({ ...valid, dataDir: 'file/data' })]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/data dir .*file\/data is not a writable directory/);
  });

  it('starts with a good config even when its reader is absent, says so in /health, and stops on SIGTERM', async () => {
    const config = await writeConfig({ ...valid, readers: [{ id: 'door', path: path.join(dir, 'no-such-tty'), protocol: 'rdm6300' }] });
    const gateway = startCli(['gateway', '--config', config]);
    try {
      const url = await waitFor('the gateway to log its URL', () => /"url":"(http:\/\/[^"]+)"/.exec(gateway.output())?.[1], 10_000);
      const health = (await (await fetch(`${url}/health`)).json()) as { ok: boolean; readers: Array<{ id: string; state: string }>; problems: string[] };
      expect(health.ok).toBe(false);
      expect(health.readers).toEqual([expect.objectContaining({ id: 'door', state: 'disconnected' })]);
      expect(health.problems[0]).toMatch(/reader door: disconnected \(cannot open/);
      const punches = await fetch(`${url}/api/punches?limit=0`);
      expect(punches.status).toBe(400);
    } finally {
      gateway.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => gateway.once('exit', (exitCode) => resolve(exitCode)));
    expect(code).toBe(0);
    expect(gateway.output()).toMatch(/gateway stopped/);
  });
});
