import { describe, expect, it } from 'vitest';
import { planImport, type CurrentEmployee } from '../../provisioning/employee-import/plan-import.js';
import { validateEmployeeText } from '../../provisioning/employee-import/validate-rows.js';
import { context } from './employee-import-fixtures.js';

/** Rows through the real validator, so that the plan sees exactly what an import hands it. */
function records(header: string, ...rows: string[]) {
  const result = validateEmployeeText([header, ...rows].join('\n'), { ...context, badgeHolder: () => undefined });
  expect(result.errors).toEqual([]);
  return result.rows;
}

const chan: CurrentEmployee = {
  employeeNumber: 'E1',
  name: 'Chan Tai Man',
  nameZh: '陳大文',
  department: 'OPS',
  rank: null,
  phone: '+85291234567',
  email: null,
  sites: ['MK', 'TST'],
  activeFrom: '2026-01-02',
  activeUntil: null,
  status: 'active',
  credentials: [{ kind: 'mifare', uid: '04A1B2C3' }, { kind: 'ble-tag', uid: 'C30000123456' }],
  bleConsent: true,
  account: null,
};
const current = (...employees: CurrentEmployee[]) => new Map(employees.map((employee) => [employee.employeeNumber, employee]));

describe('planImport', () => {
  it('creates an employee with everything the row gives', () => {
    const plan = planImport(records('employee_number,name,sites,badges,role', 'E2,Wong,TST;MK,mifare:0A0B0C0D,store-manager'), new Map());
    expect(plan.counts).toEqual({ create: 1, update: 0, deactivate: 0, unchanged: 0 });
    expect(plan.employees[0]).toMatchObject({
      employeeNumber: 'E2',
      row: 2,
      outcome: 'create',
      fields: { name: 'Wong', sites: ['MK', 'TST'], status: 'active', department: null },
      assign: [{ kind: 'mifare', uid: '0A0B0C0D' }],
      revoke: [],
      account: { action: 'create', role: 'store-manager', sites: ['MK', 'TST'] },
    });
    expect(plan.employees[0]!.changes).toContainEqual({ field: 'role', before: null, after: 'store-manager: MK, TST' });
  });

  it('finds nothing to do when the record matches, and leaves out columns the file does not have', () => {
    // No badges, ble_tag, ble_consent, role or phone column: those stay as they are.
    const plan = planImport(records('employee_number,name,name_zh,department,sites,start_date', 'E1,Chan Tai Man,陳大文,OPS,TST;MK,2026-01-02'), current(chan));
    expect(plan.counts).toEqual({ create: 0, update: 0, deactivate: 0, unchanged: 1 });
    expect(plan.employees[0]).toMatchObject({ outcome: 'unchanged', changes: [], fields: null, assign: [], revoke: [], consent: null, account: null });
  });

  it('shows field-level diffs of an update, badges included', () => {
    const plan = planImport(records('employee_number,name,department,sites,badges', 'E1,Chan Tai-man,RETAIL,TST,mifare:0A0B0C0D'), current(chan));
    const [planned] = plan.employees;
    expect(planned!.outcome).toBe('update');
    expect(planned!.changes).toEqual([
      { field: 'name', before: 'Chan Tai Man', after: 'Chan Tai-man' },
      { field: 'department', before: 'OPS', after: 'RETAIL' },
      { field: 'sites', before: ['MK', 'TST'], after: ['TST'] },
      // The badges column governs badges; the BLE tag is kept (no ble_tag column).
      { field: 'badges', before: ['ble-tag:C30000123456', 'mifare:04A1B2C3'], after: ['ble-tag:C30000123456', 'mifare:0A0B0C0D'] },
    ]);
    expect(planned!.assign).toEqual([{ kind: 'mifare', uid: '0A0B0C0D' }]);
    expect(planned!.revoke).toEqual([{ kind: 'mifare', uid: '04A1B2C3' }]);
  });

  it('deactivating revokes every badge and tag and disables the linked account', () => {
    const manager: CurrentEmployee = { ...chan, account: { role: 'store-manager', sites: ['MK', 'TST'], disabled: false } };
    const plan = planImport(records('employee_number,name,status', 'E1,Chan Tai Man,inactive'), current(manager));
    expect(plan.employees[0]).toMatchObject({ outcome: 'deactivate', account: { action: 'disable' }, assign: [] });
    expect(plan.employees[0]!.revoke).toHaveLength(2);
    expect(plan.employees[0]!.changes).toContainEqual({ field: 'role', before: 'store-manager: MK, TST', after: null });
  });

  it('a full sync deactivates the active employees the records do not name, and only those', () => {
    const gone: CurrentEmployee = { ...chan, employeeNumber: 'E7', name: 'Gone' };
    const left: CurrentEmployee = { ...chan, employeeNumber: 'E8', status: 'inactive', credentials: [] };
    const plan = planImport(records('employee_number,name', 'E1,Chan Tai Man'), current(chan, gone, left), { mode: 'full', fullScope: [chan, gone, left] });
    expect(plan.counts).toEqual({ create: 0, update: 0, deactivate: 1, unchanged: 1 });
    expect(plan.employees[1]).toMatchObject({ employeeNumber: 'E7', row: null, outcome: 'deactivate', fields: { status: 'inactive', name: 'Gone' } });
    expect(planImport(records('employee_number,name', 'E1,Chan Tai Man'), current(chan, gone), { mode: 'upsert' }).counts.deactivate).toBe(0);
  });

  it('store-manager sites follow the employee sites, and an empty role disables the account', () => {
    const manager: CurrentEmployee = { ...chan, account: { role: 'store-manager', sites: ['MK', 'TST'], disabled: false } };
    const moved = planImport(records('employee_number,name,sites', 'E1,Chan Tai Man,CWB'), current(manager)).employees[0]!;
    expect(moved.account).toEqual({ action: 'update', role: 'store-manager', sites: ['CWB'] });
    const cleared = planImport(records('employee_number,name,role', 'E1,Chan Tai Man,'), current(manager)).employees[0]!;
    expect(cleared.account).toEqual({ action: 'disable' });
  });

  it('consent: recorded with the day given, withdrawn by no', () => {
    const fresh = { ...chan, bleConsent: false };
    expect(planImport(records('employee_number,name,ble_tag,ble_consent', 'E1,Chan Tai Man,C30000123456,2026-03-04'), current(fresh)).employees[0]!.consent).toEqual({ action: 'record', date: '2026-03-04' });
    expect(planImport(records('employee_number,name,ble_consent', 'E1,Chan Tai Man,no'), current(chan)).employees[0]!.consent).toEqual({ action: 'withdraw' });
  });
});
