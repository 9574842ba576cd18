import { readFile } from 'node:fs/promises';
import { decodeBridgeFrame } from '../../firmware-bridge/codecs/bridge-frame.js';
import type { Feedback } from '../../core/feedback.js';
import { requireCommand } from './pty-pair.js';

/*
 * Reads an strace log made with `strace -f -y -xx -s BIG -o FILE` and checks "durable before
 * feedback": for each feedback frame written to the reader, the punch it confirms was written to
 * the database and a sync (fsync/fdatasync) of that file completed after that write and before the
 * feedback write started. See ../shared/TESTING.md ("Ordering check with strace").
 *
 * Order is the order of lines in the log. strace prints a syscall on one line when nothing else
 * happened between its entry and exit; otherwise `NAME(args <unfinished ...>` at entry and
 * `<... NAME resumed>rest) = ret` at exit. The tracee stays stopped at each entry and exit until
 * strace has seen it, so a call that causally depends on another (the feedback write waits for
 * COMMIT, which waits for the sync) always appears after the other's completion line.
 */

/** The syscalls the check needs; pass as `-e trace=...`. */
export const STRACE_SYSCALLS = ['openat', 'write', 'pwrite64', 'writev', 'pwritev', 'sendto', 'sendmsg', 'fsync', 'fdatasync'] as const;

/**
 * strace arguments for a durability trace. `--seccomp-bpf` stops the tracee only at the traced
 * syscalls, not at every one, which keeps node's timing close to an untraced run; it needs a
 * kernel with seccomp filters (Linux >= 3.5, checked working here) and is dropped by
 * PUNCHGATE_STRACE_NO_SECCOMP=1 for a kernel without them.
 */
export function straceArgs(traceFile: string): string[] {
  requireCommand('strace', 'strace');
  return [
    '-f',
    ...(process.env.PUNCHGATE_STRACE_NO_SECCOMP === '1' ? [] : ['--seccomp-bpf']),
    '-y',
    '-xx',
    // Larger than a SQLite page (4096): a row sits at the end of its page.
    '-s',
    '16384',
    '-o',
    traceFile,
    '-e',
    `trace=${STRACE_SYSCALLS.join(',')}`,
  ];
}

export interface TracedCall {
  pid: number;
  name: string;
  /** Line (0-based) where the call entered: its own line, or its `<unfinished ...>` line. */
  start: number;
  /** Line where it returned: its own line, or its `<... resumed>` line. */
  end: number;
  fd: number | undefined;
  /** The fd's path, as `-y` shows it (decoded from `-xx` hex). */
  path: string | undefined;
  /** The bytes of the (first) buffer argument, or of all iovecs for writev/pwritev. */
  data: Buffer | undefined;
  /** strace cut a string argument short (`-s` too small). */
  truncated: boolean;
  /** Return value; undefined when the process died inside the call (`= ?`). */
  ret: number | undefined;
}

const unfinished = /^(\d+)\s+([a-z_0-9]+)\((.*) <unfinished \.\.\.>$/;
const resumed = /^(\d+)\s+<\.\.\. ([a-z_0-9]+) resumed>(.*)$/;
const complete = /^(\d+)\s+([a-z_0-9]+)\((.*)$/;
const returnValue = /\)\s+= (-?\d+|\?)(?:\s.*)?$/;

function decodeEscapes(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (char !== '\\') {
      bytes.push(...Buffer.from(char));
      continue;
    }
    const next = text[i + 1];
    if (next === 'x') {
      bytes.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '\\': 92, '"': 34 };
      bytes.push(simple[next ?? ''] ?? 0);
      i += 1;
    }
  }
  return Buffer.from(bytes);
}

/** Parses the argument text of one call (entry and resumed parts joined). */
function parseArgs(name: string, args: string): Pick<TracedCall, 'fd' | 'path' | 'data' | 'truncated'> {
  const fdMatch = /^(\d+)(?:<((?:\\x[0-9a-f]{2}|[^>])*)>)?/.exec(args);
  const fd = fdMatch ? Number(fdMatch[1]) : undefined;
  const path = fdMatch?.[2] !== undefined ? decodeEscapes(fdMatch[2]).toString('utf8') : undefined;
  const strings = [...args.matchAll(/"((?:\\x[0-9a-f]{2}|\\.|[^"\\])*)"(\.\.\.)?/g)];
  let data: Buffer | undefined;
  if (strings.length > 0) {
    const parts = name === 'writev' || name === 'pwritev' ? strings : strings.slice(0, 1);
    data = Buffer.concat(parts.map((match) => decodeEscapes(match[1] ?? '')));
  }
  return { fd, path, data, truncated: strings.some((match) => match[2] !== undefined) };
}

function parseReturn(tail: string): number | undefined {
  const match = returnValue.exec(tail);
  if (!match || match[1] === '?') return undefined;
  return Number(match[1]);
}

/** Every syscall in an strace -f -o log, in order of completion. */
export function parseStraceLog(text: string): TracedCall[] {
  const calls: TracedCall[] = [];
  const pending = new Map<number, { name: string; args: string; start: number }>();
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    let match = unfinished.exec(line);
    if (match) {
      pending.set(Number(match[1]), { name: match[2] as string, args: match[3] as string, start: index });
      return;
    }
    match = resumed.exec(line);
    if (match) {
      const pid = Number(match[1]);
      const entry = pending.get(pid);
      pending.delete(pid);
      if (!entry || entry.name !== match[2]) throw new Error(`strace log line ${index + 1}: "${line.slice(0, 120)}" resumes a call that never started`);
      const rest = match[3] as string;
      calls.push({ pid, name: entry.name, start: entry.start, end: index, ret: parseReturn(rest), ...parseArgs(entry.name, entry.args + rest) });
      return;
    }
    match = complete.exec(line);
    if (match) {
      const body = match[3] as string;
      calls.push({ pid: Number(match[1]), name: match[2] as string, start: index, end: index, ret: parseReturn(body), ...parseArgs(match[2] as string, body) });
    }
    // Anything else: signals (`--- SIG... ---`), exits (`+++ ... +++`), blank lines.
  });
  return calls;
}

const writeCalls = new Set(['write', 'pwrite64', 'writev', 'pwritev', 'sendto', 'sendmsg']);
const syncCalls = new Set(['fsync', 'fdatasync']);

export interface FeedbackWrite {
  /** The write call that carried the frame's first byte. */
  call: TracedCall;
  seq: number;
  feedback: Feedback;
}

/** The FEEDBACK frames written to `ttyPath`, first transmission of each (retransmissions are byte-identical). */
export function feedbackWrites(calls: readonly TracedCall[], ttyPath: string): FeedbackWrite[] {
  const out: FeedbackWrite[] = [];
  const seen = new Set<string>();
  let frame: number[] = [];
  let frameStart: TracedCall | undefined;
  for (const call of calls) {
    if (!writeCalls.has(call.name) || call.path !== ttyPath || !call.data || call.ret === undefined || call.ret < 0) continue;
    for (const byte of call.data.subarray(0, call.ret)) {
      if (byte !== 0) {
        if (frame.length === 0) frameStart = call;
        frame.push(byte);
        continue;
      }
      if (frame.length > 0 && frameStart) {
        const event = decodeBridgeFrame(Buffer.from(frame));
        const key = Buffer.from(frame).toString('hex');
        if (event.type === 'message' && event.message.type === 'feedback' && !seen.has(key)) {
          seen.add(key);
          out.push({ call: frameStart, seq: event.message.seq, feedback: event.message.feedback });
        }
      }
      frame = [];
      frameStart = undefined;
    }
  }
  return out;
}

export interface AckVerdict {
  feedback: FeedbackWrite;
  /** The first write to the database or its WAL that carried this punch's marker. */
  punchWrite: TracedCall | undefined;
  /** The first successful sync of that file that started after the write and ended before the feedback. */
  sync: TracedCall | undefined;
  /**
   * - `no-marker`: the feedback names no punch (not an accepted tap);
   * - `punch-never-written`: no database write carries its marker (the check is blind to it);
   * - `punch-written-after-feedback`: the person was told before the row was even written;
   * - `no-sync-between-write-and-feedback`: written, but not synced before the feedback.
   */
  problem: 'no-marker' | 'punch-never-written' | 'punch-written-after-feedback' | 'no-sync-between-write-and-feedback' | undefined;
}

export interface DurabilityReport {
  verdicts: AckVerdict[];
  /** Feedback given before its punch was written and synced. */
  violations: AckVerdict[];
  /** Feedback that names no punch, or whose punch is in no database write at all. */
  unmatched: AckVerdict[];
  /** Database writes whose bytes strace cut short: the check would be blind to rows in them. */
  truncatedDbWrites: number;
  dbWrites: number;
  syncs: number;
}

/**
 * Checks every feedback written to `ttyPath`. `markerOf` maps a feedback to bytes that appear in
 * its punch's row and nowhere else (e.g. `"employeeId":"E0001"` from the JSON body), or undefined
 * when the feedback names no punch.
 */
export function checkDurableBeforeFeedback(
  calls: readonly TracedCall[],
  options: { ttyPath: string; dbFiles: readonly string[]; markerOf: (feedback: Feedback) => Buffer | undefined },
): DurabilityReport {
  const dbFiles = new Set(options.dbFiles);
  const dbWrites = calls.filter((call) => writeCalls.has(call.name) && call.path !== undefined && dbFiles.has(call.path) && call.ret !== undefined && call.ret > 0);
  const syncs = calls.filter((call) => syncCalls.has(call.name) && call.path !== undefined && dbFiles.has(call.path) && call.ret === 0);
  const verdicts = feedbackWrites(calls, options.ttyPath).map((feedback): AckVerdict => {
    const marker = options.markerOf(feedback.feedback);
    if (!marker) return { feedback, punchWrite: undefined, sync: undefined, problem: 'no-marker' };
    const punchWrite = dbWrites.find((call) => call.data?.includes(marker));
    if (!punchWrite) return { feedback, punchWrite, sync: undefined, problem: 'punch-never-written' };
    if (punchWrite.end >= feedback.call.start) return { feedback, punchWrite, sync: undefined, problem: 'punch-written-after-feedback' };
    const sync = syncs.find((call) => call.path === punchWrite.path && call.start > punchWrite.end && call.end < feedback.call.start);
    return { feedback, punchWrite, sync, problem: sync ? undefined : 'no-sync-between-write-and-feedback' };
  });
  return {
    verdicts,
    violations: verdicts.filter((verdict) => verdict.problem === 'punch-written-after-feedback' || verdict.problem === 'no-sync-between-write-and-feedback'),
    unmatched: verdicts.filter((verdict) => verdict.problem === 'no-marker' || verdict.problem === 'punch-never-written'),
    truncatedDbWrites: dbWrites.filter((call) => call.truncated).length,
    dbWrites: dbWrites.length,
    syncs: syncs.length,
  };
}

export async function readStraceLog(file: string): Promise<TracedCall[]> {
  return parseStraceLog(await readFile(file, 'utf8'));
}
