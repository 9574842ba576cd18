import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ApiError, CONNECTION_OPTIONS, CONNECTION_USAGE, connectionOf, describeRefusal, request } from './api-client.js';
import type { ProvisionIo } from './run-provision.js';

export const employeesUsage = `usage: punchgate provision employees import FILE [--dry-run] [--mode upsert|full] [--json] [--url URL] [--token TOKEN]

Imports employees and badges from a CSV (UTF-8, or UTF-16 "Unicode text" from Excel) or an .xlsx
workbook in the template's columns (download it from the console, Employees > Import). Every row
is checked first; with any error nothing is written and each error is printed with its row.
  --dry-run      only show what would be created, updated, deactivated and left unchanged
  --mode full    also deactivate every active employee the file does not list (default: upsert)
  --json         print the dashboard's answer as JSON (for scripts)
${CONNECTION_USAGE}
Exit codes: 0 imported (or a clean dry run), 1 refused (errors in the file, or the dashboard said no), 2 usage.`;

interface Change {
  field: string;
  before: unknown;
  after: unknown;
}
interface Planned {
  employeeNumber: string;
  row: number | null;
  outcome: 'create' | 'update' | 'deactivate' | 'unchanged';
  changes: Change[];
}
interface RowError {
  row: number;
  column: string;
  message: string;
  messageZh: string;
}
interface Answer {
  file?: { encoding: string; rows: number };
  counts?: Record<Planned['outcome'], number>;
  employees?: Planned[];
  errors?: RowError[];
  accounts?: Array<{ employeeNumber: string; username: string; oneTimePassword: string }>;
  error?: string;
  errorZh?: string;
  status?: number;
}

const BAR_WIDTH = 30;

/** `[#########.....]  check  2,500 / 10,000` on one line, redrawn in place. */
function progressLine(phase: string, done: number, total: number): string {
  const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${phase.padEnd(6)} ${done.toLocaleString('en')} / ${total.toLocaleString('en')}`;
}

const show = (value: unknown): string => (value === null ? '(none)' : Array.isArray(value) ? (value.length === 0 ? '(none)' : value.join(', ')) : String(value));

function printSummary(answer: Answer, dryRun: boolean, io: ProvisionIo): void {
  const counts = answer.counts ?? { create: 0, update: 0, deactivate: 0, unchanged: 0 };
  io.stdout(`${dryRun ? 'Would change (dry run, nothing written)' : 'Imported'}: ${counts.create} created, ${counts.update} updated, ${counts.deactivate} deactivated, ${counts.unchanged} unchanged`);
  for (const planned of answer.employees ?? []) {
    if (planned.outcome === 'unchanged') continue;
    io.stdout(`  ${planned.outcome.padEnd(10)} ${planned.employeeNumber}${planned.row === null ? ' (not in the file)' : ` (row ${planned.row})`}`);
    for (const change of planned.changes) io.stdout(`      ${change.field}: ${show(change.before)} -> ${show(change.after)}`);
  }
  if (answer.accounts && answer.accounts.length > 0) {
    io.stdout('Console accounts made (one-time passwords, shown only this once; each must be changed at first sign-in):');
    for (const account of answer.accounts) io.stdout(`  ${account.username} (employee ${account.employeeNumber}): ${account.oneTimePassword}`);
  }
}

function printErrors(errors: RowError[], io: ProvisionIo): void {
  io.stderr(`The file has ${errors.length} error(s); nothing was written. 檔案有 ${errors.length} 個錯誤，沒有寫入任何資料。`);
  for (const error of errors) io.stderr(`  row ${error.row}, ${error.column}: ${error.message}\n      ${error.messageZh}`);
}

/** Reads the NDJSON answer: progress lines redraw the bar; the last line is the result or the refusal. */
async function readStream(response: Response, io: ProvisionIo): Promise<Answer> {
  if (!response.body) throw new ApiError('the dashboard answered without a body', response.status, undefined);
  const decoder = new TextDecoder();
  let buffered = '';
  let last: Answer | undefined;
  let drew = false;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line === '') continue;
      const message = JSON.parse(line) as { progress?: { phase: string; done: number; total: number }; result?: Answer } & Answer;
      if (message.progress) {
        io.progress?.(progressLine(message.progress.phase, message.progress.done, message.progress.total));
        drew = true;
      } else {
        last = message.result ?? message;
      }
    }
  }
  if (drew) io.progress?.('\n');
  if (!last) throw new ApiError('the dashboard closed the answer before the result: nothing is known to be written; run the import again (it is safe: the same file twice changes nothing)', response.status, undefined);
  return last;
}

/** `punchgate provision employees import FILE`. */
export async function runProvisionEmployees(argv: string[], io: ProvisionIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...CONNECTION_OPTIONS, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, mode: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${employeesUsage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(employeesUsage);
    return 0;
  }
  const [verb, file, ...extra] = positionals;
  if (verb !== 'import' || file === undefined || extra.length > 0) {
    io.stderr(`${verb !== 'import' ? `unknown "${verb ?? ''}": the command is "import FILE"` : file === undefined ? 'the FILE to import is missing' : `one FILE at a time (also got ${extra.join(' ')})`}\n${employeesUsage}`);
    return 2;
  }
  const mode = values.mode ?? 'upsert';
  if (mode !== 'upsert' && mode !== 'full') {
    io.stderr(`--mode must be upsert or full, not "${mode}"`);
    return 2;
  }
  const connection = connectionOf(values, io.env);
  if (typeof connection === 'string') {
    io.stderr(`punchgate provision employees: ${connection}`);
    return 2;
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    io.stderr(`punchgate provision employees: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return 1;
  }
  const dryRun = values['dry-run'] === true;
  const query = new URLSearchParams({ mode, filename: path.basename(file).slice(0, 200) });
  try {
    const response = await request(connection, 'POST', `/employee-imports${dryRun ? '/preview' : ''}?${query}`, {
      body: bytes,
      headers: { 'content-type': /\.xlsx$/i.test(file) ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv', accept: 'application/x-ndjson' },
    });
    let answer: Answer;
    if (response.ok && (response.headers.get('content-type') ?? '').includes('ndjson')) {
      answer = await readStream(response, io);
    } else {
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: shown as the status only.
      }
      const refusal = body as Answer;
      if (refusal && typeof refusal === 'object' && refusal.errorZh) throw new ApiError(`${refusal.error}\n${refusal.errorZh}`, response.status, body);
      throw new ApiError(describeRefusal(response.status, body), response.status, body);
    }
    if (values.json) {
      io.stdout(JSON.stringify(answer, null, 2));
      return answer.status !== undefined || (answer.errors?.length ?? 0) > 0 ? 1 : 0;
    }
    if (answer.status !== undefined) {
      if (answer.errors && answer.errors.length > 0) printErrors(answer.errors, io);
      else io.stderr(`punchgate provision employees: ${answer.error ?? `the dashboard refused (HTTP ${answer.status})`}`);
      return 1;
    }
    if (answer.errors && answer.errors.length > 0) {
      printSummary(answer, true, io);
      printErrors(answer.errors, io);
      return 1;
    }
    printSummary(answer, dryRun, io);
    return 0;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (values.json && error.body !== undefined) io.stdout(JSON.stringify(error.body, null, 2));
    io.stderr(`punchgate provision employees: ${error.message}`);
    return 1;
  }
}
