/**
 * The onboarding bench (part of `npm run bench`, `--only onboarding`; see docs/benchmarks.md,
 * "Onboarding: employee import and HRIS sync"), for issue 7: "A 10,000-row import: validation
 * time, commit time and peak memory; HRIS upsert of 10,000 records."
 *
 * A template-shaped CSV of N rows (each with a site of 50 and a badge) is written once; every
 * phase runs in a child process of its own (onboarding-phase.ts) for its own peak RSS:
 *   - baselines: csv-parse alone on the file (the floor for checking); raw INSERTs of the same
 *     employees, sites and badges in one transaction (the floor for committing);
 *   - the import's check of every row; preview and commit over HTTP on a real dashboard, and the
 *     same file committed again (nothing to write);
 *   - HRIS upserts of N records: all new, every name changed, nothing changed.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../support/cli.js';
import { ms, table } from './stats.js';

export interface OnboardingOptions {
  workDir: string;
  rows: number;
  out: (line?: string) => void;
}

interface PhaseResult {
  phase: string;
  timings: Record<string, number>;
  rssBeforeMiB: number;
  peakRssMiB: number;
}

function runPhase(phase: string, dir: string, file: string): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, 'node_modules/.bin/tsx'), [path.join(repoRoot, 'test/bench/onboarding-phase.ts'), phase, dir, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1);
      if (code !== 0 || !line) reject(new Error(`onboarding phase ${phase} failed (${code}): ${stderr}`));
      else resolve(JSON.parse(line) as PhaseResult);
    });
  });
}

/** The bench file: the template's columns, every row valid. */
function benchCsv(rows: number): string {
  const lines = ['employee_number,name,name_zh,department,rank,role,phone,email,sites,badges,ble_tag,ble_consent,start_date,end_date,status'];
  for (let i = 0; i < rows; i++) {
    const number = `B${String(i).padStart(6, '0')}`;
    const phone = `9${String(1_000_000 + i).padStart(7, '0')}`;
    lines.push(`${number},Person ${i},員工${i},,Staff,,${phone},p${i}@example.hk,shop-${String(i % 50).padStart(3, '0')},mifare:${(0x04000000 + i).toString(16).toUpperCase().padStart(8, "0")},,,2026-01-01,,active`);
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export async function runOnboarding(options: OnboardingOptions): Promise<{ result: object }> {
  const { out } = options;
  const file = path.join(options.workDir, `employees-${options.rows}.csv`);
  await writeFile(file, benchCsv(options.rows));
  const results: PhaseResult[] = [];
  for (const phase of ['csv-parse', 'validate', 'raw-insert', 'import', 'hris']) {
    out(`  onboarding: ${phase} ...`);
    results.push(await runPhase(phase, options.workDir, file));
  }
  out();
  out(`Onboarding: ${options.rows.toLocaleString('en')} employees (each with a site of 50 and a badge), every phase in its own process`);
  const rows: string[][] = [['phase', 'what', 'time (ms)', 'peak RSS before (MiB)', 'peak RSS after (MiB)']];
  for (const result of results) {
    for (const [name, time] of Object.entries(result.timings)) rows.push([result.phase, name, ms(time), result.rssBeforeMiB.toFixed(0), result.peakRssMiB.toFixed(0)]);
  }
  out(table(rows));
  return { result: { rows: options.rows, phases: results } };
}
