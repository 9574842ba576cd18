import { credentialKey, type Credential } from '../../core/credential.js';
import type { ImportColumn } from './columns.js';
import type { ImportRole, ValidEmployeeRow } from './validate-rows.js';

/**
 * What an import (a file or an HRIS payload) would do to the employees it names: pure, so that
 * the preview and the commit decide the same way. Columns a record does not have are left as
 * they are; an employee whose every field already matches is "unchanged", and a commit writes
 * nothing for it (importing the same file twice changes nothing the second time).
 */

/** An employee as the database holds it now, in the terms of an import record. */
export interface CurrentEmployee extends Omit<EmployeeFields, 'sites'> {
  employeeNumber: string;
  sites: readonly string[];
  /** Credentials assigned now: badges and BLE tags. */
  credentials: readonly Credential[];
  bleConsent: boolean;
  /** The console account linked to the employee (made by an import or HRIS sync), if any. */
  account: { role: ImportRole; sites: 'all' | readonly string[]; disabled: boolean } | null;
}

export type PlannedField = 'name' | 'nameZh' | 'department' | 'rank' | 'phone' | 'email' | 'sites' | 'activeFrom' | 'activeUntil' | 'status' | 'badges' | 'bleConsent' | 'role';
export type FieldValue = string | string[] | boolean | null;

export interface FieldChange {
  field: PlannedField;
  before: FieldValue;
  after: FieldValue;
}

/** The employee fields as they will be written. */
export interface EmployeeFields {
  name: string;
  nameZh: string | null;
  department: string | null;
  rank: string | null;
  phone: string | null;
  email: string | null;
  sites: string[];
  activeFrom: string | null;
  activeUntil: string | null;
  status: 'active' | 'inactive';
}

export type AccountAction =
  | { action: 'create'; role: ImportRole; sites: 'all' | string[] }
  | { action: 'update'; role: ImportRole; sites: 'all' | string[] }
  | { action: 'disable' };

export interface PlannedEmployee {
  employeeNumber: string;
  /** The record's row (file line, or 1-based position in an HRIS payload); null when the employee is absent from a full sync. */
  row: number | null;
  outcome: 'create' | 'update' | 'deactivate' | 'unchanged';
  changes: FieldChange[];
  /** What to write to the employee row; null when it stays as it is. */
  fields: EmployeeFields | null;
  assign: Credential[];
  revoke: Credential[];
  /** Consent to BLE tracking to record (with the day given, if any) or withdraw. */
  consent: { action: 'record'; date: string | null } | { action: 'withdraw' } | null;
  account: AccountAction | null;
}

export interface ImportPlan {
  employees: PlannedEmployee[];
  counts: Record<PlannedEmployee['outcome'], number>;
}

export interface PlanOptions {
  /**
   * `upsert` (default): the records' employees only. `full`: also deactivates every active
   * employee in `fullScope` that the records do not name.
   */
  mode?: 'upsert' | 'full';
  /** For `full`: the employees the caller reaches now. */
  fullScope?: readonly CurrentEmployee[];
}

const same = (a: FieldValue, b: FieldValue): boolean =>
  Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((value, index) => value === b[index]) : a === b;

const sortedKeys = (credentials: readonly Credential[]): string[] => credentials.map(credentialKey).sort();

const accountSites = (role: ImportRole, sites: readonly string[]): 'all' | string[] => (role === 'store-manager' ? [...sites].sort() : 'all');

/** A role as the preview shows it: a store manager with the stores it reaches. */
function roleLabel(role: ImportRole, sites: 'all' | readonly string[]): string {
  return sites === 'all' ? role : `${role}: ${[...sites].sort().join(', ')}`;
}

function sameSites(a: 'all' | readonly string[], b: 'all' | readonly string[]): boolean {
  if (a === 'all' || b === 'all') return a === b;
  return same([...a].sort(), [...b].sort());
}

/** The credentials the record wants, where it says anything about them; `undefined` for "as they are". */
function desiredCredentials(record: ValidEmployeeRow, current: readonly Credential[]): Credential[] {
  const has = (column: ImportColumn) => record.columns.includes(column);
  const listedTags = record.badges.filter((badge) => badge.kind === 'ble-tag');
  // The badges column governs badges; BLE tags are governed by the ble_tag column, or by the
  // badges column when it lists one (a tag written there is a tag like any other).
  const governsBadges = has('badges');
  const governsTags = has('ble_tag') || listedTags.length > 0;
  const kept = current.filter((credential) => (credential.kind === 'ble-tag' ? !governsTags : !governsBadges));
  const wanted = [...(governsBadges ? record.badges.filter((badge) => badge.kind !== 'ble-tag') : []), ...(governsTags ? listedTags : []), ...(governsTags && record.bleTag ? [record.bleTag] : [])];
  return [...kept, ...wanted];
}

function planRecord(record: ValidEmployeeRow, current: CurrentEmployee | undefined): PlannedEmployee {
  const has = (column: ImportColumn) => record.columns.includes(column);
  const pick = <T>(column: ImportColumn, value: T, before: T | undefined, fallback: T): T => (has(column) ? value : before !== undefined ? before : fallback);
  const fields: EmployeeFields = {
    name: record.name,
    nameZh: pick('name_zh', record.nameZh, current?.nameZh, null),
    department: pick('department', record.department, current?.department, null),
    rank: pick('rank', record.rank, current?.rank, null),
    phone: pick('phone', record.phone, current?.phone, null),
    email: pick('email', record.email, current?.email, null),
    sites: [...pick<readonly string[]>('sites', record.sites, current?.sites, [])].sort(),
    activeFrom: pick('start_date', record.activeFrom, current?.activeFrom, null),
    activeUntil: pick('end_date', record.activeUntil, current?.activeUntil, null),
    status: pick('status', record.status, current?.status, 'active'),
  };
  const inactive = fields.status === 'inactive';
  const currentCredentials = current?.credentials ?? [];
  // A deactivated employee keeps no badge or tag: the gateways refuse them from the next roster.
  const credentials = inactive ? [] : desiredCredentials(record, currentCredentials);
  const currentKeys = new Set(currentCredentials.map(credentialKey));
  const wantedKeys = new Set(credentials.map(credentialKey));
  const assign = credentials.filter((credential) => !currentKeys.has(credentialKey(credential)));
  const revoke = currentCredentials.filter((credential) => !wantedKeys.has(credentialKey(credential)));

  const consentBefore = current?.bleConsent ?? false;
  const consentAfter = has('ble_consent') ? record.bleConsent !== null : consentBefore;
  const consent = consentAfter === consentBefore ? null : consentAfter ? { action: 'record' as const, date: record.bleConsent?.date ?? null } : { action: 'withdraw' as const };

  const account = planAccount(record, current, fields);

  const changes: FieldChange[] = [];
  const compare = (field: PlannedField, before: FieldValue, after: FieldValue) => {
    if (!same(before, after)) changes.push({ field, before, after });
  };
  if (current) {
    compare('name', current.name, fields.name);
    compare('nameZh', current.nameZh, fields.nameZh);
    compare('department', current.department, fields.department);
    compare('rank', current.rank, fields.rank);
    compare('phone', current.phone, fields.phone);
    compare('email', current.email, fields.email);
    compare('sites', [...current.sites].sort(), fields.sites);
    compare('activeFrom', current.activeFrom, fields.activeFrom);
    compare('activeUntil', current.activeUntil, fields.activeUntil);
    compare('status', current.status, fields.status);
  } else {
    for (const [field, value] of Object.entries(fields) as Array<[PlannedField, FieldValue]>) {
      if (value !== null && !(Array.isArray(value) && value.length === 0)) changes.push({ field, before: null, after: value });
    }
  }
  compare('badges', sortedKeys(currentCredentials), sortedKeys(credentials));
  compare('bleConsent', consentBefore, consentAfter);
  const roleBefore = current?.account && !current.account.disabled ? roleLabel(current.account.role, current.account.sites) : null;
  const roleAfter = account === null ? roleBefore : account.action === 'disable' ? null : roleLabel(account.role, account.sites);
  compare('role', roleBefore, roleAfter);

  const fieldsChanged = !current || changes.some((change) => !['badges', 'bleConsent', 'role'].includes(change.field));
  const outcome: PlannedEmployee['outcome'] = !current
    ? 'create'
    : changes.length === 0
      ? 'unchanged'
      : current.status === 'active' && inactive
        ? 'deactivate'
        : 'update';
  return { employeeNumber: record.employeeNumber, row: record.row, outcome, changes, fields: fieldsChanged ? fields : null, assign, revoke, consent, account };
}

/** The account write a record asks for: role column (absent: keep), deactivation disables, store-manager sites follow the employee's. */
function planAccount(record: ValidEmployeeRow, current: CurrentEmployee | undefined, fields: EmployeeFields): AccountAction | null {
  const account = current?.account ?? null;
  const wantedRole = fields.status === 'inactive' ? null : record.columns.includes('role') ? record.role : account && !account.disabled ? account.role : null;
  if (wantedRole === null) return account && !account.disabled ? { action: 'disable' } : null;
  const sites = accountSites(wantedRole, fields.sites);
  if (!account) return { action: 'create', role: wantedRole, sites };
  if (account.disabled || account.role !== wantedRole || !sameSites(account.sites, sites)) return { action: 'update', role: wantedRole, sites };
  return null;
}

function planAbsent(current: CurrentEmployee): PlannedEmployee {
  const changes: FieldChange[] = [{ field: 'status', before: 'active', after: 'inactive' }];
  if (current.credentials.length > 0) changes.push({ field: 'badges', before: sortedKeys(current.credentials), after: [] });
  const account: AccountAction | null = current.account && !current.account.disabled ? { action: 'disable' } : null;
  if (current.account && account) changes.push({ field: 'role', before: roleLabel(current.account.role, current.account.sites), after: null });
  return {
    employeeNumber: current.employeeNumber,
    row: null,
    outcome: 'deactivate',
    changes,
    fields: {
      name: current.name,
      nameZh: current.nameZh,
      department: current.department,
      rank: current.rank,
      phone: current.phone,
      email: current.email,
      sites: [...current.sites],
      activeFrom: current.activeFrom,
      activeUntil: current.activeUntil,
      status: 'inactive',
    },
    assign: [],
    revoke: [...current.credentials],
    consent: null,
    account,
  };
}

/** Plans every record against the employees as they are (`current`, by employee number). */
export function planImport(records: readonly ValidEmployeeRow[], current: ReadonlyMap<string, CurrentEmployee>, options: PlanOptions = {}): ImportPlan {
  const employees = records.map((record) => planRecord(record, current.get(record.employeeNumber)));
  if (options.mode === 'full') {
    const named = new Set(records.map((record) => record.employeeNumber));
    for (const employee of options.fullScope ?? []) {
      if (employee.status === 'active' && !named.has(employee.employeeNumber)) employees.push(planAbsent(employee));
    }
  }
  const counts = { create: 0, update: 0, deactivate: 0, unchanged: 0 };
  for (const employee of employees) counts[employee.outcome] += 1;
  return { employees, counts };
}
