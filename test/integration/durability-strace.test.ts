import { readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Feedback } from '../../core/feedback.js';
import { cardReadFromBytes, encodeBridgeFrame } from '../../firmware-bridge/codecs/bridge-frame.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { startCli } from '../support/cli.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';
import { checkDurableBeforeFeedback, parseStraceLog, readStraceLog, straceArgs, type DurabilityReport } from '../support/strace-check.js';
import { waitFor } from '../support/wait.js';

/*
 * "Durable before feedback", checked on the system calls: the built gateway runs under strace; a
 * simulated bridge reader taps distinct cards; afterwards, for every FEEDBACK frame the gateway
 * wrote to the reader's pty, the write that put that punch's row into gateway.sqlite(-wal) must be
 * followed by a completed fsync/fdatasync of that file before the feedback write started.
 * Deterministic, unlike a power cut, and it names the exact feedback that came too early.
 *
 * Must-fail control: synchronous=NORMAL, under which SQLite in WAL mode does not sync at commit,
 * must show violations.
 */

const logger = testLogger();
const TAPS = 80;
const IN_FLIGHT = 4;

const pad = (n: number): string => String(n).padStart(4, '0');
const cardBytes = (n: number): Buffer => Buffer.from([0x04, 0xa1, 0xb2, n >> 8, n & 0xff, 0x5e, 0x80]);
const ACCEPTED_TEXT = /^(?:IN|OUT|OK) \d\d:\d\d P(\d{4})$/;

/** The bytes of the row's JSON body that name its employee: they appear in no other row. */
function markerOf(feedback: Feedback): Buffer | undefined {
  const match = feedback.kind === 'accepted' ? ACCEPTED_TEXT.exec(feedback.text ?? '') : null;
  return match ? Buffer.from(`"employeeId":"E${match[1]}"`) : undefined;
}

let dir: string | undefined;
let pair: PtyPair | undefined;
let deviceLink: SerialLink | undefined;
let device: BridgeDeviceSimulator | undefined;
let stopGateway: (() => void) | undefined;

afterEach(async () => {
  stopGateway?.();
  await device?.stop().catch(() => undefined);
  await deviceLink?.stop().catch(() => undefined);
  await pair?.close().catch(() => undefined);
  // PUNCHGATE_KEEP_TRACE=1 keeps the trace and data dir for a person to read.
  if (dir && process.env.PUNCHGATE_KEEP_TRACE === '1') console.log(`kept ${dir}`);
  else if (dir) await rm(dir, { recursive: true, force: true });
  stopGateway = undefined;
  device = undefined;
  deviceLink = undefined;
  pair = undefined;
  dir = undefined;
});

interface TracedRun {
  feedbacks: Feedback[];
  report: DurabilityReport;
  ms: number;
}

async function tracedRun(synchronous: 'full' | 'normal'): Promise<TracedRun> {
  const started = Date.now();
  dir = await mkdtemp(path.join(tmpdir(), `punchgate-strace-${synchronous}-`));
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir);
  const roster = Array.from({ length: TAPS }, (_, index) => ({
    credential: { kind: 'mifare', uid: cardBytes(index + 1).toString('hex').toUpperCase() },
    employeeId: `E${pad(index + 1)}`,
    name: `P${pad(index + 1)}`,
  }));
  await writeFile(path.join(dir, 'roster.json'), JSON.stringify(roster));
  pair = await PtyPair.create();
  const configFile = path.join(dir, 'gateway.json');
  await writeFile(
    configFile,
    JSON.stringify({
      deviceId: 'gw-strace',
      siteId: 'mk-01',
      dataDir,
      rosterFile: path.join(dir, 'roster.json'),
      readers: [{ id: 'door', path: pair.a, protocol: 'punchgate' }],
      http: { port: 0 },
      punch: { debounceSeconds: 60 },
      storage: { synchronous },
      log: { level: 'info' },
    }),
  );
  const traceFile = path.join(dir, 'trace.txt');
  const strace = startCli(['gateway', '--config', configFile], { command: 'strace', prefixArgs: straceArgs(traceFile) });
  stopGateway = () => strace.kill('SIGKILL');
  const exited = new Promise<number | null>((resolve) => strace.once('exit', (code) => resolve(code)));

  const url = await waitFor('the traced gateway to listen', () => /"url":"(http:\/\/[^"]+)"/.exec(strace.output())?.[1] ?? (strace.exitCode !== null ? `exited` : undefined), 20_000);
  if (url === 'exited') throw new Error(`strace or the gateway exited early:\n${strace.output()}`);

  deviceLink = new SerialLink({ path: pair.b, baudRate: 115200, logger });
  await deviceLink.start();
  device = new BridgeDeviceSimulator({ port: deviceLink });
  const feedbacks: Feedback[] = [];
  device.on('feedback', (feedback) => feedbacks.push(feedback));
  await device.start();
  await waitFor(
    'the reader to be ready',
    async () => {
      const health = (await (await fetch(`${url}/health`)).json()) as { readers: Array<{ state: string; firmware?: string }> };
      return health.readers[0]?.state === 'ready' && health.readers[0].firmware !== undefined;
    },
    10_000,
  );

  // A few taps in flight at once, as at a busy door: commits group, feedback interleaves.
  let tapped = 0;
  const sim = device;
  const pump = (): void => {
    while (tapped < TAPS && tapped - feedbacks.length < IN_FLIGHT) {
      tapped += 1;
      void sim.tap(cardReadFromBytes('mifare', cardBytes(tapped)));
    }
  };
  device.on('feedback', pump);
  pump();
  await waitFor(`feedback for all ${TAPS} taps`, () => feedbacks.length >= TAPS, 20_000);

  // Stop the gateway itself (strace's child) with SIGTERM; strace exits with it.
  const nodePid = Number(readFileSync(`/proc/${strace.pid}/task/${strace.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  expect(nodePid, 'the pid of the traced gateway').toBeGreaterThan(0);
  process.kill(nodePid, 'SIGTERM');
  const code = await exited;
  stopGateway = undefined;
  expect(code, `the traced gateway should stop cleanly:\n${strace.output().slice(-2000)}`).toBe(0);

  const db = path.join(realpathSync(dataDir), 'gateway.sqlite');
  const report = checkDurableBeforeFeedback(await readStraceLog(traceFile), {
    ttyPath: realpathSync(pair.a),
    dbFiles: [db, `${db}-wal`, `${db}-journal`],
    markerOf,
  });
  return { feedbacks, report, ms: Date.now() - started };
}

function summary(synchronous: string, run: TracedRun): string {
  const { report } = run;
  return (
    `strace, synchronous=${synchronous}: ${run.feedbacks.length} feedbacks received, ${report.verdicts.length} feedback frames in the trace, ` +
    `${report.dbWrites} database writes, ${report.syncs} database syncs, ${report.violations.length} violations, ` +
    `${report.unmatched.length} unmatched; ${run.ms} ms`
  );
}

describe('durability: every feedback follows the sync of its punch (strace)', () => {
  it('synchronous=full: each accepted feedback is written after an fsync that covers its punch', async () => {
    const run = await tracedRun('full');
    console.log(summary('full', run));
    const { report } = run;
    expect(run.feedbacks.every((feedback) => feedback.kind === 'accepted')).toBe(true);
    expect(report.truncatedDbWrites, 'strace -s must exceed the page size').toBe(0);
    // Not vacuous: every feedback the reader got is in the trace and tied to its own punch's write.
    expect(report.verdicts).toHaveLength(TAPS);
    expect(report.unmatched.map((verdict) => verdict.feedback.feedback.text)).toEqual([]);
    expect(report.verdicts.every((verdict) => verdict.punchWrite !== undefined && verdict.sync !== undefined)).toBe(true);
    expect(
      report.violations.map((verdict) => `${verdict.feedback.feedback.text}: ${verdict.problem} (punch write on line ${(verdict.punchWrite?.end ?? -1) + 1}, feedback on line ${verdict.feedback.call.start + 1})`),
    ).toEqual([]);
  }, 45_000);

  it('must-fail control, synchronous=normal: feedback comes before any sync of its punch', async () => {
    const run = await tracedRun('normal');
    console.log(summary('normal', run));
    const { report } = run;
    expect(report.verdicts).toHaveLength(TAPS);
    expect(report.unmatched.map((verdict) => verdict.feedback.feedback.text)).toEqual([]);
    expect(report.violations.length, 'without a sync at commit nearly every feedback must violate; if not, this test has stopped testing').toBeGreaterThanOrEqual(Math.ceil(TAPS * 0.9));
  }, 45_000);

  it('the checker follows strace -f split lines: a sync counts only once it has returned', () => {
    // A hand-written log in the exact format strace -f -y -xx -o writes, so the parser is pinned
    // down on the cases a real run produces only by chance.
    const x = (bytes: Buffer | string): string => [...Buffer.from(bytes)].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('');
    const wal = '/data/gateway.sqlite-wal';
    const tty = '/dev/pts/9';
    const page = (employee: string): string => x(Buffer.concat([Buffer.alloc(40), Buffer.from(`{"id":"x","employeeId":"${employee}","at":"y"}`)]));
    const frames = new Map<number, Buffer>();
    /** A feedback frame's write to the reader, whole or (`unfinished`) its entry half. */
    const feedback = (seq: number, name: string, unfinished = false): string => {
      const frame = encodeBridgeFrame({ type: 'feedback', seq, feedback: { kind: 'accepted', text: `IN 09:00 ${name}` } });
      frames.set(seq, frame);
      return `203 write(7<${x(tty)}>, "${x(frame)}", ${frame.length}${unfinished ? ' <unfinished ...>' : `) = ${frame.length}`}`;
    };
    const log = [
      // E0001: written, synced (split by another thread's line), then the feedback: fine.
      `201 pwrite64(5<${x(wal)}>, "${page('E0001')}", 4096, 32) = 4096`,
      `201 fsync(5<${x(wal)}> <unfinished ...>`,
      `202 write(1<${x('pipe:[7]')}>, "${x('log')}", 3) = 3`,
      `201 <... fsync resumed>)               = 0`,
      feedback(1, 'P0001'),
      // E0002: the feedback write starts while the sync is still running: a violation.
      `201 pwrite64(5<${x(wal)}>, "${page('E0002')}", 4096, 4152) = 4096`,
      `201 fsync(5<${x(wal)}> <unfinished ...>`,
      feedback(2, 'P0002', true),
      `201 <... fsync resumed>)               = 0`,
      `203 <... write resumed>)               = ${frames.get(2)?.length}`,
      // E0003: a sync that began before the row was written does not cover it.
      `201 fsync(5<${x(wal)}> <unfinished ...>`,
      `204 pwrite64(5<${x(wal)}>, "${page('E0003')}", 4096, 8272) = 4096`,
      `201 <... fsync resumed>)               = 0`,
      feedback(3, 'P0003'),
      // E0004: a failed sync is no sync.
      `201 pwrite64(5<${x(wal)}>, "${page('E0004')}", 4096, 12392) = 4096`,
      `201 fsync(5<${x(wal)}>)               = -1 EIO (Input/output error)`,
      feedback(4, 'P0004'),
      // E0005: told before the row was even written.
      feedback(5, 'P0005'),
      `201 pwrite64(5<${x(wal)}>, "${page('E0005')}", 4096, 16512) = 4096`,
      `201 fsync(5<${x(wal)}>)               = 0`,
      // A retransmission of seq 1, byte-identical, is not a new feedback.
      feedback(1, 'P0001'),
      `203 +++ exited with 0 +++`,
    ].join('\n');
    const calls = parseStraceLog(log);
    const report = checkDurableBeforeFeedback(calls, { ttyPath: tty, dbFiles: [wal], markerOf });
    expect(report.verdicts.map((verdict) => [verdict.feedback.feedback.text, verdict.problem ?? 'ok'])).toEqual([
      ['IN 09:00 P0001', 'ok'],
      ['IN 09:00 P0002', 'no-sync-between-write-and-feedback'],
      ['IN 09:00 P0003', 'no-sync-between-write-and-feedback'],
      ['IN 09:00 P0004', 'no-sync-between-write-and-feedback'],
      ['IN 09:00 P0005', 'punch-written-after-feedback'],
    ]);
    expect(report.violations).toHaveLength(4);
    expect(report.unmatched).toHaveLength(0);
    const split = calls.find((call) => call.name === 'write' && call.start !== call.end);
    expect(split && [split.start, split.end]).toEqual([7, 9]);
  });
});
