import { describe, expect, it } from 'vitest';
import { ImportFileError } from '../../provisioning/employee-import/decode-file.js';
import { validateEmployeeFile, validateEmployeeText, detectDelimiter } from '../../provisioning/employee-import/validate-rows.js';
import { HEADER, context, csvRow, good } from './employee-import-fixtures.js';

const file = (...rows: string[]) => [HEADER, ...rows].join('\r\n') + '\r\n';
const where = (errors: Array<{ row: number; column: string }>) => errors.map((e) => [e.row, e.column]);

describe('validateEmployeeText: every kind of bad row', () => {
  const text = file(
    /* 2 */ csvRow(good('E1001', { name: 'Chan Tai Man', name_zh: '陳大文', department: 'OPS', rank: 'Senior', role: 'store-manager', phone: '9123 4567', email: 'tm@example.com', sites: 'TST;MK', badges: 'mifare:04a1b2c3', ble_tag: 'C3:00:00:12:34:56', ble_consent: 'yes', start_date: '2026-01-02', status: 'active' })),
    /* 3 */ csvRow({ name: 'No Number' }),
    /* 4 */ csvRow({ employee_number: 'E1003' }),
    /* 5 */ csvRow(good('E1004', { department: 'XX' })),
    /* 6 */ csvRow(good('E1005', { sites: 'TST|ZZ' })),
    /* 7 */ csvRow(good('E1006', { phone: '4123 4567' })),
    /* 8 */ csvRow(good('E1007', { phone: '+4412' })),
    /* 9 */ csvRow(good('E1008', { email: 'not-an-email' })),
    /* 10 */ csvRow(good('E1001')),
    /* 11 */ csvRow(good('E1010', { badges: 'mifare:04A1B2C3' })),
    /* 12 */ csvRow(good('E1011', { badges: 'mifare:DEADBEEF' })),
    /* 13 */ csvRow(good('E1012', { badges: 'wiegand26:0102' })),
    /* 14 */ csvRow(good('E1013', { start_date: '2026-03-01', end_date: '2026-02-01' })),
    /* 15 */ csvRow(good('E1014', { role: 'boss' })),
    /* 16 */ csvRow(good('E1015', { role: 'store-manager' })),
    /* 17 */ csvRow(good('E1016', { ble_consent: 'yes' })),
    /* 18 */ csvRow(good('E1017', { status: 'gone' })),
    /* 19 */ csvRow(good('E1018', { start_date: '01/02/2026' })),
    /* 20 */ csvRow(good('E9000', { badges: 'mifare:DEADBEEF' })),
    /* 21 */ csvRow(good('E1020', { ble_tag: 'c30000123456' })),
    /* 22 */ csvRow(good('E1021', { badges: 'foo' })),
    /* 23 */ csvRow(good('E1022', { phone: '12', email: 'a@' })),
    /* 24 */ csvRow(good('E1023', { employee_number: 'E 1023' })),
    /* 25 */ csvRow(good('E1024', { phone: '8.52912E+10' })),
    /* 26 */ csvRow(good('E1025', { badges: 'em4100:0A1B2C3D;em4100:000A1B2C3D' })),
    /* 27 */ csvRow(good('E1026', { ble_consent: 'maybe', ble_tag: 'AA01' })),
    /* 28 */ csvRow(good('E1027', { end_date: '2026-02-30' })),
    /* 29 */ csvRow(good('E1028', { badges: 'mifare:0011' })),
    // Read the same at Wiegand-26 readers: an EM4100 card and a wiegand26 badge with its low 24 bits.
    /* 30 */ csvRow(good('E1029', { badges: 'em4100:12345678' })),
    /* 31 */ csvRow(good('E1030', { badges: 'wiegand26:0A1B2C' })),
    /* 32 */ csvRow(good('E1031', { badges: 'em4100:990A1B2C' })),
    /* 33 */ csvRow(good('E1032', { badges: 'em4100:77ABCDEF' })),
    /* 34 */ csvRow(good('E1033', { badges: 'em4100:66ABCDEF' })),
    /* 35 */ csvRow(good('E9001', { badges: 'em4100:00345678' })),
  );
  const result = validateEmployeeText(text, context);

  it('reports exactly the bad cells, by file line and column', () => {
    expect(where(result.errors)).toEqual([
      [3, 'employee_number'],
      [4, 'name'],
      [5, 'department'],
      [6, 'sites'],
      [7, 'phone'],
      [8, 'phone'],
      [9, 'email'],
      [10, 'employee_number'],
      [11, 'badges'],
      [12, 'badges'],
      [13, 'badges'],
      [14, 'end_date'],
      [15, 'role'],
      [16, 'sites'],
      [17, 'ble_consent'],
      [18, 'status'],
      [19, 'start_date'],
      [21, 'ble_tag'],
      [22, 'badges'],
      [23, 'phone'],
      [23, 'email'],
      [24, 'employee_number'],
      [25, 'phone'],
      [26, 'badges'],
      [27, 'ble_consent'],
      [28, 'end_date'],
      [29, 'badges'],
      [30, 'badges'],
      [32, 'badges'],
    ]);
  });

  it('says every error in English and Traditional Chinese', () => {
    for (const error of result.errors) {
      expect(error.message.length).toBeGreaterThan(5);
      expect(error.messageZh).toMatch(/[\u4e00-\u9fff]/);
    }
    const at = (row: number, column: string) => result.errors.find((e) => e.row === row && e.column === column)!;
    expect(at(5, 'department').message).toBe('there is no department XX');
    expect(at(6, 'sites').messageZh).toBe('沒有地點「ZZ」');
    expect(at(10, 'employee_number').message).toBe('employee number E1001 is already on row 2');
    expect(at(11, 'badges').message).toBe('badge mifare:04A1B2C3 is also given to employee E1001 on row 2');
    expect(at(12, 'badges').message).toBe('badge mifare:DEADBEEF is assigned to employee E9000; revoke it there first');
    expect(at(13, 'badges').message).toBe('wiegand26 uid must be 3 bytes (facility + card), got 2');
    expect(at(16, 'sites').message).toBe('a store-manager needs at least one site');
    expect(at(17, 'ble_consent').messageZh).toBe('已填寫藍牙同意，但此列沒有藍牙標籤');
    expect(at(21, 'ble_tag').message).toBe('badge ble-tag:C30000123456 is also given to employee E1001 on row 2');
    expect(at(25, 'phone').message).toContain('format the column as Text');
    // The 5-byte and 4-byte forms of the same EM4100 card are the same badge.
    expect(at(26, 'badges').message).toBe('badge em4100:0A1B2C3D is listed twice');
    expect(at(29, 'badges').message).toBe('mifare uid must be 4, 7 or 10 bytes, got 2');
    // A Wiegand-26 reader would record one person's tap for the other: refused, in the file and against the database.
    expect(at(30, 'badges').message).toBe(
      'badge em4100:12345678 and badge wiegand26:345678 of employee E9001 read the same at Wiegand-26 readers: a tap there would be recorded for the wrong person; give one of them to one person only',
    );
    expect(at(32, 'badges').message).toBe(
      'badge em4100:990A1B2C and badge wiegand26:0A1B2C of employee E1030 on row 31 read the same at Wiegand-26 readers: a tap there would be recorded for the wrong person; give one of them to one person only',
    );
    expect(at(32, 'badges').messageZh).toBe('員工卡 em4100:990A1B2C 與第 31 列員工 E1030 的員工卡 wiegand26:0A1B2C 在 Wiegand-26 讀卡器上讀數相同：在該處拍卡會記錄為錯誤的人；兩張卡只可屬於同一人');
  });

  it('keeps the rows that passed, normalised, for a preview', () => {
    // Two EM4100 cards sharing their low 24 bits are two cards (the gateway guesses neither from them);
    // the holder of a wiegand26 badge may hold the EM4100 card it is read from.
    expect(result.rows.map((r) => r.employeeNumber)).toEqual(['E1001', 'E9000', 'E1030', 'E1032', 'E1033', 'E9001']);
    expect(result.rows[0]).toEqual({
      row: 2,
      columns: expect.any(Array),
      employeeNumber: 'E1001',
      name: 'Chan Tai Man',
      nameZh: '陳大文',
      department: 'OPS',
      rank: 'Senior',
      role: 'store-manager',
      phone: '+85291234567',
      email: 'tm@example.com',
      sites: ['TST', 'MK'],
      badges: [{ kind: 'mifare', uid: '04A1B2C3' }],
      bleTag: { kind: 'ble-tag', uid: 'C30000123456' },
      bleConsent: { date: null },
      activeFrom: '2026-01-02',
      activeUntil: null,
      status: 'active',
    });
    // The database's holder of a badge may keep it.
    expect(result.rows[1]!.badges).toEqual([{ kind: 'mifare', uid: 'DEADBEEF' }]);
  });
});

describe('validateEmployeeText: values', () => {
  const one = (cells: Parameters<typeof good>[1]) => validateEmployeeText(file(csvRow(good('E1', cells))), context);

  it('stores Hong Kong numbers and foreign numbers as E.164', () => {
    const phones = ['9123 4567', '2345-6789', '(+852) 5123 4567', '852 6123 4567', '+852 3123 4567', '+86 139 1234 5678', '+1 202 555 0123'];
    expect(phones.map((phone) => one({ phone }).rows[0]?.phone)).toEqual(['+85291234567', '+85223456789', '+85251234567', '+85261234567', '+85231234567', '+8613912345678', '+12025550123']);
    for (const phone of ['41234567', '1234567', '912345678', '13912345678', '+44 12', 'call me']) expect(where(one({ phone }).errors)).toEqual([[2, 'phone']]);
  });

  it('reads sites separated by ; or |, roles and statuses in any case, dates as YYYY/M/D, consent as a date', () => {
    const [row] = one({ sites: 'TST | MK;CWB', role: 'Store Manager', status: 'INACTIVE', start_date: '2026/3/1', end_date: '2026-12-31', ble_tag: 'AA01', ble_consent: '2026-03-01' }).rows;
    expect(row).toMatchObject({ sites: ['TST', 'MK', 'CWB'], role: 'store-manager', status: 'inactive', activeFrom: '2026-03-01', activeUntil: '2026-12-31', bleConsent: { date: '2026-03-01' } });
    expect(one({ ble_consent: 'no' }).rows[0]?.bleConsent).toBeNull();
    expect(one({ role: '' }).rows[0]?.role).toBeNull();
    expect(one({ badges: 'ble-tag:AA02', ble_consent: 'yes' }).errors).toEqual([]);
  });

  it('accepts any department when the caller knows none', () => {
    expect(validateEmployeeText(file(csvRow(good('E1', { department: 'Anything' }))), { ...context, knownDepartments: null }).errors).toEqual([]);
  });
});

describe('validateEmployeeText: the file', () => {
  it('reads quoted fields with commas, quotes and newlines, numbering rows by the line they start on', () => {
    const text = file(csvRow(good('E1', { name: 'Chan, Tai Man', rank: 'Senior\r\nSupervisor "A"' })), '', csvRow(good('E2', { department: 'XX' })));
    const result = validateEmployeeText(text, context);
    expect(result.rows).toMatchObject([{ row: 2, name: 'Chan, Tai Man', rank: 'Senior\r\nSupervisor "A"' }]);
    expect(where(result.errors)).toEqual([[5, 'department']]);
  });

  it('reads Chinese headers and headers spelt with spaces, hyphens and capitals, in any order', () => {
    const zh = ['姓名', '員工編號', '中文姓名', '部門', '職級', '角色', '電話', '電郵', '地點', '員工卡', '藍牙標籤', '藍牙同意', '入職日期', '離職日期', '狀態'].join(',');
    const result = validateEmployeeText(`${zh}\n陳大文,E1,陳大文,OPS,主任,hr,91234567,a@example.com,TST,mifare:04A1B2C3,AA01,是,2026-01-01,,在職\n`, context);
    expect(result.errors).toEqual([]);
    expect(result.rows).toMatchObject([{ employeeNumber: 'E1', name: '陳大文', role: 'hr', badges: [{ kind: 'mifare', uid: '04A1B2C3' }], bleConsent: { date: null }, status: 'active' }]);
    const en = validateEmployeeText('Employee Number,NAME,name-zh,Start Date,ble consent\nE1,A,甲,2026-01-01,\n', context);
    expect(en.errors).toEqual([]);
    expect(en.columns).toEqual(['employee_number', 'name', 'name_zh', 'ble_consent', 'start_date']);
    expect(en.rows[0]).toMatchObject({ nameZh: '甲', activeFrom: '2026-01-01' });
  });

  it('reports header problems on row 1 and checks no rows then', () => {
    const result = validateEmployeeText('employee_number,nmae,email,Email\nE1,A,a@example.com,\n', context);
    expect(result.rows).toEqual([]);
    expect(result.errors.map((e) => [e.row, e.column, e.message])).toEqual([
      [1, 'nmae', expect.stringContaining('unknown column "nmae"')],
      [1, 'email', 'the header names column email twice'],
      [1, 'name', 'the header has no column name'],
    ]);
  });

  it('flags a row with more cells than the header, skips blank and separator-only lines, refuses a file without rows', () => {
    const result = validateEmployeeText('employee_number,name\nE1,Chan, Tai Man\n,,\n\nE2,B\n', context);
    expect(where(result.errors)).toEqual([[2, 'file']]);
    expect(result.rows).toMatchObject([{ employeeNumber: 'E2', row: 5 }]);
    expect(() => validateEmployeeText('employee_number,name\r\n', context)).toThrow(ImportFileError);
    expect(() => validateEmployeeText('employee_number,name\nE1,"unterminated\n', context)).toThrow(/not valid CSV/);
  });

  it('detects the delimiter from the header line only', () => {
    expect(detectDelimiter('a\tb\tc\n1,2,3,4,5\n')).toBe('\t');
    expect(detectDelimiter('\uFEFF"a\tb",c\n')).toBe(',');
    expect(detectDelimiter('\r\na\tb\n')).toBe('\t');
  });

  it('validates a generated 10,000-row file', () => {
    const sites = ['TST', 'MK', 'CWB'];
    const lines = Array.from({ length: 10_000 }, (_, i) =>
      csvRow(
        good(`E${100000 + i}`, {
          name_zh: '員工' + i,
          department: 'RETAIL',
          phone: String(90000000 + i),
          email: `e${i}@example.com`,
          sites: sites[i % 3]!,
          badges: `mifare:${(0x10000000 + i).toString(16).toUpperCase()};wiegand26:${(0x100000 + i).toString(16).toUpperCase()}`,
          start_date: '2026-01-01',
        }),
      ),
    );
    const result = validateEmployeeFile(Buffer.from(file(...lines), 'utf8'), context);
    expect(result.errors).toEqual([]);
    expect(result.rows).toHaveLength(10_000);
    expect(result.rows[9_999]).toMatchObject({ row: 10_001, employeeNumber: 'E109999', phone: '+85290009999' });
    const clash = validateEmployeeText(file(...lines, csvRow(good('E999999', { badges: 'mifare:10000000' }))), context);
    expect(clash.errors.map((e) => [e.row, e.column, e.message])).toEqual([[10_002, 'badges', 'badge mifare:10000000 is also given to employee E100000 on row 2']]);
  });
});
