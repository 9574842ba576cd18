import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { writePdf } from '../../dashboard/reports/export/index.js';
import type { ExportLanguage } from '../../dashboard/reports/export/index.js';
import type { ReportRow, ReportTable } from '../../dashboard/reports/report-table.js';
import { BufferSink, HISTOGRAM, SAMPLE_ROWS, requireCommand, sampleTable } from './report-export-fixture.js';

/** The PDFs and page images these tests make are kept here (gitignored) for a person to look at. */
const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts/reports');

async function pdfFile(name: string, table: ReportTable, language: ExportLanguage = 'both'): Promise<string> {
  const out = new BufferSink();
  await writePdf(table, out, { language });
  const file = path.join(ARTIFACTS, `${name}.pdf`);
  writeFileSync(file, out.bytes());
  return file;
}

const run = (command: string, args: string[]): string => execFileSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const pageText = (file: string, page?: number): string => run('pdftotext', [...(page ? ['-f', String(page), '-l', String(page)] : []), '-layout', file, '-']);

interface Word {
  text: string;
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

/** Every word on page 1 with its box in PDF points (pdftotext -bbox), top-left origin. */
function wordsOnPage1(file: string): Word[] {
  const html = run('pdftotext', ['-f', '1', '-l', '1', '-bbox', file, '-']);
  return [...html.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)].map((match) => ({
    xMin: Number(match[1]),
    yMin: Number(match[2]),
    xMax: Number(match[3]),
    yMax: Number(match[4]),
    text: match[5] ?? '',
  }));
}

/** The topmost occurrence of a word: on page 1 the chart sits above the table, so a bucket label is found there first. */
function word(words: Word[], text: string): Word {
  const found = words.filter((candidate) => candidate.text === text).sort((a, b) => a.yMin - b.yMin)[0];
  if (!found) throw new Error(`"${text}" is not on page 1: ${words.map((w) => w.text).join(' ')}`);
  return found;
}

interface Gray {
  width: number;
  height: number;
  pixels: Buffer;
  dpi: number;
}

/** Page 1 as an 8-bit grey image: pdftoppm -gray writes a binary PGM, a short text header and then one byte a pixel. */
function renderGray(file: string, dpi: number): Gray {
  const prefix = file.replace(/\.pdf$/, `-gray${dpi}`);
  run('pdftoppm', ['-r', String(dpi), '-gray', '-f', '1', '-l', '1', '-singlefile', file, prefix]);
  const data = readFileSync(`${prefix}.pgm`);
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(data.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error('pdftoppm did not write a binary PGM');
  const width = Number(header[1]);
  const height = Number(header[2]);
  const pixels = data.subarray(header[0].length);
  expect(pixels.length).toBe(width * height);
  return { width, height, pixels, dpi };
}

/** The grey levels inside a box given in PDF points. */
function crop(image: Gray, box: { xMin: number; yMin: number; xMax: number; yMax: number }): number[] {
  const scale = image.dpi / 72;
  const values: number[] = [];
  for (let y = Math.floor(box.yMin * scale); y < Math.ceil(box.yMax * scale); y += 1) {
    for (let x = Math.floor(box.xMin * scale); x < Math.ceil(box.xMax * scale); x += 1) values.push(image.pixels[y * image.width + x] ?? 255);
  }
  return values;
}

const dark = (values: number[]): number => values.filter((value) => value < 128).length;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 255;

describe('PDF export', () => {
  // In each test, not in a beforeAll: vitest reports the tests of a failed beforeAll as skipped,
  // and a missing poppler must show as failures.
  beforeEach(() => {
    for (const command of ['pdftotext', 'pdftoppm', 'pdffonts', 'pdfinfo']) requireCommand(command, 'poppler-utils');
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  it('is A4 landscape, embeds Noto Sans TC, and its text holds the Chinese names and both languages\' headers', async () => {
    const file = await pdfFile('attendance', sampleTable(SAMPLE_ROWS, { charts: [HISTOGRAM] }));
    expect(run('pdfinfo', [file])).toMatch(/Page size:\s+841\.89 x 595\.28 pts \(A4\)/);
    const fonts = run('pdffonts', [file]);
    expect(fonts).toMatch(/NotoSansTC-Regular\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes/);
    expect(fonts).toMatch(/NotoSansTC-Bold/);
    // Only the embedded fonts: nothing taken from the machine.
    expect(fonts.trim().split('\n').slice(2).every((line) => /\s+yes\s+yes\s+yes\s+\d+\s+\d+$/.test(line))).toBe(true);

    const text = pageText(file);
    for (const expected of ['Daily attendance 每日出勤', '陳大文', '黃嘉欣', 'Employee no. 員工編號', 'Status 狀態', 'Late 遲到', 'Page 1 第1頁', 'Mong Kok, shift starting 09:00']) {
      expect(text).toContain(expected);
    }
    expect(text).not.toMatch(/undefined|null|NaN/);
  });

  it('draws the Chinese names as real glyphs: dark pixels where they are, none when they are blank, and different shapes for different names', async () => {
    const file = await pdfFile('names', sampleTable(SAMPLE_ROWS), 'zh-HK');
    const blankNames = SAMPLE_ROWS.map((row): ReportRow => ({ ...row, cells: { ...row.cells, name: '' } }));
    const blank = await pdfFile('names-blank', sampleTable(blankNames), 'zh-HK');

    // The page image a person would look at (test-artifacts/reports/names-1.png).
    run('pdftoppm', ['-r', '50', '-png', '-f', '1', '-l', '1', file, path.join(ARTIFACTS, 'names')]);
    const png = readFileSync(path.join(ARTIFACTS, 'names-1.png'));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([585, 414]);

    const words = wordsOnPage1(file);
    const chan = word(words, '陳大文');
    const wong = word(words, '黃嘉欣');
    const withNames = renderGray(file, 100);
    const withoutNames = renderGray(blank, 100);
    for (const name of [chan, wong]) {
      expect(dark(crop(withNames, name))).toBeGreaterThan(30);
      expect(dark(crop(withoutNames, name))).toBe(0);
    }
    // A missing glyph draws the same empty box for every character: two different names must differ.
    const chanPixels = crop(withNames, chan);
    const wongPixels = crop(withNames, { ...chan, yMin: wong.yMin, yMax: wong.yMin + (chan.yMax - chan.yMin) });
    const differing = chanPixels.filter((value, index) => Math.abs(value - (wongPixels[index] ?? 255)) > 96).length;
    expect(differing).toBeGreaterThan(30);
  });

  it('draws the arrival chart: dark bars from the shift start, light ones before it, none for an empty bucket, the start marked', async () => {
    const file = await pdfFile('chart', sampleTable([], { charts: [HISTOGRAM] }), 'en');
    run('pdftoppm', ['-r', '50', '-png', '-f', '1', '-l', '1', file, path.join(ARTIFACTS, 'chart')]);
    const words = wordsOnPage1(file);
    expect(words.map((w) => w.text).join(' ')).toContain('Shift start');
    const image = renderGray(file, 100);
    /** A patch inside the bar above a bucket label: just above the time axis, narrower than the bar. */
    const barPatch = (label: string): number[] => {
      const box = word(words, label);
      const center = (box.xMin + box.xMax) / 2;
      return crop(image, { xMin: center - 3, xMax: center + 3, yMin: box.yMin - 12, yMax: box.yMin - 6 });
    };
    expect(median(barPatch('09:05'))).toBeLessThan(100); // count 9, late: dark
    expect(median(barPatch('08:35'))).toBeGreaterThan(150); // count 5, early: light grey...
    expect(median(barPatch('08:35'))).toBeLessThan(230); // ...but a bar, not paper
    expect(Math.min(...barPatch('09:25'))).toBeGreaterThan(240); // count 0: nothing drawn
    // Every bucket is labelled with its start time, and every count that is not zero is written.
    const text = pageText(file);
    for (const bucket of HISTOGRAM.buckets) expect(text).toContain(bucket.label);
    expect(text).toMatch(/\b18\b/);
  });

  it('repeats the header and numbers every page, and marks emphasised rows with ! and !! besides the shading', async () => {
    const rows: ReportRow[] = Array.from({ length: 120 }, (_, index) => ({
      cells: { no: `E${String(index).padStart(3, '0')}`, name: index % 2 ? '陳大文' : '黃嘉欣', late: index % 10, status: index % 10 === 3 ? 'Late 遲到' : 'OK' },
      emphasis: index % 10 === 3 ? 'exception' : index % 10 === 7 ? 'warning' : 'normal',
    }));
    const file = await pdfFile('pages', sampleTable(rows));
    const pages = Number(/Pages:\s+(\d+)/.exec(run('pdfinfo', [file]))?.[1]);
    expect(pages).toBeGreaterThanOrEqual(3);
    for (let page = 1; page <= pages; page += 1) {
      const text = pageText(file, page);
      expect(text).toContain('Employee no. 員工編號');
      expect(text).toContain(`Page ${page} 第${page}頁`);
    }
    expect(pageText(file, pages)).toContain('E119');
    const lines = pageText(file).split('\n');
    const lineOf = (no: string): string => lines.find((line) => line.includes(` ${no} `) || line.trimStart().startsWith(no)) ?? '';
    expect(lineOf('E003').trimStart()).toMatch(/^!!\s+E003/);
    expect(lineOf('E007').trimStart()).toMatch(/^!\s+E007/);
    expect(lineOf('E001').trimStart()).toMatch(/^E001/);
  });

  it('renders a missing cell empty and writes headers in the one language asked for', async () => {
    const file = await pdfFile('missing', sampleTable([{ cells: { no: 'E009' } }]), 'zh-HK');
    const text = pageText(file);
    expect(text).toContain('員工編號');
    expect(text).toContain('第1頁');
    expect(text).not.toContain('Employee no.');
    expect(text).toContain('E009');
    expect(text).not.toMatch(/undefined|null|NaN/);
  });
});
