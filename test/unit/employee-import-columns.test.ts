import { describe, expect, it } from 'vitest';
import { COLUMN_ZH, IMPORT_COLUMNS, columnOf, templateCsv } from '../../provisioning/employee-import/columns.js';
import { validateEmployeeFile } from '../../provisioning/employee-import/validate-rows.js';
import { context } from './employee-import-fixtures.js';

describe('import columns', () => {
  it('matches headers case-insensitively, with spaces, underscores and hyphens alike, and in Chinese', () => {
    for (const header of ['employee_number', 'Employee Number', 'EMPLOYEE-NUMBER', ' employee  number ', 'EmployeeNumber', '員工編號']) expect(columnOf(header)).toBe('employee_number');
    expect(columnOf('BLE Consent')).toBe('ble_consent');
    expect(columnOf('離職日期')).toBe('end_date');
    expect(columnOf('nmae')).toBeUndefined();
    for (const column of IMPORT_COLUMNS) expect(columnOf(COLUMN_ZH[column])).toBe(column);
  });

  it('gives a template in UTF-8 with BOM whose example row passes validation', () => {
    const bytes = Buffer.from(templateCsv(), 'utf8');
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = templateCsv().slice(1).trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(IMPORT_COLUMNS.join(','));
    const result = validateEmployeeFile(bytes, context);
    expect(result.errors).toEqual([]);
    expect(result.encoding).toBe('utf-8-bom');
    expect(result.rows).toMatchObject([{ employeeNumber: 'E1001', nameZh: '陳大文', phone: '+85291234567', sites: ['TST', 'MK'], role: 'store-manager' }]);
  });
});
