import { IMPORT_COLUMNS, type ImportColumn } from '../../provisioning/employee-import/columns.js';
import type { ImportContext } from '../../provisioning/employee-import/validate-rows.js';

/** Shared by the employee-import tests: a database that knows a few departments, sites and one badge. */
export const context: ImportContext = {
  knownDepartments: new Set(['OPS', 'HR', 'RETAIL']),
  knownSites: new Set(['TST', 'MK', 'CWB']),
  badgeHolder: (key) => (key === 'mifare:DEADBEEF' ? 'E9000' : undefined),
  // E9001 holds wiegand26:345678: what a Wiegand-26 reader reads from any EM4100 card ending in 345678.
  mistakableHolder: (credential, employeeNumber) =>
    credential.kind === 'em4100' && credential.uid.endsWith('345678') && employeeNumber !== 'E9001' ? { key: 'wiegand26:345678', holder: 'E9001' } : undefined,
};

export const HEADER = IMPORT_COLUMNS.join(',');

function quote(value: string): string {
  return /[",\r\n\t]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line with the template's columns in order; unnamed columns are left empty. */
export function csvRow(cells: Partial<Record<ImportColumn, string>>, delimiter = ','): string {
  return IMPORT_COLUMNS.map((column) => quote(cells[column] ?? '')).join(delimiter);
}

export const good = (employeeNumber: string, more: Partial<Record<ImportColumn, string>> = {}): Partial<Record<ImportColumn, string>> => ({
  employee_number: employeeNumber,
  name: `Person ${employeeNumber}`,
  ...more,
});
