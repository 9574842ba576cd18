import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PerformanceObserver, monitorEventLoopDelay, performance, type PerformanceEntry } from 'node:perf_hooks';
import { pino } from 'pino';
import type { Feedback } from '../../core/feedback.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import type { Database } from '../../platform/sqlite.js';
import { PtyPair } from '../support/pty-pair.js';
import { cpuSnapshot, cpuUse, type CpuSnapshot, type CpuUse } from './cpu-load.js';
import { childPids, schedDelta, schedOf, type Sched, type SchedPerOp } from './sched.js';
import { launchGateway, waitForHealth, type GatewayMode } from './gateway-process.js';
import { mifareCards, writeGatewaySetup } from './setup.js';
import { summarize, type Summary } from './stats.js';

export interface TapLatencyResult {
  mode: GatewayMode;
  taps: number;
  warmup: number;
  gapMs: number;
  /** The figure the goal is about: card frame drained to the simulator's pty -> feedback frame read back. */
  fromDrained: Summary;
  /** From the simulator's tap() call (just before its write) -> feedback read back. */
  fromWriteCall: Summary;
  /** tap() call -> write drained, on the simulator side. */
  writeToDrained: Summary;
  /** In-process runs only: where the time goes between the drained write and the feedback. */
  breakdown?: {
    serialIn: Summary;
    desk: Summary;
    feedbackOut: Summary;
    /** The desk's SQLite calls, each from the call to its callback (thread pool round trips included). */
    statements: Record<string, Summary>;
    /** desk minus the statements: JS between them and waiting for the event loop. */
    deskBetween: Summary;
    /** The gateway's (= this process's) event loop delay over the run. */
    eventLoopDelay: Summary;
  };
  /** In-process runs: per tap, in ms. */
  perTap?: Array<{ total: number; serialIn: number; desk: number; feedbackOut: number; statements: Record<string, number> }>;
  feedbackKinds: Record<string, number>;
  /** Feedback that arrived before the simulator's write had even drained (should be 0). */
  feedbackBeforeDrain: number;
  elapsedS: number;
  /** CPU use over the timed taps: this bench's processes, and everything else on the machine. */
  cpu: CpuUse;
  /** Per tap, from the scheduler: CPU time, run-queue wait and times scheduled, per process. */
  sched: { gateway?: SchedPerOp; socat?: SchedPerOp; harness?: SchedPerOp };
  /** Garbage-collector pauses during the timed taps. */
  gc: {
    /** The child gateway's (child mode only), and how many taps a pause fell into. */
    gateway?: GcStats & { tapsOverlapped: number };
    /** This process's: the simulator's (in-process mode: the gateway's too). */
    harness: GcStats & { tapsOverlapped: number };
  };
  /** The headline latency without the taps that a GC pause (gateway's or simulator's) fell into: how much of the tail GC explains. */
  fromDrainedWithoutGc: Summary;
  samples: { fromDrained: number[] };
}

export interface GcStats {
  count: number;
  totalMs: number;
  maxMs: number;
}

function gcStats(pauses: readonly number[]): GcStats {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return { count: pauses.length, totalMs: round(pauses.reduce((sum, value) => sum + value, 0)), maxMs: round(pauses.reduce((max, value) => Math.max(max, value), 0)) };
}

/** GC pauses the child gateway recorded (gc-probe.mjs): [epoch start ms, duration ms]. */
async function probedPauses(file: string): Promise<Array<[number, number]>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [start = 'NaN', duration = 'NaN'] = line.split(' ');
      return [Number(start), Number(duration)] as [number, number];
    });
}

const silent = pino({ level: 'silent' });

function statementName(sql: string): string {
  const text = sql.trim();
  if (text.startsWith('SELECT count(*) AS n FROM punches')) return 'SELECT per-day count';
  if (text.startsWith('INSERT INTO punches')) return 'INSERT punch';
  if (text.startsWith('BEGIN')) return 'BEGIN IMMEDIATE';
  if (text.startsWith('COMMIT')) return 'COMMIT';
  return 'other';
}

/**
 * Times every call on the gateway's database connection (call -> callback), by replacing the
 * methods on that one instance. Harness-only instrumentation: the gateway code is unchanged.
 */
function instrument(db: Database, record: (name: string, ms: number) => void): void {
  const target = db as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const method of ['run', 'get', 'all', 'exec']) {
    const original = target[method]?.bind(db);
    if (!original) continue;
    target[method] = async (...args: unknown[]) => {
      const start = performance.now();
      try {
        return await original(...args);
      } finally {
        record(statementName(String(args[0])), performance.now() - start);
      }
    };
  }
}

/**
 * One gateway with one punchgate-protocol reader on a socat pty pair; a BridgeDeviceSimulator on
 * the other end taps `taps` distinct rostered cards one at a time, each after the previous tap's
 * feedback came back.
 */
export async function measureTapLatency(options: {
  workDir: string;
  dataDir: string;
  mode: GatewayMode;
  taps: number;
  warmup: number;
  gapMs: number;
  /** Called after every `every` timed taps (and before the first): to interleave the baseline, so both see the same machine. */
  interleave?: { every: number; run: () => Promise<void> };
  /** Extra node flags for a child gateway (profiling). */
  nodeArgs?: string[];
  logLevel?: 'info' | 'warn';
}): Promise<TapLatencyResult> {
  const { taps, warmup, mode } = options;
  const ptyDir = path.join(options.workDir, `pty-tap-${mode}`);
  await mkdir(ptyDir, { recursive: true });
  const pair = await PtyPair.create(ptyDir);
  const cards = mifareCards(warmup + taps, mode === 'child' ? 0xa0000000 : 0xa1000000);
  const { gcFile, gateway } = await (async () => {
    const setup = await writeGatewaySetup({
      dir: path.join(options.workDir, `gateway-tap-${mode}`),
      dataDir: options.dataDir,
      cards,
      readers: [{ id: 'door', path: pair.a, protocol: 'punchgate' }],
      // Distinct cards, so the production default window never turns a tap into a duplicate.
      debounceSeconds: 60,
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    });
    const gcFile = mode === 'child' ? path.join(setup.dir, 'gateway-gc.txt') : undefined;
    const gateway = await launchGateway({
      mode,
      configFile: setup.configFile,
      url: setup.url,
      logFile: setup.logFile,
      ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
      ...(gcFile ? { gcFile } : {}),
    });
    return { gcFile, gateway };
  })().catch(async (error: unknown) => {
    await pair.close();
    throw error;
  });
  const link = new SerialLink({ path: pair.b, baudRate: 115200, logger: silent });
  const sim = new BridgeDeviceSimulator({ port: link });
  try {
    await link.start();
    await sim.start();
    await waitForHealth(gateway.url, (health) => health.readers[0]?.state === 'ready' && health.readers[0]?.firmware !== undefined);

    const fromDrained: number[] = [];
    const fromWriteCall: number[] = [];
    const writeToDrained: number[] = [];
    const serialIn: number[] = [];
    const desk: number[] = [];
    const feedbackOut: number[] = [];
    const feedbackKinds: Record<string, number> = {};
    let feedbackBeforeDrain = 0;

    // Gateway-side marks, only when the gateway shares this process (same performance clock).
    let cardAt = Number.NaN;
    let outcomeAt = Number.NaN;
    let statements: Record<string, number> = {};
    const statementSamples: Record<string, number[]> = {};
    const deskBetween: number[] = [];
    const perTap: NonNullable<TapLatencyResult['perTap']> = [];
    const inProcess = gateway.inProcess;
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    if (inProcess) {
      inProcess.readers[0]?.on('card', () => (cardAt = performance.now()));
      inProcess.desk.on('outcome', () => (outcomeAt = performance.now()));
      instrument(inProcess.store.db, (name, elapsed) => (statements[name] = (statements[name] ?? 0) + elapsed));
    }

    let waiting: ((value: { feedback: Feedback; at: number }) => void) | undefined;
    sim.on('feedback', (feedback) => {
      const at = performance.now();
      const resolve = waiting;
      waiting = undefined;
      resolve?.({ feedback, at });
    });

    // Scheduler figures, summed over the stretches of taps only (not the interleaved baseline blocks).
    const pids = {
      gateway: gateway.pid,
      socat: childPids(process.pid, ptyDir)[0],
      harness: process.pid,
    };
    type Who = keyof typeof pids;
    const whos = Object.keys(pids) as Who[];
    const zero = (): Sched => ({ cpuNs: 0, waitNs: 0, slices: 0 });
    const tapSched: Record<Who, Sched> = { gateway: zero(), socat: zero(), harness: zero() };
    let segment: Partial<Record<Who, Sched>> | undefined;
    const snap = (): Partial<Record<Who, Sched>> => Object.fromEntries(whos.map((who) => [who, pids[who] === undefined ? undefined : schedOf(pids[who] as number)]));
    const add = (into: Sched, from: Sched | undefined, to: Sched | undefined): void => {
      if (!from || !to) return;
      into.cpuNs += to.cpuNs - from.cpuNs;
      into.waitNs += to.waitNs - from.waitNs;
      into.slices += to.slices - from.slices;
    };
    const closeSegment = (): void => {
      if (!segment) return;
      const now = snap();
      for (const who of whos) add(tapSched[who], segment[who], now[who]);
      segment = undefined;
    };

    const harnessGc: PerformanceEntry[] = [];
    const gcObserver = new PerformanceObserver((list) => harnessGc.push(...list.getEntries()));
    gcObserver.observe({ entryTypes: ['gc'] });
    const tapSpans: Array<[number, number]> = [];
    let timedFrom = Number.NaN;

    const started = performance.now();
    let cpuAtStart: CpuSnapshot = cpuSnapshot();
    for (const [index, card] of cards.entries()) {
      const timed = index - warmup;
      if (options.interleave && timed >= 0 && timed % options.interleave.every === 0) {
        closeSegment();
        await options.interleave.run();
      }
      if (timed >= 0 && !segment) segment = snap();
      if (index === warmup) {
        timedFrom = performance.now();
        cpuAtStart = cpuSnapshot();
        if (inProcess) loopDelay.enable();
      }
      const feedbackArrives = new Promise<{ feedback: Feedback; at: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no feedback for tap ${index + 1} (${card.kind}:${card.uid}) within 5 s`)), 5000);
        waiting = (value) => {
          clearTimeout(timer);
          resolve(value);
        };
      });
      cardAt = Number.NaN;
      outcomeAt = Number.NaN;
      statements = {};
      const calledAt = performance.now();
      await sim.tap(card);
      const drainedAt = performance.now();
      const { feedback, at } = await feedbackArrives;
      if (index < warmup) continue;
      feedbackKinds[feedback.kind] = (feedbackKinds[feedback.kind] ?? 0) + 1;
      if (at < drainedAt) feedbackBeforeDrain += 1;
      fromDrained.push(at - drainedAt);
      fromWriteCall.push(at - calledAt);
      writeToDrained.push(drainedAt - calledAt);
      tapSpans.push([calledAt, at]);
      if (inProcess) {
        serialIn.push(cardAt - drainedAt);
        desk.push(outcomeAt - cardAt);
        feedbackOut.push(at - outcomeAt);
        let inStatements = 0;
        for (const [name, elapsed] of Object.entries(statements)) {
          (statementSamples[name] ??= []).push(elapsed);
          inStatements += elapsed;
        }
        deskBetween.push(outcomeAt - cardAt - inStatements);
        perTap.push({ total: at - drainedAt, serialIn: cardAt - drainedAt, desk: outcomeAt - cardAt, feedbackOut: at - outcomeAt, statements });
      }
      if (options.gapMs > 0) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
    }
    const elapsedS = (performance.now() - started) / 1000;
    closeSegment();
    const timedTo = performance.now();
    const cpu = cpuUse(cpuAtStart, cpuSnapshot());
    gcObserver.disconnect();
    // Pauses as [start, duration] on this process's performance clock; the child's come in epoch ms.
    const within = (pauses: Array<[number, number]>): Array<[number, number]> => pauses.filter(([start]) => start >= timedFrom && start <= timedTo);
    const harnessPauses = within(harnessGc.map((entry) => [entry.startTime, entry.duration]));
    // The probe's lines are appended when the observer's callback runs: give the last ones a moment.
    if (gcFile) await new Promise((resolve) => setTimeout(resolve, 100));
    const gatewayPauses = gcFile ? within((await probedPauses(gcFile)).map(([start, duration]) => [start - performance.timeOrigin, duration])) : [];
    const overlapping = (pauses: Array<[number, number]>): Set<number> => {
      const hit = new Set<number>();
      tapSpans.forEach(([from, to], index) => {
        if (pauses.some(([start, duration]) => start < to && start + duration > from)) hit.add(index);
      });
      return hit;
    };
    const harnessHit = overlapping(harnessPauses);
    const gatewayHit = overlapping(gatewayPauses);
    loopDelay.disable();
    const ns = (value: number): number => value / 1e6;
    const eventLoopDelay: Summary = {
      n: loopDelay.count,
      mean: ns(loopDelay.mean),
      min: ns(loopDelay.min),
      p50: ns(loopDelay.percentile(50)),
      p95: ns(loopDelay.percentile(95)),
      p99: ns(loopDelay.percentile(99)),
      max: ns(loopDelay.max),
    };

    return {
      mode,
      taps,
      warmup,
      gapMs: options.gapMs,
      fromDrained: summarize(fromDrained),
      fromWriteCall: summarize(fromWriteCall),
      writeToDrained: summarize(writeToDrained),
      ...(inProcess
        ? {
            breakdown: {
              serialIn: summarize(serialIn),
              desk: summarize(desk),
              feedbackOut: summarize(feedbackOut),
              statements: Object.fromEntries(Object.entries(statementSamples).map(([name, samples]) => [name, summarize(samples)])),
              deskBetween: summarize(deskBetween),
              eventLoopDelay,
            },
            perTap,
          }
        : {}),
      feedbackKinds,
      feedbackBeforeDrain,
      elapsedS,
      cpu,
      sched: Object.fromEntries(
        whos.filter((who) => pids[who] !== undefined && tapSched[who].slices > 0).map((who) => [who, schedDelta(zero(), tapSched[who], taps)]),
      ) as TapLatencyResult['sched'],
      gc: {
        ...(gcFile ? { gateway: { ...gcStats(gatewayPauses.map(([, duration]) => duration)), tapsOverlapped: gatewayHit.size } } : {}),
        harness: { ...gcStats(harnessPauses.map(([, duration]) => duration)), tapsOverlapped: harnessHit.size },
      },
      fromDrainedWithoutGc: summarize(fromDrained.filter((_, index) => !harnessHit.has(index) && !gatewayHit.has(index))),
      samples: { fromDrained: fromDrained.map((value) => Math.round(value * 1000) / 1000) },
    };
  } finally {
    await sim.stop();
    await link.stop();
    await gateway.stop();
    await pair.close();
  }
}
