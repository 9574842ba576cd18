import { describe, expect, it } from 'vitest';
import { cellOf, cellText } from '../../dashboard/reports/export/cell-text.js';
import { columnWidth, displayWidth } from '../../dashboard/reports/export/column-width.js';
import { pickText } from '../../dashboard/reports/export/export-options.js';
import { guardFormula, looksLikeFormula } from '../../dashboard/reports/export/formula-guard.js';
import { xlsxCell } from '../../dashboard/reports/export/xlsx-cell.js';

describe('formula guard', () => {
  it.each([
    ['=HYPERLINK("http://evil.example","click")', `'=HYPERLINK("http://evil.example","click")`],
    ['+1', "'+1"],
    ['-1+1', "'-1+1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tleading tab', "'\tleading tab"],
    ['\r=1+1', "'\r=1+1"],
  ])('prefixes %j with a single quote', (text, guarded) => {
    expect(looksLikeFormula(text)).toBe(true);
    expect(guardFormula(text)).toBe(guarded);
  });

  it.each(['陳大文', 'a=b', ' =1', '1-2', "'already quoted", ''])('leaves %j as it is', (text) => {
    expect(looksLikeFormula(text)).toBe(false);
    expect(guardFormula(text)).toBe(text);
  });
});

describe('cell text', () => {
  it('renders missing and null cells empty, never "undefined" or "null"', () => {
    expect(cellText(undefined, 'text', 'en')).toBe('');
    expect(cellText(null, 'minutes', 'en')).toBe('');
    expect(cellText(Number.NaN, 'number', 'en')).toBe('');
  });

  it('shows hours with two decimals and other numbers as they are', () => {
    expect(cellText(7.5, 'hours', 'en')).toBe('7.50');
    expect(cellText(-15, 'minutes', 'en')).toBe('-15');
    expect(cellText(1234.5, 'number', 'en')).toBe('1234.5');
  });

  it('says yes and no in the chosen language', () => {
    expect(cellText(true, 'text', 'en')).toBe('Yes');
    expect(cellText(false, 'text', 'zh-HK')).toBe('否');
    expect(cellText(true, 'text', 'both')).toBe('Yes 是');
  });

  it('reads only a row\'s own cells, so a column keyed "constructor" is empty when the row lacks it', () => {
    const column = { key: 'constructor', header: { en: 'C', zh: 'C' }, kind: 'text' as const };
    expect(cellOf({ cells: {} }, column)).toBeUndefined();
    expect(cellOf({ cells: { constructor: 'x' } }, column)).toBe('x');
  });
});

describe('headers and widths', () => {
  it('puts English then Chinese for both, and says a shared label once', () => {
    expect(pickText({ en: 'Employee no.', zh: '員工編號' }, 'both')).toBe('Employee no. 員工編號');
    expect(pickText({ en: 'Employee no.', zh: '員工編號' }, 'zh-HK')).toBe('員工編號');
    expect(pickText({ en: 'HH:MM', zh: 'HH:MM' }, 'both')).toBe('HH:MM');
  });

  it('counts a Chinese character as two columns wide and widens a column to fit its header', () => {
    expect(displayWidth('陳大文')).toBe(6);
    expect(displayWidth('Chan')).toBe(4);
    expect(columnWidth({ key: 'no', header: { en: 'Employee no.', zh: '員工編號' }, kind: 'text', width: 8 }, 'both')).toBe(displayWidth('Employee no. 員工編號') + 2);
    expect(columnWidth({ key: 'no', header: { en: 'No', zh: '號' }, kind: 'text', width: 8 }, 'en')).toBe(8);
  });
});

describe('XLSX cell values', () => {
  it('keeps numbers numeric, negative ones too, with a format by kind', () => {
    expect(xlsxCell(-15, 'minutes', 'en')).toEqual({ value: -15, numFmt: '0' });
    expect(xlsxCell(7.5, 'hours', 'en')).toEqual({ value: 7.5, numFmt: '0.00' });
    expect(xlsxCell(3, 'number', 'en')).toEqual({ value: 3 });
  });

  it('makes real dates and times of day, and keeps a value that is neither as guarded text', () => {
    expect(xlsxCell('2024-03-04', 'date', 'en')).toEqual({ value: new Date(Date.UTC(2024, 2, 4)), numFmt: 'yyyy-mm-dd' });
    expect(xlsxCell('09:05', 'time', 'en')).toEqual({ value: (9 * 60 + 5) / 1440, numFmt: 'hh:mm' });
    expect(xlsxCell('2024-02-30', 'date', 'en')).toEqual({ value: '2024-02-30' });
    expect(xlsxCell('=1+1', 'time', 'en')).toEqual({ value: "'=1+1" });
    expect(xlsxCell('-', 'minutes', 'en')).toEqual({ value: "'-" });
  });

  it('guards text and leaves missing cells empty', () => {
    expect(xlsxCell('=HYPERLINK("x")', 'text', 'en')).toEqual({ value: `'=HYPERLINK("x")` });
    expect(xlsxCell('\r=1+1', 'text', 'en')).toEqual({ value: "'\n=1+1", wrap: true });
    expect(xlsxCell('a\r\nb', 'text', 'en')).toEqual({ value: 'a\nb', wrap: true });
    expect(xlsxCell(undefined, 'text', 'en')).toEqual({ value: null });
    expect(xlsxCell('', 'text', 'en')).toEqual({ value: null });
  });
});
