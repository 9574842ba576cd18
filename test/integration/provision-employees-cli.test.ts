import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttendanceDashboard, type AttendanceDashboard } from '../support/attendance-dashboard.js';
import { runCli } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { HEADER, csvRow, good } from '../unit/employee-import-fixtures.js';

/**
 * `punchgate provision employees import FILE` (the built command) against a running dashboard over
 * HTTP: dry run, import with a progress bar, row errors with exit code 1 and nothing written,
 * --json for scripts, and the usage and connection errors.
 */

describe('punchgate provision employees import', () => {
  let t: AttendanceDashboard;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const file = async (name: string, ...rows: string[]) => {
    const at = path.join(dir, name);
    await writeFile(at, `${[HEADER, ...rows].join('\r\n')}\r\n`);
    return at;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-provision-cli-'));
    t = await startAttendanceDashboard(() => new Date(), []);
    const { secret } = await t.dashboard.auth.tokens.create({ name: 'cli', role: 'admin' }, undefined);
    env = { PUNCHGATE_URL: t.dashboard.url, PUNCHGATE_TOKEN: secret, PUNCHGATE_PROGRESS: '1' };
  });
  afterAll(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('dry run shows what would change and writes nothing; the import writes it, with a progress bar', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) => csvRow(good(`C${String(i).padStart(4, '0')}`, { sites: 'mk-01', badges: `mifare:0C${String(i).padStart(6, '0')}` })));
    rows.push(csvRow(good('M0001', { sites: 'mk-01', role: 'store-manager' })));
    const staff = await file('staff.csv', ...rows);

    const dry = await runCli(['provision', 'employees', 'import', staff, '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Would change (dry run, nothing written): 1201 created, 0 updated, 0 deactivated, 0 unchanged');
    expect(dry.stdout).toContain('create     C0000 (row 2)');
    expect(await t.count('employees')).toBe(0);

    const run = await runCli(['provision', 'employees', 'import', staff], { env, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Imported: 1201 created, 0 updated, 0 deactivated, 0 unchanged');
    expect(run.stdout).toMatch(/m0001 \(employee M0001\): \S{12,}/);
    // The bar, redrawn in place, ends full.
    expect(run.stderr).toContain('\r[##############################] commit 1,201 / 1,201');
    expect(run.stderr).toContain('check  250 / 1,201');
    expect(await t.count('employees')).toBe(1201);
    expect(await t.count('badge_assignments WHERE revoked_at IS NULL')).toBe(1200);

    const again = await runCli(['provision', 'employees', 'import', staff, '--json'], { env, timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ counts: { create: 0, update: 0, deactivate: 0, unchanged: 1201 }, accounts: [] });
  });

  it('prints every row error, in both languages, and exits 1 with nothing written', async () => {
    const bad = await file('bad.csv', csvRow(good('B0001', { sites: 'mk-01' })), csvRow(good('B0002', { sites: 'nowhere', phone: '123' })));
    const before = await t.count('employees');
    const run = await runCli(['provision', 'employees', 'import', bad], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('The file has 2 error(s); nothing was written.');
    expect(run.stderr).toContain('row 3, sites: there is no site nowhere');
    expect(run.stderr).toContain('沒有地點「nowhere」');
    expect(run.stderr).toMatch(/row 3, phone: phone "123"/);
    expect(await t.count('employees')).toBe(before);

    const json = await runCli(['provision', 'employees', 'import', bad, '--json'], { env });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 422, errors: [{ row: 3, column: 'sites' }, { row: 3, column: 'phone' }] });
  });

  it('refuses what it cannot do, naming why', async () => {
    const some = await file('some.csv', csvRow(good('Z0001')));
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const cases: Array<[string[], NodeJS.ProcessEnv, number, RegExp]> = [
      [['provision', 'employees', 'import'], env, 2, /the FILE to import is missing/],
      [['provision', 'employees', 'export', some], env, 2, /unknown "export"/],
      [['provision', 'employees', 'import', some, '--mode', 'all'], env, 2, /--mode must be upsert or full/],
      [['provision', 'employees', 'import', path.join(dir, 'missing.csv')], env, 1, /cannot read .*missing\.csv: ENOENT/],
      [['provision', 'employees', 'import', some], { ...env, PUNCHGATE_TOKEN: '' }, 2, /an API token is needed/],
      [['provision', 'employees', 'import', some], { ...env, PUNCHGATE_TOKEN: 'pgt_wrong' }, 1, /the dashboard refused \(HTTP 401\)/],
      [['provision', 'employees', 'import', some], { ...env, PUNCHGATE_URL: nobody }, 1, /cannot reach the dashboard at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/],
      [['provision', 'nothing'], env, 2, /unknown "nothing"/],
    ];
    for (const [args, environment, code, message] of cases) {
      const run = await runCli(args, { env: environment });
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(code);
      expect(run.stderr).toMatch(message);
    }
    const big5 = path.join(dir, 'big5.csv');
    await writeFile(big5, Buffer.concat([Buffer.from('employee_number,name\nZ0002,'), Buffer.from([0xa7, 0xf5]), Buffer.from('\n')]));
    const refused = await runCli(['provision', 'employees', 'import', big5], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('CSV UTF-8');
  });
});
