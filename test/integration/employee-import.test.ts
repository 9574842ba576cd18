import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttendanceDashboard, type AttendanceDashboard, type Json } from '../support/attendance-dashboard.js';
import { DepartmentRepository } from '../../dashboard/employees/department-repository.js';
import { EmployeeSync } from '../../dashboard/employees/employee-sync.js';
import { LinkedAccounts } from '../../dashboard/employees/linked-accounts.js';
import { validateEmployeeText } from '../../provisioning/employee-import/validate-rows.js';
import { signIn } from '../support/dashboard-auth.js';
import { testLogger } from '../support/logger.js';
import { HEADER, csvRow, good } from '../unit/employee-import-fixtures.js';

/**
 * /api/v1/employee-imports on a real dashboard (SQLite file, embedded broker): template, preview,
 * commit, in every supported encoding; bad rows refused with nothing written; the same file twice
 * changes nothing; roles become console accounts scoped to their stores.
 */

const csv = (...rows: string[]) => Buffer.from(`${[HEADER, ...rows].join('\r\n')}\r\n`, 'utf8');
const TABLES = ['employees', 'employee_sites', 'badge_assignments', 'ble_consents', 'users', 'audit_log'] as const;

describe('employee import: /api/v1/employee-imports', () => {
  let t: AttendanceDashboard;
  const upload = (url: string, body: Buffer, as = 'admin', headers: Record<string, string> = {}) => t.api('POST', url, body, as, { 'content-type': 'text/csv', ...headers });
  const snapshot = async (): Promise<Record<(typeof TABLES)[number], number>> =>
    Object.fromEntries(await Promise.all(TABLES.map(async (table) => [table, await t.count(table)] as const))) as Record<(typeof TABLES)[number], number>;

  beforeAll(async () => {
    t = await startAttendanceDashboard(() => new Date(), []);
  });
  afterAll(async () => {
    await t.stop();
  });

  it('serves the template as CSV (UTF-8 with BOM) and as XLSX with the role matrix; the XLSX comes back in as it went out', async () => {
    const template = await t.api('GET', '/employee-imports/template.csv');
    expect(template.status).toBe(200);
    expect(template.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect([...template.raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(template.text.replace(/^\uFEFF/, '').split('\r\n')[0]).toBe(HEADER);

    const xlsx = await t.api('GET', '/employee-imports/template.xlsx');
    expect(xlsx.status).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(xlsx.raw as unknown as ArrayBuffer);
    expect(workbook.worksheets.map((sheet) => sheet.name)).toEqual(['Employees 員工', 'Roles 角色']);
    const roles = workbook.worksheets[1]!;
    expect(roles.getRow(1).values).toEqual([undefined, 'permission 權限', 'what it allows', 'admin', 'hr', 'facilities', 'store-manager']);
    const usersManage = roles.getColumn(1).values.indexOf('users:manage');
    expect(roles.getRow(usersManage).values).toEqual([undefined, 'users:manage', expect.any(String), 'yes', '—', '—', '—']);

    // The template's example row names sites TST and MK; filled in for this dashboard's sites, it imports.
    const sheet = workbook.worksheets[0]!;
    sheet.getRow(3).getCell(1).value = 'X1001';
    sheet.getRow(3).getCell(4).value = null; // department: none defined here, so any would do; left empty
    sheet.getRow(3).getCell(9).value = 'mk-01;tst-02';
    sheet.getRow(3).getCell(6).value = null; // no console role
    const filled = Buffer.from(await workbook.xlsx.writeBuffer());
    const preview = await t.api('POST', '/employee-imports/preview', filled, 'admin', { 'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body).toMatchObject({ file: { encoding: 'xlsx', rows: 1 }, counts: { create: 1, update: 0, deactivate: 0, unchanged: 0 }, errors: [] });
    expect(preview.body.employees[0]).toMatchObject({ employeeNumber: 'X1001', row: 3, outcome: 'create' });
    expect(preview.body.employees[0].changes).toContainEqual({ field: 'phone', before: null, after: '+85291234567' });
  });

  it('previews every error on its row and writes nothing; the commit of the same file is refused and writes nothing', async () => {
    await t.api('PUT', '/employees/E9000', { name: 'Holder', sites: ['mk-01'] });
    await t.api('POST', '/employees/E9000/badges', { kind: 'mifare', uid: 'DEADBEEF' });
    const file = csv(
      csvRow(good('E2001', { sites: 'mk-01', phone: '9123 4567' })),
      csvRow(good('E2002', { sites: 'zz-99' })),
      csvRow(good('E2003', { phone: '4123 4567', email: 'nope' })),
      csvRow(good('E2001')),
      csvRow(good('E2005', { badges: 'mifare:deadbeef' })),
      csvRow(good('E2006', { start_date: '2026-05-01', end_date: '2026-04-01', role: 'boss' })),
    );
    const before = await snapshot();
    const preview = await upload('/employee-imports/preview', file);
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body.errors.map((error: Json) => [error.row, error.column])).toEqual([
      [3, 'sites'],
      [4, 'phone'],
      [4, 'email'],
      [5, 'employee_number'],
      [6, 'badges'],
      [7, 'role'],
      [7, 'end_date'],
    ]);
    expect(preview.body.errors[4]).toMatchObject({ message: 'badge mifare:DEADBEEF is assigned to employee E9000; revoke it there first', messageZh: expect.stringContaining('E9000') });
    expect(preview.body.counts).toMatchObject({ create: 1 });
    expect(await snapshot()).toEqual(before);

    const commit = await upload('/employee-imports', file);
    expect(commit.status, commit.text).toBe(422);
    expect(commit.body).toMatchObject({ error: expect.stringContaining('nothing was written'), errorZh: expect.stringContaining('沒有寫入任何資料') });
    expect(commit.body.errors).toHaveLength(7);
    expect(await snapshot()).toEqual(before);
  });

  it('commits all rows in one transaction; the same file again changes nothing; roles become scoped accounts that can sign in', async () => {
    const file = csv(
      csvRow(good('E3001', { name_zh: '陳大文', sites: 'mk-01', badges: 'mifare:04A1B2C3;em4100:0A1B2C3D', ble_tag: 'C3:00:00:12:34:56', ble_consent: '2026-01-02', role: 'store-manager', phone: '+852 9123 4567' })),
      csvRow(good('E3002', { sites: 'tst-02', badges: 'mifare:04A1B2C4', email: 'wong@example.hk', start_date: '2026/1/5' })),
    );
    const before = await snapshot();
    const commit = await upload('/employee-imports?filename=november.csv', file);
    expect(commit.status, commit.text).toBe(200);
    expect(commit.body.counts).toEqual({ create: 2, update: 0, deactivate: 0, unchanged: 0 });
    expect(commit.body.accounts).toEqual([{ employeeNumber: 'E3001', username: 'e3001', oneTimePassword: expect.any(String) }]);

    const e3001 = (await t.api('GET', '/employees/E3001')).body.employee;
    expect(e3001).toMatchObject({ nameZh: '陳大文', phone: '+85291234567', sites: ['mk-01'], bleConsent: { recordedAt: '2026-01-02T00:00:00.000Z' } });
    expect(e3001.badges.map((badge: Json) => `${badge.credential.kind}:${badge.credential.uid}`).sort()).toEqual(['ble-tag:C30000123456', 'em4100:0A1B2C3D', 'mifare:04A1B2C3']);
    expect((await t.api('GET', '/employees/E3002')).body.employee).toMatchObject({ email: 'wong@example.hk', activeFrom: '2026-01-05' });
    const after = await snapshot();
    expect(after.employees - before.employees).toBe(2);
    expect(after.badge_assignments - before.badge_assignments).toBe(4);
    expect(after.users - before.users).toBe(1);
    const summary = await t.dashboard.db.get<{ actor_name: string; after: string }>("SELECT actor_name, after FROM audit_log WHERE action = 'employees.import' ORDER BY id DESC LIMIT 1");
    expect(summary?.actor_name).toBe('admin');
    expect(JSON.parse(summary!.after)).toMatchObject({ mode: 'upsert', records: 2, create: 2, accountsCreated: 1 });

    // New people are written without reading them back: their audit rows hold exactly what a read gives.
    const read = (await t.dashboard.employees.repository.get('E3002'))!;
    const audited = async (action: string, entityId: string) =>
      JSON.parse((await t.dashboard.db.get<{ after: string }>('SELECT after FROM audit_log WHERE action = ? AND entity_id = ? ORDER BY id DESC LIMIT 1', [action, entityId]))!.after) as Json;
    expect(await audited('employee.create', 'E3002')).toEqual({ ...read, badges: [], bleConsent: null });
    expect(await audited('badge.assign', 'mifare:04A1B2C4')).toEqual(read.badges[0]);
    expect(read.badges[0]).toMatchObject({ assignedByName: 'admin' });

    // The store manager made by the import signs in and reaches Mong Kok only.
    const manager = await signIn(t.dashboard.http, 'e3001', commit.body.accounts[0].oneTimePassword);
    expect(manager.status, JSON.stringify(manager.body)).toBe(200);
    expect(manager.body).toMatchObject({ user: { username: 'e3001', role: 'store-manager', sites: ['mk-01'], mustChangePassword: true } });

    const again = await upload('/employee-imports', file);
    expect(again.status, again.text).toBe(200);
    expect(again.body.counts).toEqual({ create: 0, update: 0, deactivate: 0, unchanged: 2 });
    expect(again.body.accounts).toEqual([]);
    expect(await snapshot()).toEqual(after);
  });

  it('previews an update as field-level diffs, then applies it; a full import deactivates the absent and revokes their badges', async () => {
    const header = 'employee_number,name,department,sites,badges';
    const change = Buffer.from(`${header}\nE3002,Person E3002,Sales,mk-01;tst-02,mifare:04A1B2C5\n`);
    const preview = await upload('/employee-imports/preview', change);
    expect(preview.body.employees).toEqual([
      {
        employeeNumber: 'E3002',
        row: 2,
        outcome: 'update',
        changes: [
          { field: 'department', before: null, after: 'Sales' },
          { field: 'sites', before: ['tst-02'], after: ['mk-01', 'tst-02'] },
          { field: 'badges', before: ['mifare:04A1B2C4'], after: ['mifare:04A1B2C5'] },
        ],
      },
    ]);
    expect((await upload('/employee-imports', change)).status).toBe(200);
    expect((await t.api('GET', '/employees/E3002')).body.employee).toMatchObject({ department: 'Sales', sites: ['mk-01', 'tst-02'], badges: [{ credential: { uid: '04A1B2C5' } }] });

    // Updates are written without reading back too: the audit row holds exactly what a read gives,
    // before and after (one site fewer; then a new phone with the same sites).
    const audited = async (entityId: string) => {
      const row = (await t.dashboard.db.get<{ before: string; after: string }>("SELECT before, after FROM audit_log WHERE action = 'employee.update' AND entity_id = ? ORDER BY id DESC LIMIT 1", [entityId]))!;
      return { before: JSON.parse(row.before) as Json, after: JSON.parse(row.after) as Json };
    };
    for (const line of ['E3002,Person E3002,Sales,tst-02,mifare:04A1B2C5', 'E3002,Person E3002,Sales,tst-02,mifare:04A1B2C5,5123 4567']) {
      const readBefore = await t.dashboard.employees.repository.get('E3002');
      const columns = line.split(',').length === 6 ? `${header},phone` : header;
      expect((await upload('/employee-imports', Buffer.from(`${columns}\n${line}\n`))).status).toBe(200);
      expect(await audited('E3002')).toEqual({ before: readBefore, after: await t.dashboard.employees.repository.get('E3002') });
    }
    expect(await t.dashboard.employees.repository.get('E3002')).toMatchObject({ department: 'Sales', sites: ['tst-02'], phone: '+85251234567' });

    const activeBefore = (await t.dashboard.db.all<{ employee_number: string }>("SELECT employee_number FROM employees WHERE status = 'active' ORDER BY 1")).map((row) => row.employee_number);
    const e3001Before = await t.dashboard.employees.repository.get('E3001');
    const full = await upload('/employee-imports?mode=full', Buffer.from(`${header}\nE3002,Person E3002,Sales,tst-02,mifare:04A1B2C5\n`));
    expect(full.status, full.text).toBe(200);
    // A deactivation's audit row: inactive since the import, its badges as they were when it was written (revoked after).
    const e3001After = (await t.dashboard.employees.repository.get('E3001'))!;
    expect(e3001After).toMatchObject({ status: 'inactive', inactiveSince: expect.any(String), badges: [] });
    expect(await audited('E3001')).toEqual({ before: e3001Before, after: { ...e3001After, badges: e3001Before!.badges } });
    expect(full.body.counts).toEqual({ create: 0, update: 0, deactivate: activeBefore.length - 1, unchanged: 1 });
    expect((await t.dashboard.db.all<{ employee_number: string }>("SELECT employee_number FROM employees WHERE status = 'active'")).map((row) => row.employee_number)).toEqual(['E3002']);
    expect(await t.dashboard.db.all("SELECT * FROM badge_assignments WHERE revoked_at IS NULL AND employee_number <> 'E3002'")).toEqual([]);
    // The deactivated store manager's account is disabled too.
    expect(await t.dashboard.db.get<{ disabled: number }>("SELECT disabled FROM users WHERE username = 'e3001'")).toEqual({ disabled: 1 });
  });

  it("refuses a badge that reads the same as another person's at Wiegand-26 readers, in the preview and at the commit", async () => {
    await t.api('PUT', '/employees/E9100', { name: 'Wiegand Holder', sites: ['mk-01'] });
    expect((await t.api('POST', '/employees/E9100/badges', { kind: 'wiegand26', uid: 'ABCDEF' })).status).toBe(201);
    const file = csv(csvRow(good('E9101', { sites: 'mk-01', badges: 'em4100:00ABCDEF' })), csvRow(good('E9102', { sites: 'mk-01', badges: 'em4100:11ABCDEF' })));
    const before = await snapshot();
    const preview = await upload('/employee-imports/preview', file);
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body.errors).toEqual([
      { row: 2, column: 'badges', message: expect.stringMatching(/^badge em4100:00ABCDEF and badge wiegand26:ABCDEF of employee E9100 read the same at Wiegand-26 readers/), messageZh: expect.stringContaining('E9100') },
      { row: 3, column: 'badges', message: expect.stringMatching(/^badge em4100:11ABCDEF and badge wiegand26:ABCDEF of employee E9100 read the same/), messageZh: expect.any(String) },
    ]);
    expect((await upload('/employee-imports', file)).status).toBe(422);
    expect(await snapshot()).toEqual(before);
  });

  it('reads UTF-8 with and without BOM and UTF-16 (LE and BE, tab-separated); refuses Big5 naming what to do', async () => {
    const tsv = `employee_number\tname\tname_zh\tsites\nE4001\tLee\t李小龍\tmk-01\n`;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(tsv, 'utf16le')]);
    const be = Buffer.from(le);
    be.swap16();
    for (const [encoding, bytes] of [
      ['utf-8', Buffer.from(tsv.replace(/\t/g, ','))],
      ['utf-8-bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(tsv.replace(/\t/g, ','))])],
      ['utf-16le', le],
      ['utf-16be', be],
    ] as const) {
      const preview = await upload('/employee-imports/preview', bytes, 'admin', { 'content-type': 'application/octet-stream' });
      expect(preview.status, `${encoding}: ${preview.text}`).toBe(200);
      expect(preview.body.file.encoding).toBe(encoding);
      expect(preview.body.employees[0].changes).toContainEqual({ field: 'nameZh', before: null, after: '李小龍' });
    }
    // 李小龍 in Big5.
    const big5 = Buffer.concat([Buffer.from('employee_number,name,name_zh\nE4002,Lee,'), Buffer.from([0xa7, 0xf5, 0xa4, 0x70, 0xc0, 0x73]), Buffer.from('\n')]);
    const refused = await upload('/employee-imports', big5);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: expect.stringContaining('CSV UTF-8'), errorZh: expect.stringContaining('CSV UTF-8') });
    expect(await t.count("employees WHERE employee_number = 'E4002'")).toBe(0);
    const empty = await upload('/employee-imports', Buffer.alloc(0));
    expect(empty.status).toBe(415);
  });

  it('checks departments once codes are defined, and refuses roles from a caller who may not manage users', async () => {
    expect((await t.api('PUT', '/departments/OPS', { name: 'Operations', nameZh: '營運部' })).status).toBe(200);
    const typo = await upload('/employee-imports/preview', Buffer.from('employee_number,name,department\nE5001,Ho,OPS\nE5002,Yu,Opps\n'));
    expect(typo.body.errors).toEqual([{ row: 3, column: 'department', message: 'there is no department Opps', messageZh: '沒有部門「Opps」' }]);

    const fromHr = await upload('/employee-imports', Buffer.from('employee_number,name,role,sites\nE5003,Ng,admin,\n'), 'hr');
    expect(fromHr.status, fromHr.text).toBe(422);
    expect(fromHr.body.errors).toEqual([{ row: 2, column: 'role', message: expect.stringContaining('users:manage'), messageZh: expect.any(String) }]);
    expect(await t.count("users WHERE username = 'e5003'")).toBe(0);
    // HR imports people without roles.
    expect((await upload('/employee-imports', Buffer.from('employee_number,name\nE5003,Ng\n'), 'hr')).status).toBe(200);
    expect((await upload('/employee-imports', Buffer.from('employee_number,name\nE5004,Ng\n'), 'mgr-mk')).status).toBe(403);
  });

  it('checks badge holders again inside the commit: a badge given away since the file was checked refuses the commit, naming the row', async () => {
    const sync = new EmployeeSync({
      db: t.dashboard.db,
      employees: t.dashboard.employees,
      departments: new DepartmentRepository(t.dashboard.db),
      accounts: new LinkedAccounts(t.dashboard.db, t.dashboard.auth.audit, t.dashboard.auth.users, () => new Date()),
      audit: t.dashboard.auth.audit,
      logger: testLogger(),
    });
    const checked = validateEmployeeText(`${HEADER}\n${csvRow(good('E5500', { sites: 'mk-01', badges: 'mifare:0E0E0E0E' }))}\n`, await sync.context());
    expect(checked.errors).toEqual([]);
    // Meanwhile, in the console:
    expect((await t.api('PUT', '/employees/E5501', { name: 'Quick', sites: ['mk-01'] })).status).toBe(201);
    expect((await t.api('POST', '/employees/E5501/badges', { kind: 'mifare', uid: '0E0E0E0E' })).status).toBe(201);
    const before = await snapshot();
    const access = { actor: { kind: 'system' as const, id: 'system', name: 'test' }, sites: 'all' as const };
    await expect(sync.commit({ records: checked.rows, errors: [], mode: 'upsert', access, mayGrantRoles: true, source: 'test' })).rejects.toMatchObject({
      errors: [{ row: 2, column: 'badges', message: 'badge mifare:0E0E0E0E is assigned to employee E5501; revoke it there first' }],
    });
    expect(await snapshot()).toEqual(before);
  });

  it('a failure half-way through a commit leaves the database as it was', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => csvRow(good(`E6${String(i).padStart(3, '0')}`, { sites: 'mk-01', badges: `mifare:0B${String(i).padStart(6, '0')}` })));
    await t.dashboard.db.exec("CREATE TRIGGER import_fails BEFORE INSERT ON employees WHEN NEW.employee_number = 'E6050' BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
    const before = await snapshot();
    try {
      const commit = await upload('/employee-imports', csv(...rows));
      expect(commit.status).toBe(500);
      expect(await snapshot()).toEqual(before);
      expect(await t.count("employees WHERE employee_number LIKE 'E6%'")).toBe(0);
    } finally {
      await t.dashboard.db.exec('DROP TRIGGER import_fails');
    }
    const retry = await upload('/employee-imports', csv(...rows));
    expect(retry.body.counts).toMatchObject({ create: 60 });
  });

  it('streams progress lines, then the result, to a client that asks for NDJSON', async () => {
    const rows = Array.from({ length: 600 }, (_, i) => csvRow(good(`E7${String(i).padStart(3, '0')}`, { sites: 'tst-02' })));
    const streamed = await upload('/employee-imports', csv(...rows), 'admin', { accept: 'application/x-ndjson' });
    expect(streamed.status).toBe(200);
    expect(streamed.headers['content-type']).toBe('application/x-ndjson');
    const lines = streamed.text.trim().split('\n').map((line) => JSON.parse(line) as Json);
    const progress = lines.filter((line) => line.progress).map((line) => line.progress);
    expect(progress).toContainEqual({ phase: 'check', done: 250, total: 600 });
    expect(progress).toContainEqual({ phase: 'commit', done: 600, total: 600 });
    expect(lines.at(-1)).toMatchObject({ result: { counts: { create: 600 } } });

    const refused = await upload('/employee-imports', csv(csvRow(good('E8000', { sites: 'nowhere' }))), 'admin', { accept: 'application/x-ndjson' });
    const last = JSON.parse(refused.text.trim().split('\n').at(-1)!) as Json;
    expect(last).toMatchObject({ status: 422, errors: [{ row: 2, column: 'sites' }] });
  });

  it('departments: list, rename, refuse deleting one in use, delete, and field errors', async () => {
    expect((await t.api('PUT', '/departments/Sales', { name: 'Sales' })).body).toMatchObject({ created: true, department: { code: 'Sales', employees: 1 } });
    expect((await t.api('PUT', '/departments/Sales', { name: 'Sales team', nameZh: '銷售部' })).body).toMatchObject({ created: false, department: { name: 'Sales team', nameZh: '銷售部' } });
    expect((await t.api('GET', '/departments')).body.departments.map((d: Json) => d.code)).toEqual(['OPS', 'Sales']);
    expect((await t.api('DELETE', '/departments/Sales')).status).toBe(409);
    expect((await t.api('DELETE', '/departments/OPS')).status).toBe(204);
    expect((await t.api('DELETE', '/departments/OPS')).status).toBe(404);
    const badCode = await t.api('PUT', '/departments/bad!', { name: 'Bad' });
    expect(badCode.status).toBe(400);
    expect(badCode.body.issues).toEqual([{ in: 'params', field: 'code', message: expect.stringContaining('letters, digits') }]);
    const badName = await t.api('PUT', '/departments/Ops', { name: '' });
    expect(badName.status).toBe(400);
    expect(badName.body.issues).toEqual([{ in: 'body', field: 'name', message: 'name must not be empty' }]);
    expect((await t.api('DELETE', '/departments/bad!')).body.issues).toEqual([{ in: 'params', field: 'code', message: expect.any(String) }]);
    for (const url of ['/employee-imports/preview?mode=everything', '/employee-imports?mode=everything']) {
      const badQuery = await upload(url, Buffer.from('employee_number,name\nE1,A\n'));
      expect(badQuery.status).toBe(400);
      expect(badQuery.body.issues).toEqual([{ in: 'querystring', field: 'mode', message: expect.any(String) }]);
    }
  });
});
