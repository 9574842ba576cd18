/**
 * `npm run bench`: the punch path, measured. Prints a report and writes its figures to
 * test-artifacts/bench/. Options (after `npm run bench --`):
 *   --dir DIR            where the data dirs go (default: os.tmpdir(); env PUNCHGATE_BENCH_DIR).
 *                        Point it at the disk you care about, e.g. the SD card of a Pi.
 *   --taps N             timed taps (default 2000), after --warmup N untimed ones (default 100)
 *   --gap-ms MS          pause between taps (default 0: the next tap right after the feedback)
 *   --gateway MODE       child (default: `punchgate gateway` in its own process) or in-process
 *   --skip-breakdown     skip the second tap run, against a gateway in this process, that splits
 *                        the latency into serial in / desk (each SQLite call) / feedback out
 *   --burst-readers N    readers in the burst (default 10), --burst-cards N cards each (default 100)
 *   --fsync N            write+fdatasync samples (default 1000)
 *   --profile DIR        run the tap gateway (child) under node --cpu-prof, profiles into DIR
 *   --log-level LEVEL    the tap gateways' log level: info (default, the production default: a
 *                        line per tap) or warn
 *   --keep               keep the data dirs and logs
 *   --only PART          punch-path, store-and-forward, presence, console, attendance-report or
 *                        onboarding (default: all six, in that order)
 * Store-and-forward (test/bench/store-and-forward.ts):
 *   --sf-punches N       backlog drained through Mosquitto (default 100000)
 *   --sf-max-punches N, --sf-in-flight N, --sf-max-bytes N   the other batch setting
 *                        (default 500, 4, 262144: the gateway's old default); the first setting is the gateway's
 *   --sf-naive N         messages the naive mqtt.js peer queues offline (default 10000)
 *   --sf-gateways N, --sf-per-gateway N   the fleet (default 50 x 2000)
 *   --sf-memory-backlog N   backlog for the RSS sampling (default 1000000; 0 skips it)
 *   --sf-memory-seconds S   stop that drain after S seconds (default 0: drain it all, about
 *                        40 s here; more on a slow machine)
 *   --sf-profile DIR     run part 1's gateways under node --cpu-prof, profiles into DIR
 * Presence (test/bench/presence.ts):
 *   --presence-rate N    adverts/s on air (default 2000)
 *   --presence-stream-s S   seconds of air in the throughput stream (default 20)
 *   --presence-rounds N, --presence-round-ms MS   throughput rounds (default 7 of ~300 ms per variant)
 *   --presence-roster N  tags in the roster (default 50)
 *   --presence-window-s S   the gateway's measured window at the rate (default 20; 0 skips it)
 *   --presence-seed N    the stream's seed (default 20261123)
 * Console (test/bench/console.ts):
 *   --console-punches N  punches in the central database searched (default 1000000)
 *   --console-samples N  parameter sets per query type (default 50; about 2.5 s per type at most)
 *   --console-probe-samples N   parameter sets of the rare-method probe (default 1; 0 skips it)
 *   --console-live-s S   measured seconds of the live feed with one SSE client (default 30)
 *   --console-live3-s S  the same with --console-clients clients (default 10; 0 skips it)
 *   --console-busy-s S   one client again, while a console user pages deep in the list (default 8; 0 skips it)
 *   --console-rate N     punches/s in all (default 200), --console-gateways N (default 5),
 *   --console-clients N  SSE clients of the second live phase (default 3)
 * Attendance report (test/bench/attendance-report.ts; runs its phases on dist/):
 *   --report-employees N people (default 5000), --report-days N days from the 1st of the month (default 31)
 *   --report-month YYYY-MM  the month (default: the last complete month with 31 days)
 *   --report-small N     people in the second, smaller daily XLSX run (peak RSS against rows; default 1000, 0 skips it)
 *   --report-profile DIR run every phase's process under node --cpu-prof, profiles into DIR
 * Onboarding (test/bench/onboarding.ts):
 *   --onboarding-rows N  employees in the import file and the HRIS payload (default 10000)
 * Timings are a report, never a test: a missed goal prints MISS and still exits 0. A burst that
 * loses a punch is a correctness failure and exits 1.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { repoRoot } from '../support/cli.js';
import { measureBurst, type BurstResult } from './burst.js';
import { RawInsertBaseline, fsyncLatencies } from './disk.js';
import type { GatewayMode } from './gateway-process.js';
import { machineInfo } from './machine.js';
import { schedDelta, schedOf, type Sched } from './sched.js';
import { ms, summarize, summaryHeader, summaryRow, table } from './stats.js';
import { defaultReportMonth, runAttendanceReport } from './attendance-report.js';
import { runConsole } from './console.js';
import { runOnboarding } from './onboarding.js';
import { runPresence } from './presence.js';
import { runStoreAndForward } from './store-and-forward.js';
import { measureTapLatency, type TapLatencyResult } from './tap-latency.js';

/** The issue's goal: tap p99 at most this far above the raw insert's p99. */
const GOAL_MS = 5;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a whole number, got "${text}"`);
  return Number(text);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      dir: { type: 'string' },
      taps: { type: 'string' },
      warmup: { type: 'string' },
      'gap-ms': { type: 'string' },
      gateway: { type: 'string', default: 'child' },
      'skip-breakdown': { type: 'boolean', default: false },
      'burst-readers': { type: 'string' },
      'burst-cards': { type: 'string' },
      fsync: { type: 'string' },
      keep: { type: 'boolean', default: false },
      profile: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      only: { type: 'string' },
      'onboarding-rows': { type: 'string' },
      'sf-punches': { type: 'string' },
      'sf-max-punches': { type: 'string' },
      'sf-in-flight': { type: 'string' },
      'sf-max-bytes': { type: 'string' },
      'sf-naive': { type: 'string' },
      'sf-gateways': { type: 'string' },
      'sf-per-gateway': { type: 'string' },
      'sf-memory-backlog': { type: 'string' },
      'sf-memory-seconds': { type: 'string' },
      'sf-profile': { type: 'string' },
      'presence-rate': { type: 'string' },
      'presence-stream-s': { type: 'string' },
      'presence-rounds': { type: 'string' },
      'presence-round-ms': { type: 'string' },
      'presence-roster': { type: 'string' },
      'presence-window-s': { type: 'string' },
      'presence-seed': { type: 'string' },
      'console-punches': { type: 'string' },
      'console-samples': { type: 'string' },
      'console-probe-samples': { type: 'string' },
      'console-live-s': { type: 'string' },
      'console-live3-s': { type: 'string' },
      'console-busy-s': { type: 'string' },
      'console-rate': { type: 'string' },
      'console-gateways': { type: 'string' },
      'console-clients': { type: 'string' },
      'report-employees': { type: 'string' },
      'report-days': { type: 'string' },
      'report-month': { type: 'string' },
      'report-small': { type: 'string' },
      'report-profile': { type: 'string' },
    },
    strict: true,
  });
  if (values.gateway !== 'child' && values.gateway !== 'in-process') throw new Error(`--gateway must be child or in-process, got "${values.gateway}"`);
  const mode: GatewayMode = values.gateway;
  const logLevel = values['log-level'];
  if (logLevel !== 'info' && logLevel !== 'warn') throw new Error(`--log-level must be info or warn, got "${logLevel}"`);
  const taps = positive('taps', values.taps, 2000);
  const warmup = positive('warmup', values.warmup, 100);
  const gapMs = positive('gap-ms', values['gap-ms'], 0);
  const burstReaders = positive('burst-readers', values['burst-readers'], 10);
  const burstCards = positive('burst-cards', values['burst-cards'], 100);
  const fsyncCount = positive('fsync', values.fsync, 1000);
  const only = values.only;
  if (only !== undefined && only !== 'punch-path' && only !== 'store-and-forward' && only !== 'presence' && only !== 'console' && only !== 'attendance-report' && only !== 'onboarding') {
    throw new Error(`--only must be punch-path, store-and-forward, presence, console, attendance-report or onboarding, got "${only}"`);
  }
  const runPunchPath = only === undefined || only === 'punch-path';
  const runSf = only === undefined || only === 'store-and-forward';
  const runPresenceBench = only === undefined || only === 'presence';
  const runConsoleBench = only === undefined || only === 'console';
  const runReportBench = only === undefined || only === 'attendance-report';
  const runOnboardingBench = only === undefined || only === 'onboarding';
  const reportMonth = values['report-month'] ?? defaultReportMonth();
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(reportMonth)) throw new Error(`--report-month must be YYYY-MM, got "${reportMonth}"`);
  const reportOptions = {
    employees: positive('report-employees', values['report-employees'], 5000),
    days: positive('report-days', values['report-days'], 31),
    month: reportMonth,
    smallEmployees: positive('report-small', values['report-small'], 1000),
    ...(values['report-profile'] ? { profileDir: path.resolve(values['report-profile']) } : {}),
  };
  const consoleOptions = {
    punches: positive('console-punches', values['console-punches'], 1_000_000),
    samples: positive('console-samples', values['console-samples'], 50),
    probeSamples: positive('console-probe-samples', values['console-probe-samples'], 1),
    liveSeconds: positive('console-live-s', values['console-live-s'], 30),
    live3Seconds: positive('console-live3-s', values['console-live3-s'], 10),
    busySeconds: positive('console-busy-s', values['console-busy-s'], 8),
    rate: positive('console-rate', values['console-rate'], 200),
    gateways: positive('console-gateways', values['console-gateways'], 5),
    clients: positive('console-clients', values['console-clients'], 3),
  };
  const presence = {
    rate: positive('presence-rate', values['presence-rate'], 2000),
    streamSeconds: positive('presence-stream-s', values['presence-stream-s'], 20),
    rounds: positive('presence-rounds', values['presence-rounds'], 7),
    roundMs: positive('presence-round-ms', values['presence-round-ms'], 300),
    rosterSize: positive('presence-roster', values['presence-roster'], 50),
    windowSeconds: positive('presence-window-s', values['presence-window-s'], 20),
    seed: positive('presence-seed', values['presence-seed'], 20261123),
  };
  const sf = {
    punches: positive('sf-punches', values['sf-punches'], 100_000),
    bigBatch: {
      maxPunches: positive('sf-max-punches', values['sf-max-punches'], 500),
      inFlight: positive('sf-in-flight', values['sf-in-flight'], 4),
      maxBytes: positive('sf-max-bytes', values['sf-max-bytes'], 256 * 1024),
    },
    naive: positive('sf-naive', values['sf-naive'], 10_000),
    gateways: positive('sf-gateways', values['sf-gateways'], 50),
    perGateway: positive('sf-per-gateway', values['sf-per-gateway'], 2000),
    memoryBacklog: positive('sf-memory-backlog', values['sf-memory-backlog'], 1_000_000),
    memorySeconds: positive('sf-memory-seconds', values['sf-memory-seconds'], 0),
    ...(values['sf-profile'] ? { profileDir: path.resolve(values['sf-profile']) } : {}),
  };

  const base = path.resolve(values.dir ?? process.env.PUNCHGATE_BENCH_DIR ?? os.tmpdir());
  await mkdir(base, { recursive: true });
  // Data (SQLite files, fsync probes) under --dir; ptys and logs in the system temp dir.
  const dataRoot = await mkdtemp(path.join(base, 'punchgate-bench-data-'));
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'punchgate-bench-run-'));
  const machine = machineInfo(dataRoot);
  const out = (line = ''): void => {
    process.stdout.write(`${line}\n`);
  };
  const started = performance.now();

  out(`punchgate bench: ${[runPunchPath ? 'the punch path' : '', runSf ? 'store-and-forward' : '', runPresenceBench ? 'presence' : '', runConsoleBench ? 'console' : '', runReportBench ? 'the attendance report' : ''].filter(Boolean).join(', then ')}`);
  out(`date      ${machine.date}`);
  out(`cpu       ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB`);
  out(`system    ${machine.kernel}, node ${machine.node}`);
  out(`data dir  ${dataRoot}`);
  out(`          on ${machine.dataFs.device} (${machine.dataFs.type}) mounted at ${machine.dataFs.mountedOn}${machine.dataFs.mountOptions ? ` [${machine.dataFs.mountOptions}]` : ''}`);
  if (/tmpfs|ramfs/.test(machine.dataFs.type)) out('          WARNING: fsync is a no-op on this filesystem; these figures say nothing about a disk');
  const [load1 = 0, load5 = 0] = os.loadavg();
  out(`load      ${load1.toFixed(2)} (1 min), ${load5.toFixed(2)} (5 min) before the start${load1 > machine.cores / 2 ? ': WARNING, the machine is busy; figures will include contention' : ''}`);
  out(`gateway   ${mode === 'child' ? 'child process: node dist/bin/punchgate.js gateway --config FILE' : 'in this process: startGateway()'}; log level ${logLevel} for the taps`);
  out();

  const result: Record<string, unknown> = { machine, loadAverageAtStart: os.loadavg(), options: { mode, logLevel, taps, warmup, gapMs, burstReaders, burstCards, fsyncCount, dataRoot } };
  let exitCode = 0;
  try {
    if (runPunchPath) {
      // 1. The disk.
      const fsyncAppend = summarize(fsyncLatencies(path.join(dataRoot), fsyncCount, 'append'));
      const fsyncOverwrite = summarize(fsyncLatencies(path.join(dataRoot), fsyncCount, 'overwrite'));
      result.fsync = { append: fsyncAppend, overwrite: fsyncOverwrite };

      // 2 and 3. Tap to feedback, with the baseline (one raw durable INSERT) interleaved in blocks
      // of the same size, so that both meet the same machine: this one is shared, and its load drifts.
      const raw = await RawInsertBaseline.open(dataRoot);
      const baselineSamples: number[] = [];
      const deskShapedSamples: number[] = [];
      const baselineSched: Sched = { cpuNs: 0, waitNs: 0, slices: 0 };
      let tap: TapLatencyResult;
      try {
        await raw.measure(warmup);
        await raw.measureDeskShaped(warmup);
        const block = Math.min(100, taps);
        const interleave = {
          every: block,
          run: async () => {
            const count = Math.min(block, taps - baselineSamples.length);
            const before = schedOf(process.pid);
            baselineSamples.push(...(await raw.measure(count)));
            const after = schedOf(process.pid);
            if (before && after) {
              baselineSched.cpuNs += after.cpuNs - before.cpuNs;
              baselineSched.waitNs += after.waitNs - before.waitNs;
              baselineSched.slices += after.slices - before.slices;
            }
            deskShapedSamples.push(...(await raw.measureDeskShaped(count)));
          },
        };
        tap = await measureTapLatency({ workDir: runDir, dataDir: path.join(dataRoot, `data-tap-${mode}`), mode, taps, warmup, gapMs, interleave, logLevel, ...(values.profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] } : {}) });
      } finally {
        await raw.close();
      }
      const baseline = summarize(baselineSamples);
      const deskShaped = summarize(deskShapedSamples);
      result.baseline = baseline;
      result.deskShapedTransaction = deskShaped;
      result.tap = tap;
      let breakdown: TapLatencyResult | undefined;
      if (!values['skip-breakdown'] && mode !== 'in-process') {
        breakdown = await measureTapLatency({ workDir: runDir, dataDir: path.join(dataRoot, 'data-tap-in-process'), mode: 'in-process', taps, warmup, gapMs, logLevel });
        result.tapInProcess = breakdown;
      }

      out('Durable writes on the data dir\'s disk, and the tap-to-feedback latency');
      const rows: string[][] = [
        summaryHeader,
        summaryRow('disk: write 4 KiB + fdatasync, appending', fsyncAppend),
        summaryRow('disk: write 4 KiB + fdatasync, in place', fsyncOverwrite),
        summaryRow('baseline: raw sqlite3 INSERT (WAL, FULL)', baseline),
        summaryRow('  yardstick: SELECT+BEGIN+INSERT+COMMIT', deskShaped),
        summaryRow(`tap -> feedback over a pty (${mode})`, tap.fromDrained),
        summaryRow(`  same, from the tap() call`, tap.fromWriteCall),
        summaryRow(`  simulator write -> drained`, tap.writeToDrained),
      ];
      const tapped = tap.breakdown ? tap : breakdown;
      if (breakdown) {
        rows.push(summaryRow('tap -> feedback (in-process gateway)', breakdown.fromDrained));
        rows.push(summaryRow('  same, without taps hit by a GC pause', breakdown.fromDrainedWithoutGc));
      }
      if (tapped?.breakdown) {
        rows.push(summaryRow('  serial in: drained -> card event', tapped.breakdown.serialIn));
        rows.push(summaryRow('  desk: card event -> committed', tapped.breakdown.desk));
        for (const [name, summary] of Object.entries(tapped.breakdown.statements)) rows.push(summaryRow(`    sqlite ${name}`, summary));
        rows.push(summaryRow('    desk JS and loop waits between them', tapped.breakdown.deskBetween));
        rows.push(summaryRow('  feedback out: committed -> read back', tapped.breakdown.feedbackOut));
        rows.push(summaryRow('  event loop delay (1 ms sampling)', tapped.breakdown.eventLoopDelay));
      }
      out(table(rows));
      const difference = tap.fromDrained.p99 - baseline.p99;
      const pass = difference <= GOAL_MS;
      result.goal = { goalMs: GOAL_MS, tapP99: tap.fromDrained.p99, baselineP99: baseline.p99, differenceMs: difference, verdict: pass ? 'PASS' : 'MISS' };
      out();
      out(`goal: tap p99 at most ${GOAL_MS} ms above the baseline p99`);
      out(`      tap p99 ${ms(tap.fromDrained.p99)} ms - baseline p99 ${ms(baseline.p99)} ms = ${ms(difference)} ms  =>  ${pass ? 'PASS' : 'MISS'}`);
      out(`      p50 over the baseline: ${ms(tap.fromDrained.p50 - baseline.p50)} ms; ${tap.taps} taps in ${tap.elapsedS.toFixed(1)} s after ${tap.warmup} warm-up taps`);
      const kinds = Object.entries(tap.feedbackKinds).map(([kind, count]) => `${kind} ${count}`).join(', ');
      out(`      CPU during the taps: machine ${tap.cpu.machineBusyPct}% busy (all cores = 100%), this bench ${tap.cpu.oursPct}%, other processes ${tap.cpu.othersPct}%, hypervisor steal ${tap.cpu.stealPct}%; load average ${tap.cpu.loadAverage1m}`);
      if (tap.cpu.othersPct + tap.cpu.stealPct > 10) out('      WARNING: other processes (or the hypervisor) were busy during the taps: the tail latencies include their contention');
      const schedRows: string[][] = [['per operation, from /proc/*/schedstat', 'CPU ms', 'run-queue wait ms', 'times scheduled']];
      const labels: Record<string, string> = { gateway: 'tap: gateway process', socat: 'tap: socat (the pty pair)', harness: 'tap: bench process (simulator)' };
      for (const [who, per] of Object.entries(tap.sched)) if (per) schedRows.push([labels[who] ?? who, ms(per.cpuMs), ms(per.runQueueWaitMs), per.slices.toFixed(1)]);
      const perInsert = schedDelta({ cpuNs: 0, waitNs: 0, slices: 0 }, baselineSched, baselineSamples.length);
      result.baselineSched = perInsert;
      if (perInsert) schedRows.push(['baseline insert: bench process', ms(perInsert.cpuMs), ms(perInsert.runQueueWaitMs), perInsert.slices.toFixed(1)]);
      out();
      out(table(schedRows));
      const gcText = (label: string, gc: { count: number; totalMs: number; maxMs: number; tapsOverlapped: number } | undefined): string =>
        gc ? `${label} ${gc.count} pauses (${ms(gc.totalMs)} ms in all, longest ${ms(gc.maxMs)} ms) inside ${gc.tapsOverlapped} taps` : `${label} not recorded`;
      out(`      GC during the taps: ${gcText('gateway', tap.gc.gateway)}; ${gcText('bench process', tap.gc.harness)}`);
      out(`      without the taps a GC pause fell into: p50 ${ms(tap.fromDrainedWithoutGc.p50)}, p99 ${ms(tap.fromDrainedWithoutGc.p99)} ms (n ${tap.fromDrainedWithoutGc.n})`);
      out(`      feedback: ${kinds}${tap.feedbackBeforeDrain ? `; ${tap.feedbackBeforeDrain} arrived before the write drained` : ''}`);
      if ((tap.feedbackKinds.accepted ?? 0) !== tap.taps) {
        out('      WARNING: not every tap was accepted; the latencies mix outcomes');
      }
      out();

      // 4. The burst.
      const burst: BurstResult = await measureBurst({ workDir: runDir, dataDir: path.join(dataRoot, `data-burst-${mode}`), mode, readers: burstReaders, cardsPerReader: burstCards });
      result.burst = burst;
      out(`Burst: ${burst.readers} RDM6300 readers x ${burst.cardsPerReader} distinct cards, frames back to back on ptys (no baud-rate pacing)`);
      out(
        table([
          ['', 'value'],
          ['punches committed (rows in gateway.sqlite)', `${burst.committed} / ${burst.expected}`],
          ['frames decoded / refused', `${burst.readsDecoded} / ${burst.badFrames}`],
          ['tap outcomes logged', Object.entries(burst.outcomes).map(([kind, count]) => `${kind} ${count}`).join(', ') || 'none'],
          ['first byte written -> last frame drained', `${ms(burst.writesDoneMs)} ms`],
          ['first byte written -> last commit', `${ms(burst.elapsedMs)} ms`],
          ['throughput', `${Math.round(burst.punchesPerSecond)} punches/s`],
          ['CPU: machine / this bench / others / steal', `${burst.cpu.machineBusyPct}% / ${burst.cpu.oursPct}% / ${burst.cpu.othersPct}% / ${burst.cpu.stealPct}%`],
          ['commit transactions (at least)', `${burst.batchesAtLeast} (~${(burst.committed / Math.max(1, burst.batchesAtLeast)).toFixed(1)} punches each)`],
        ]),
      );
      if (burst.missingCount > 0 || burst.committed !== burst.expected) {
        out();
        out(`FAILURE: ${burst.missingCount} of ${burst.expected} punches were NOT committed (${burst.committed} rows)`);
        if (burst.missing.length) out(`         missing, first ${burst.missing.length}: ${burst.missing.join(' ')}`);
        exitCode = 1;
      }
      out();
    }
    /** Writes a bench's figures, with the machine, to test-artifacts/bench/NAME-DATE.json and NAME-latest.json. */
    const writeFigures = async (name: string, label: string, measured: object, startedAt: number): Promise<void> => {
      const figures = { machine, loadAverageAtStart: os.loadavg(), ...measured, elapsedS: (performance.now() - startedAt) / 1000 };
      const artifacts = path.join(repoRoot, 'test-artifacts', 'bench');
      await mkdir(artifacts, { recursive: true });
      const file = path.join(artifacts, `${name}-${machine.date.replace(/[:.]/g, '-')}.json`);
      await writeFile(file, `${JSON.stringify(figures, null, 2)}\n`);
      await writeFile(path.join(artifacts, `${name}-latest.json`), `${JSON.stringify(figures, null, 2)}\n`);
      out(`${label} figures written to ${path.relative(process.cwd(), file)} (${figures.elapsedS.toFixed(1)} s)`);
    };
    if (runSf) {
      const sfStarted = performance.now();
      const stored = await runStoreAndForward({ dataRoot, workDir: runDir, ...sf, out });
      await writeFigures('store-and-forward', 'store-and-forward', stored.result, sfStarted);
      if (stored.exitCode !== 0) exitCode = stored.exitCode;
    }
    if (runPresenceBench) {
      const presenceStarted = performance.now();
      const measured = await runPresence({ dataRoot, workDir: runDir, ...presence, out });
      await writeFigures('presence', 'presence', measured.result, presenceStarted);
      if (measured.exitCode !== 0) exitCode = measured.exitCode;
    }
    if (runConsoleBench) {
      const consoleStarted = performance.now();
      const measured = await runConsole({ dataRoot, workDir: runDir, ...consoleOptions, keep: values.keep, out });
      await writeFigures('console', 'console', measured.result, consoleStarted);
      if (measured.exitCode !== 0) exitCode = measured.exitCode;
    }
    if (runReportBench) {
      const reportStarted = performance.now();
      const measured = await runAttendanceReport({ dataRoot, workDir: runDir, ...reportOptions, keep: values.keep, out });
      await writeFigures('attendance-report', 'attendance report', measured.result, reportStarted);
      if (measured.exitCode !== 0) exitCode = measured.exitCode;
    }
    if (runOnboardingBench) {
      const onboardingStarted = performance.now();
      const measured = await runOnboarding({ workDir: runDir, rows: positive('onboarding-rows', values['onboarding-rows'], 10_000), out });
      await writeFigures('onboarding', 'onboarding', measured.result, onboardingStarted);
    }
  } catch (error) {
    out(`bench failed: ${(error as Error).stack ?? String(error)}`);
    result.error = String(error);
    exitCode = 1;
  } finally {
    const artifacts = path.join(repoRoot, 'test-artifacts', 'bench');
    await mkdir(artifacts, { recursive: true });
    const stamp = machine.date.replace(/[:.]/g, '-');
    const file = path.join(artifacts, `punch-path-${stamp}.json`);
    result.elapsedS = (performance.now() - started) / 1000;
    if (runPunchPath) {
      await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
      await writeFile(path.join(artifacts, 'punch-path-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
      out(`punch-path figures written to ${path.relative(process.cwd(), file)}`);
    }
    out(`bench took ${(result.elapsedS as number).toFixed(1)} s`);
    if (values.keep) out(`kept: ${dataRoot} ${runDir}`);
    else {
      await rm(dataRoot, { recursive: true, force: true });
      await rm(runDir, { recursive: true, force: true });
    }
  }
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  },
);
