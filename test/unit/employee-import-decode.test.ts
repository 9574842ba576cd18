import { describe, expect, it } from 'vitest';
import { ImportFileError, decodeImportFile } from '../../provisioning/employee-import/decode-file.js';
import { validateEmployeeFile } from '../../provisioning/employee-import/validate-rows.js';
import { IMPORT_COLUMNS } from '../../provisioning/employee-import/columns.js';
import { HEADER, context, csvRow } from './employee-import-fixtures.js';

const text = [
  HEADER,
  csvRow({ employee_number: 'E1', name: 'Chan Tai Man', name_zh: '陳大文', department: 'OPS', phone: '9123 4567', sites: 'TST;MK', badges: 'mifare:04A1B2C3' }),
  csvRow({ employee_number: 'E2', name: 'Wong, Siu Ming', name_zh: '黃小明', sites: 'CWB', ble_tag: 'C3:00:00:12:34:56', ble_consent: '2026-01-05' }),
].join('\r\n');

const BOM8 = Buffer.from([0xef, 0xbb, 0xbf]);
const utf16le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
const utf16be = (s: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, 'utf16le').swap16()]);

function refusal(bytes: Buffer): ImportFileError {
  try {
    decodeImportFile(bytes);
  } catch (error) {
    if (error instanceof ImportFileError) return error;
    throw error;
  }
  throw new Error('the file was accepted');
}

describe('decodeImportFile', () => {
  it('reads UTF-8 with and without BOM and UTF-16 LE/BE with BOM to the same text', () => {
    expect(decodeImportFile(Buffer.from(text, 'utf8'))).toEqual({ text, encoding: 'utf-8' });
    expect(decodeImportFile(Buffer.concat([BOM8, Buffer.from(text, 'utf8')]))).toEqual({ text, encoding: 'utf-8-bom' });
    expect(decodeImportFile(utf16le(text))).toEqual({ text, encoding: 'utf-16le' });
    expect(decodeImportFile(utf16be(text))).toEqual({ text, encoding: 'utf-16be' });
  });

  it('gives the same validated rows from every supported encoding', () => {
    const files = [Buffer.from(text, 'utf8'), Buffer.concat([BOM8, Buffer.from(text, 'utf8')]), utf16le(text), utf16be(text)];
    const results = files.map((file) => validateEmployeeFile(file, context));
    expect(results.map((r) => r.encoding)).toEqual(['utf-8', 'utf-8-bom', 'utf-16le', 'utf-16be']);
    for (const result of results) {
      expect(result.errors).toEqual([]);
      expect(result.rows).toEqual(results[0]!.rows);
    }
    expect(results[0]!.rows.map((r) => [r.employeeNumber, r.name, r.nameZh])).toEqual([
      ['E1', 'Chan Tai Man', '陳大文'],
      ['E2', 'Wong, Siu Ming', '黃小明'],
    ]);
  });

  it("accepts Excel's Unicode text: UTF-16 LE with BOM, tab-separated", () => {
    const tabbed = [
      IMPORT_COLUMNS.join('\t'),
      csvRow({ employee_number: 'E1', name: 'Chan, Tai Man', name_zh: '陳大文', sites: 'TST|MK', phone: '2345 6789' }, '\t'),
    ].join('\r\n');
    const result = validateEmployeeFile(utf16le(tabbed), context);
    expect(result.errors).toEqual([]);
    expect(result.delimiter).toBe('\t');
    expect(result.encoding).toBe('utf-16le');
    expect(result.rows).toMatchObject([{ row: 2, employeeNumber: 'E1', name: 'Chan, Tai Man', nameZh: '陳大文', sites: ['TST', 'MK'], phone: '+85223456789' }]);
  });

  it('refuses a Big5 file with a bilingual message that says to save as CSV UTF-8', () => {
    // "E1,陳大文" with the name in Big5: B3AF A46A A4E5.
    const big5 = Buffer.concat([Buffer.from('employee_number,name\r\nE1,', 'ascii'), Buffer.from([0xb3, 0xaf, 0xa4, 0x6a, 0xa4, 0xe5]), Buffer.from('\r\n')]);
    const error = refusal(big5);
    expect(error.message).toContain('not UTF-8');
    expect(error.message).toContain('CSV UTF-8');
    expect(error.messageZh).toContain('UTF-8');
    expect(error.messageZh).toContain('CSV UTF-8');
    expect(error.messageZh).toMatch(/請在 Excel/);
    expect(() => validateEmployeeFile(big5, context)).toThrow(ImportFileError);
  });

  it('refuses a Latin-1 file', () => {
    const latin1 = Buffer.from('employee_number,name\r\nE1,José Ramírez\r\n', 'latin1');
    const error = refusal(latin1);
    expect(error.message).toContain('not UTF-8');
    expect(error.message).toContain('CSV UTF-8');
    expect(error.messageZh).toContain('CSV UTF-8');
  });

  it('refuses UTF-16 without a BOM, NUL bytes in UTF-8 and truncated UTF-16', () => {
    expect(refusal(Buffer.from(text, 'utf16le')).message).toContain('NUL');
    expect(refusal(Buffer.from('employee_number,name\nE1,A\u0000B\n', 'utf8')).messageZh).toContain('NUL');
    const odd = utf16le('employee_number,name\r\n').subarray(0, 9);
    expect(refusal(odd).message).toContain('UTF-16LE');
    for (const error of [refusal(Buffer.from(text, 'utf16le')), refusal(odd)]) {
      expect(error.message).toContain('CSV UTF-8');
      expect(error.messageZh).toContain('CSV UTF-8');
    }
  });

  it('reads an empty file as empty text, which the validator refuses as empty', () => {
    expect(decodeImportFile(Buffer.alloc(0))).toEqual({ text: '', encoding: 'utf-8' });
    expect(() => validateEmployeeFile(Buffer.alloc(0), context)).toThrow(/empty/);
  });
});
