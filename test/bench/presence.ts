/**
 * The presence bench (part of `npm run bench`, `--only presence`; see docs/benchmarks.md
 * "# Presence"):
 *
 * 1. Throughput on one core, in this process, single thread: the Mong Kok shop's adverts
 *    (test/bench/presence-shop.ts) through
 *    (a) the baselines, decoding only: `parseAdvertisement` on the raw advertising data, and
 *        `parseNobleAdvertisement` on the advertisement objects noble builds of the same bytes;
 *    (b) ours, the per-advert path the gateway runs once noble hands an advert over: noble's
 *        `discover` -> BleScanner (rates, noble cache bookkeeping, RSSI check) -> roster classifier
 *        (decode, tag id, roster lookup, address fallback) -> PresenceTracker.observe for the
 *        accepted ones -> hands-free; plus the scanner's and hands-free's once-a-second ticks.
 *        Also split: classifier + observe alone, without the scanner;
 *    (c) the whole path from the HCI report: real noble (gap.js, lib/noble.js) over the fake
 *        binding, then (b); and noble alone, to tell its share from ours.
 *    Measured in rounds (each variant once per round, rotating the order) after a warm-up; the
 *    median, min and max of the rounds. Then (a) and (b) once more paced like the gateway: 20
 *    adverts every 10 ms with the thread asleep in between (cold caches), which is what part 2 sees.
 * 2. CPU of a gateway at 2,000 adverts/s: the built gateway in a child process
 *    (test/bench/presence-gateway.ts), fed in real time, hands-free on, staff walking in and out;
 *    against the same gateway idle, with noble alone (the scanner's listener unhooked), and with
 *    the feeding loop alone; the last three alternate in rounds. The feeding loop (the fake
 *    binding's part) is subtracted; see docs/benchmarks.md for how.
 *
 * Timings are a report, never a test. The bench fails (exit 1) only when the classifier's accepted
 * count differs from the adverts of rostered tags, i.e. when it would be measuring the wrong thing.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { NobleAdvertisement, NobleLike, NoblePeripheral, NobleAdapterState } from '../../gateway/presence/noble-types.js';
import type { AdvertClassifier } from '../../gateway/presence/ble-scanner.js';
import { repoRoot } from '../support/cli.js';
import { nobleWithFakeBinding } from '../support/fake-noble-binding.js';
import { cpuSnapshot, cpuUse, type CpuSnapshot, type CpuUse } from './cpu-load.js';
import { loadBuiltPresence, type BuiltPresence } from './presence-built.js';
import type { ChildMessage, WindowName, WindowReport } from './presence-gateway.js';
import { mongKokShop, shopRoster, type ShopStream } from './presence-shop.js';
import { table } from './stats.js';

export interface PresenceBenchOptions {
  /** Parent of the child gateway's data dir (the bench's --dir). */
  dataRoot: string;
  /** Configs, roster file, the child's log. */
  workDir: string;
  /** Seconds of air in the throughput stream (default 20: 40,000 adverts at 2,000/s). */
  streamSeconds: number;
  /** Rounds of the throughput part (default 7), and the target length of one variant's turn (ms). */
  rounds: number;
  roundMs: number;
  /** Tags in the roster (default 50). */
  rosterSize: number;
  /** Adverts per second on air (default 2000). */
  rate: number;
  /** The measured window of part 2 (default 20 s); 0 skips part 2. */
  windowSeconds: number;
  seed: number;
  out: (line?: string) => void;
}

const BASE_TIME = Date.parse('2026-11-23T02:00:00.000Z');
const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;
const fmt = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** This thread's time on a CPU and waiting for one (ns), from /proc/self/task/PID/schedstat. */
function mainThreadSched(): { cpuNs: number; waitNs: number } {
  try {
    const [cpu = 0, wait = 0] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { cpuNs: cpu, waitNs: wait };
  } catch {
    return { cpuNs: Number.NaN, waitNs: Number.NaN };
  }
}

// ---- part 1: throughput ----

interface Variant {
  key: string;
  label: string;
  /** One pass over the stream; returns the adverts processed. */
  pass(): number;
  /** Adverts the classifier accepted so far (variants that classify). */
  accepted?: () => number;
  passes: number;
  /** The next `count` adverts of the stream, continuing where the last step stopped (after the passes). */
  step?: (count: number) => void;
}

interface RoundSample {
  adverts: number;
  wallMs: number;
  cpuMs: number;
  waitMs: number;
}

export interface VariantResult {
  key: string;
  label: string;
  passesPerRound: number;
  advertsPerRound: number;
  /** Adverts/s by wall clock, per round. */
  rates: number[];
  /** Adverts/s by this thread's CPU time, per round. */
  cpuRates: number[];
  median: number;
  min: number;
  max: number;
  cpuMedian: number;
  nsPerAdvert: number;
  /** Run-queue wait of this thread, as a share of the wall time (contention, steal). */
  waitPct: number;
}

/** The silent-enough logger the gateway runs with: level info, to /dev/null. */
function benchLogger() {
  return pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }));
}

class BenchNoble extends EventEmitter {
  state: NobleAdapterState = 'poweredOn';
  startScanning(): void {}
  stopScanning(): void {}
}

async function waitUntil(what: string, ready: () => boolean, timeoutMs = 5_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !ready(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function buildVariants(built: BuiltPresence, stream: ShopStream): Promise<{ variants: Variant[]; sink: () => number }> {
  const { parseAdvertisement } = built.advertisement;
  const { parseNobleAdvertisement, nobleAdvertisementFromBytes } = built.nobleAdvertisement;
  const adverts = stream.adverts;
  const n = adverts.length;
  const eirs = adverts.map((advert) => advert.eir);
  // What noble hands over for each advert: its advertisement object (as gap.js builds it on a
  // first discovery) in a peripheral.
  const nobleAds: NobleAdvertisement[] = adverts.map((advert) => nobleAdvertisementFromBytes(advert.eir));
  const peripherals: NoblePeripheral[] = adverts.map((advert, index) => {
    const id = advert.address.replaceAll(':', '');
    return { id, uuid: id, address: advert.address, addressType: advert.addressType, connectable: advert.eventType !== 0x03, advertisement: nobleAds[index] as NobleAdvertisement, rssi: advert.rssi, state: 'disconnected' };
  });
  const addresses = adverts.map((advert) => advert.address);
  const rssis = Int16Array.from(adverts.map((advert) => advert.rssi));
  const ats = Float64Array.from(adverts.map((advert) => advert.at));
  const types = Uint8Array.from(adverts.map((advert) => advert.eventType));
  const addressTypes = adverts.map((advert) => advert.addressType);
  const duration = stream.durationMs;
  let sink = 0;

  const roster = new built.rosterIndex.RosterIndex(built.roster.Roster.parse(stream.roster));
  // As gateway/presence/presence.ts: the tag uids recomputed only when the roster object changes.
  const running = { roster };
  let tagCache: { roster: typeof roster; uids: Set<string> } | undefined;
  const tagUids = (): ReadonlySet<string> => {
    if (tagCache?.roster !== running.roster) tagCache = { roster: running.roster, uids: built.tagClassifier.rosterTagUids([...running.roster.entries()]) };
    return tagCache.uids;
  };

  /** A tracker with hands-free attached (its punches recorded nowhere), on a simulated clock. */
  const presenceParts = (clock: { now: number }) => {
    const logger = benchLogger();
    const tracker = new built.tracker.PresenceTracker({ logger, now: () => clock.now });
    const handsFree = new built.handsFree.HandsFree({ roster: () => running.roster, recordPunch: () => undefined, logger, now: () => clock.now, enabled: true, punchOutAfterMs: 60_000 });
    handsFree.attach(tracker);
    let accepted = 0;
    const classify = built.tagClassifier.rosterTagClassifier(tagUids);
    const counted: AdvertClassifier = (address, advertisement, rssi) => {
      const match = classify(address, advertisement, rssi);
      if (match) accepted += 1;
      return match;
    };
    return { logger, tracker, handsFree, classify, counted, accepted: () => accepted };
  };

  const variants: Variant[] = [];

  variants.push({
    key: 'decode-raw',
    label: 'baseline: parseAdvertisement(raw bytes)',
    passes: 0,
    pass() {
      let ok = 0;
      for (let index = 0; index < n; index += 1) if (parseAdvertisement(eirs[index] as Buffer).ok) ok += 1;
      sink += ok;
      this.passes += 1;
      return n;
    },
  });

  let decodeCursor = 0;
  variants.push({
    key: 'decode-noble',
    label: 'baseline: parseNobleAdvertisement(noble object)',
    passes: 0,
    pass() {
      let ok = 0;
      for (let index = 0; index < n; index += 1) if (parseNobleAdvertisement(nobleAds[index] as NobleAdvertisement).ok) ok += 1;
      sink += ok;
      this.passes += 1;
      return n;
    },
    step(count) {
      for (let k = 0; k < count; k += 1) if (parseNobleAdvertisement(nobleAds[(decodeCursor++) % n] as NobleAdvertisement).ok) sink += 1;
    },
  });

  {
    const clock = { now: BASE_TIME };
    const parts = presenceParts(clock);
    let accepted = 0;
    variants.push({
      key: 'classify-observe',
      label: '  split: classifier + tracker.observe (no scanner)',
      passes: 0,
      accepted: () => accepted,
      pass() {
        const offset = BASE_TIME + this.passes * duration;
        let nextTick = offset;
        for (let index = 0; index < n; index += 1) {
          const now = offset + (ats[index] as number);
          clock.now = now;
          if (now >= nextTick) {
            parts.tracker.tick(now);
            parts.handsFree.tick(now);
            nextTick = now + 1000;
          }
          const rssi = rssis[index] as number;
          const match = parts.classify(addresses[index] as string, nobleAds[index] as NobleAdvertisement, rssi);
          if (match) {
            accepted += 1;
            parts.tracker.observe(match.tagId, rssi, now);
          }
        }
        this.passes += 1;
        return n;
      },
    });
  }

  {
    const clock = { now: BASE_TIME };
    const parts = presenceParts(clock);
    const noble = new BenchNoble();
    const scanner = new built.scanner.BleScanner({ noble: noble as unknown as NobleLike, classify: parts.counted, tracker: parts.tracker, logger: parts.logger, now: () => clock.now, autoTick: false });
    let stepCursor = 0;
    let stepTick = 0;
    scanner.start();
    if (scanner.status().state !== 'scanning') throw new Error(`bench scanner is ${scanner.status().state}`);
    variants.push({
      key: 'scanner',
      label: 'OURS: discover -> scanner -> classifier -> tracker',
      passes: 0,
      accepted: parts.accepted,
      pass() {
        const offset = BASE_TIME + this.passes * duration;
        let nextTick = offset;
        for (let index = 0; index < n; index += 1) {
          const now = offset + (ats[index] as number);
          clock.now = now;
          if (now >= nextTick) {
            scanner.tick(now);
            parts.handsFree.tick(now);
            nextTick = now + 1000;
          }
          noble.emit('discover', peripherals[index]);
        }
        this.passes += 1;
        return n;
      },
      step(count) {
        for (let k = 0; k < count; k += 1, stepCursor += 1) {
          const index = stepCursor % n;
          const now = BASE_TIME + (this.passes + 1 + Math.floor(stepCursor / n)) * duration + (ats[index] as number);
          clock.now = now;
          if (now >= stepTick) {
            scanner.tick(now);
            parts.handsFree.tick(now);
            stepTick = now + 1000;
          }
          noble.emit('discover', peripherals[index]);
        }
      },
    });
  }

  // Through the real noble. Reports enter the fake binding's HCI emitter as the Linux binding's
  // hci.js emits them, the data already a Buffer (FakeNobleBinding.advertise would decode hex each time).
  const hciOf = (binding: unknown): EventEmitter => (binding as { hci: EventEmitter }).hci;
  {
    const { noble, binding } = nobleWithFakeBinding('poweredOn');
    noble.startScanning([], true);
    await waitUntil('noble to scan', () => binding.isScanning);
    const hci = hciOf(binding);
    variants.push({
      key: 'noble-only',
      label: 'noble alone: HCI report -> gap.js -> noble discover',
      passes: 0,
      pass() {
        for (let index = 0; index < n; index += 1) hci.emit('leAdvertisingReport', 0, types[index], addresses[index], addressTypes[index], eirs[index], rssis[index]);
        this.passes += 1;
        return n;
      },
    });
  }
  {
    const clock = { now: BASE_TIME };
    const parts = presenceParts(clock);
    const { noble, binding } = nobleWithFakeBinding('poweredOn');
    const scanner = new built.scanner.BleScanner({ noble, classify: parts.counted, tracker: parts.tracker, logger: parts.logger, now: () => clock.now, autoTick: false });
    scanner.start();
    await waitUntil('the scanner over noble to scan', () => binding.isScanning && scanner.status().state === 'scanning');
    const hci = hciOf(binding);
    variants.push({
      key: 'noble-scanner',
      label: 'whole path: HCI report -> noble -> OURS',
      passes: 0,
      accepted: parts.accepted,
      pass() {
        const offset = BASE_TIME + this.passes * duration;
        let nextTick = offset;
        for (let index = 0; index < n; index += 1) {
          const now = offset + (ats[index] as number);
          clock.now = now;
          if (now >= nextTick) {
            scanner.tick(now);
            parts.handsFree.tick(now);
            nextTick = now + 1000;
          }
          hci.emit('leAdvertisingReport', 0, types[index], addresses[index], addressTypes[index], eirs[index], rssis[index]);
        }
        this.passes += 1;
        return n;
      },
    });
  }
  return { variants, sink: () => sink };
}

function timeRound(variant: Variant, passes: number): RoundSample {
  const sched0 = mainThreadSched();
  const t0 = performance.now();
  let adverts = 0;
  for (let pass = 0; pass < passes; pass += 1) adverts += variant.pass();
  const wallMs = performance.now() - t0;
  const sched1 = mainThreadSched();
  return { adverts, wallMs, cpuMs: (sched1.cpuNs - sched0.cpuNs) / 1e6, waitMs: (sched1.waitNs - sched0.waitNs) / 1e6 };
}

const PACED_BATCHES = 150;
const PACED_SIZE = 20;

export interface PacedResult {
  key: string;
  label: string;
  batches: number;
  size: number;
  /** Wall time per advert inside the batches. */
  usPerAdvert: number;
  /** The batch's first advert, and the others. */
  firstUs: number;
  restUs: number;
}

async function throughput(built: BuiltPresence, stream: ShopStream, options: PresenceBenchOptions): Promise<{ results: VariantResult[]; paced: PacedResult[]; cpu: CpuUse; failures: string[]; elapsedS: number }> {
  const started = performance.now();
  const { variants, sink } = await buildVariants(built, stream);
  const failures: string[] = [];
  // Warm-up: each variant runs for at least 500 ms (JIT, caches, the tracker's staff entries);
  // the last passes set how many passes one round holds.
  const passesPerRound = new Map<string, number>();
  for (const variant of variants) {
    const t0 = performance.now();
    let passes = 0;
    let lastPassMs = 0;
    while (performance.now() - t0 < 500 || passes < 3) {
      const p0 = performance.now();
      variant.pass();
      lastPassMs = performance.now() - p0;
      passes += 1;
    }
    passesPerRound.set(variant.key, Math.max(1, Math.round(options.roundMs / Math.max(lastPassMs, 0.001))));
  }
  // Correctness: after whole passes, a classifying variant must have accepted exactly the adverts
  // of rostered tags (staff frames that identify a tag; not their TLM frames).
  const checkAccepted = (variant: Variant): void => {
    if (!variant.accepted) return;
    const expected = variant.passes * stream.rosteredAdverts;
    if (variant.accepted() !== expected) failures.push(`${variant.key}: the classifier accepted ${variant.accepted()} adverts in ${variant.passes} passes, expected ${expected} (the rostered tags' adverts)`);
  };
  const samples = new Map<string, RoundSample[]>(variants.map((variant) => [variant.key, []]));
  const cpuStart: CpuSnapshot = cpuSnapshot();
  for (let roundIndex = 0; roundIndex < options.rounds; roundIndex += 1) {
    // Rotate the order, so that no variant always follows the same one.
    for (let step = 0; step < variants.length; step += 1) {
      const variant = variants[(roundIndex + step) % variants.length] as Variant;
      samples.get(variant.key)?.push(timeRound(variant, passesPerRound.get(variant.key) ?? 1));
    }
  }
  const cpu = cpuUse(cpuStart, cpuSnapshot());
  for (const variant of variants) checkAccepted(variant);
  // Paced like the gateway: a batch of adverts every 10 ms, the thread asleep in between.
  const paced: PacedResult[] = [];
  for (const variant of variants) {
    if (!variant.step) continue;
    const step = variant.step.bind(variant);
    let workMs = 0;
    let firstMs = 0;
    for (let batch = 0; batch < PACED_BATCHES; batch += 1) {
      await sleep(10);
      const t0 = performance.now();
      step(1);
      const t1 = performance.now();
      step(PACED_SIZE - 1);
      const t2 = performance.now();
      workMs += t2 - t0;
      firstMs += t1 - t0;
    }
    paced.push({ key: variant.key, label: variant.label, batches: PACED_BATCHES, size: PACED_SIZE, usPerAdvert: round((workMs * 1000) / (PACED_BATCHES * PACED_SIZE), 2), firstUs: round((firstMs * 1000) / PACED_BATCHES, 2), restUs: round(((workMs - firstMs) * 1000) / (PACED_BATCHES * (PACED_SIZE - 1)), 2) });
  }
  if (sink() === 0) failures.push('no advert decoded to a beacon frame: the stream is wrong');
  const results = variants.map((variant): VariantResult => {
    const list = samples.get(variant.key) ?? [];
    const rates = list.map((sample) => sample.adverts / (sample.wallMs / 1000));
    const cpuRates = list.map((sample) => sample.adverts / (sample.cpuMs / 1000));
    const wall = list.reduce((sum, sample) => sum + sample.wallMs, 0);
    const wait = list.reduce((sum, sample) => sum + sample.waitMs, 0);
    return {
      key: variant.key,
      label: variant.label,
      passesPerRound: passesPerRound.get(variant.key) ?? 1,
      advertsPerRound: (passesPerRound.get(variant.key) ?? 1) * stream.adverts.length,
      rates: rates.map((value) => round(value)),
      cpuRates: cpuRates.map((value) => round(value)),
      median: round(median(rates)),
      min: round(Math.min(...rates)),
      max: round(Math.max(...rates)),
      cpuMedian: round(median(cpuRates)),
      nsPerAdvert: round(1e9 / median(rates), 1),
      waitPct: round((wait / wall) * 100, 1),
    };
  });
  return { results, paced, cpu, failures, elapsedS: (performance.now() - started) / 1000 };
}

// ---- part 2: the gateway at the rate ----

/** Several blocks of one kind of window, summed. */
export interface WindowResult {
  name: WindowName;
  blocks: number;
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** (user + system) / wall, % of one core: every thread of the child. */
  corePct: number;
  /** The same from /proc/PID/stat read by this process (10 ms ticks), % of one core. */
  procStatPct: number | undefined;
  /** The child's run-queue wait, ms per second of the window (contention, steal). */
  runQueueWaitMsPerS: number | undefined;
  eventLoopUtilization: number;
  /** Main-thread GC pauses that started in the window, ms per second. */
  gcMsPerS: number;
  gcCount: number;
  gcMajorCount: number;
  feed: { fed: number; reported: number; wakeups: number; batches: number; maxBatch: number; workMs: number; workUsPerAdvert: number; lagP99Ms: number; lagMaxMs: number } | undefined;
  /** The machine over the window: busy, this bench's processes, others, steal (all cores = 100 %). */
  machine: CpuUse;
  /** The gateway's state at the end of the last block. */
  last: WindowReport;
}

interface OpenWindow {
  name: WindowName;
  snapshot: CpuSnapshot;
  ticks: number | undefined;
}

interface BlockRecord {
  report: WindowReport;
  from: CpuSnapshot;
  to: CpuSnapshot;
  ticks: number | undefined;
}

function procStatTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return undefined;
  }
}

/** Sums blocks of one window (as cpuUse does for one pair of snapshots). */
function sumBlocks(name: WindowName, records: BlockRecord[]): WindowResult | undefined {
  if (records.length === 0) return undefined;
  const sum = (pick: (record: BlockRecord) => number): number => records.reduce((total, record) => total + pick(record), 0);
  const wallMs = sum((record) => record.report.wallMs);
  const cpuUserMs = sum((record) => record.report.cpuUserMs);
  const cpuSystemMs = sum((record) => record.report.cpuSystemMs);
  const ticks = records.every((record) => record.ticks !== undefined) ? sum((record) => record.ticks as number) : undefined;
  const waitNs = records.every((record) => record.report.sched) ? sum((record) => record.report.sched?.waitNs ?? 0) : undefined;
  const total = Math.max(1, sum((record) => record.to.machineTotal - record.from.machineTotal));
  const busy = (sum((record) => record.to.machineBusy - record.from.machineBusy) / total) * 100;
  const ours = (sum((record) => record.to.ours - record.from.ours) / total) * 100;
  const steal = (sum((record) => record.to.machineSteal - record.from.machineSteal) / total) * 100;
  const feeds = records.map((record) => record.report.feed).filter((feed): feed is NonNullable<typeof feed> => feed !== undefined);
  const last = (records.at(-1) as BlockRecord).report;
  return {
    name,
    blocks: records.length,
    wallMs,
    cpuUserMs: round(cpuUserMs, 1),
    cpuSystemMs: round(cpuSystemMs, 1),
    corePct: round(((cpuUserMs + cpuSystemMs) / wallMs) * 100, 2),
    procStatPct: ticks !== undefined ? round(((ticks * 10) / wallMs) * 100, 2) : undefined,
    runQueueWaitMsPerS: waitNs !== undefined ? round(waitNs / 1e6 / (wallMs / 1000), 1) : undefined,
    eventLoopUtilization: round(sum((record) => record.report.eventLoopUtilization * record.report.wallMs) / wallMs, 3),
    gcMsPerS: round(sum((record) => record.report.gc.ms) / (wallMs / 1000), 2),
    gcCount: sum((record) => record.report.gc.count),
    gcMajorCount: sum((record) => record.report.gc.majorCount),
    feed:
      feeds.length > 0
        ? {
            fed: feeds.reduce((total, feed) => total + feed.fed, 0),
            reported: feeds.reduce((total, feed) => total + feed.reported, 0),
            wakeups: feeds.reduce((total, feed) => total + feed.wakeups, 0),
            batches: feeds.reduce((total, feed) => total + feed.batches, 0),
            maxBatch: Math.max(...feeds.map((feed) => feed.maxBatch)),
            workMs: round(feeds.reduce((total, feed) => total + feed.workMs, 0), 1),
            workUsPerAdvert: round((feeds.reduce((total, feed) => total + feed.workMs, 0) * 1000) / Math.max(1, feeds.reduce((total, feed) => total + feed.fed, 0)), 2),
            lagP99Ms: Math.max(...feeds.map((feed) => feed.lagP99Ms)),
            lagMaxMs: Math.max(...feeds.map((feed) => feed.lagMaxMs)),
          }
        : undefined,
    machine: { machineBusyPct: round(busy, 1), oursPct: round(ours, 1), othersPct: round(Math.max(0, busy - ours), 1), stealPct: round(steal, 1), loadAverage1m: round(os.loadavg()[0] ?? 0, 1) },
    last,
  };
}

export interface GatewaySettings {
  rate: number;
  /** After start-up, before the idle window (not measured). */
  settleS: number;
  idleS: number;
  warmupS: number;
  rounds: number;
  /** Per round: full, noble alone, feeding loop alone (s). */
  fullS: number;
  nobleS: number;
  feederS: number;
}

async function gatewayAtRate(options: PresenceBenchOptions): Promise<{ windows: Partial<Record<WindowName, WindowResult>>; ready: Extract<ChildMessage, { type: 'ready' }> | undefined; logFile: string; settings: GatewaySettings }> {
  const dir = path.join(options.workDir, 'presence');
  await mkdir(dir, { recursive: true });
  const dataDir = path.join(options.dataRoot, 'presence-gateway');
  const rosterFile = path.join(dir, 'roster.json');
  const configFile = path.join(dir, 'gateway.json');
  const logFile = path.join(dir, 'gateway.log');
  await writeFile(rosterFile, JSON.stringify(shopRoster(options.rosterSize)));
  await writeFile(
    configFile,
    JSON.stringify({
      deviceId: 'bench-presence',
      siteId: 'mk-01',
      dataDir,
      rosterFile,
      http: { host: '127.0.0.1', port: 0 },
      clock: { syncCommand: null },
      storage: { synchronous: 'full' },
      presence: {
        ble: { scan: true, advertise: false },
        wifi: { enabled: false },
        settings: { handsFree: { enabled: true, punchOutAfterSeconds: 60 } },
      },
      log: { level: 'info' },
    }),
  );
  const rounds = 5;
  const fullS = options.windowSeconds / rounds;
  const settings: GatewaySettings = { rate: options.rate, settleS: 2, idleS: 3, warmupS: 2, rounds, fullS, nobleS: fullS / 2, feederS: fullS / 4 };
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'presence-gateway.ts');
  const args: Record<string, number> = {
    seed: options.seed + 1,
    rate: settings.rate,
    'roster-size': options.rosterSize,
    'settle-s': settings.settleS,
    'idle-s': settings.idleS,
    'warmup-s': settings.warmupS,
    rounds: settings.rounds,
    'full-s': settings.fullS,
    'noble-s': settings.nobleS,
    'feeder-s': settings.feederS,
  };
  const fd = openSync(logFile, 'w');
  // tsx as a loader of this very node (not the tsx CLI, which would put a second process between).
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--config', configFile, ...Object.entries(args).flatMap(([key, value]) => [`--${key}`, String(value)])], { cwd: repoRoot, stdio: ['ignore', fd, fd, 'ipc'] });
  closeSync(fd);
  const records = new Map<WindowName, BlockRecord[]>();
  let ready: Extract<ChildMessage, { type: 'ready' }> | undefined;
  let open: OpenWindow | undefined;
  const total = settings.settleS + settings.idleS + settings.warmupS + settings.rounds * (settings.fullS + settings.nobleS + settings.feederS);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the presence gateway did not finish in ${total + 60} s; see ${logFile}`));
    }, (total + 60) * 1000);
    let failed: string | undefined;
    child.on('message', (raw) => {
      const message = raw as ChildMessage;
      if (message.type === 'ready') ready = message;
      else if (message.type === 'window-start') open = { name: message.name, snapshot: cpuSnapshot(), ticks: ready ? procStatTicks(ready.pid) : undefined };
      else if (message.type === 'window-end' && open) {
        const to = cpuSnapshot();
        const ticks = ready ? procStatTicks(ready.pid) : undefined;
        const list = records.get(message.report.name) ?? [];
        list.push({ report: message.report, from: open.snapshot, to, ticks: ticks !== undefined && open.ticks !== undefined ? ticks - open.ticks : undefined });
        records.set(message.report.name, list);
        open = undefined;
      } else if (message.type === 'error') failed = message.message;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (failed !== undefined || code !== 0) reject(new Error(`the presence gateway failed (exit ${code}): ${failed ?? ''}\nlog: ${logFile}`));
      else resolve();
    });
  });
  const windows: Partial<Record<WindowName, WindowResult>> = {};
  for (const [name, list] of records) {
    const summed = sumBlocks(name, list);
    if (summed) windows[name] = summed;
  }
  return { windows, ready, logFile, settings };
}

// ---- the report ----

export async function runPresence(options: PresenceBenchOptions): Promise<{ result: Record<string, unknown>; exitCode: number }> {
  const { out } = options;
  const built = await loadBuiltPresence();
  if (built.stale.length > 0) out(`WARNING: dist/ is older than ${built.stale.join(', ')}: run "npm run build" (npm run bench does)`);
  const genStarted = performance.now();
  const stream = mongKokShop({ durationMs: options.streamSeconds * 1000, rate: options.rate, seed: options.seed, rosterSize: options.rosterSize });
  const genMs = performance.now() - genStarted;
  const streamRate = stream.adverts.length / options.streamSeconds;
  const result: Record<string, unknown> = {
    options: { streamSeconds: options.streamSeconds, rounds: options.rounds, roundMs: options.roundMs, rosterSize: options.rosterSize, rate: options.rate, windowSeconds: options.windowSeconds, seed: options.seed },
    stream: { adverts: stream.adverts.length, advertsPerSecond: round(streamRate), addresses: stream.addresses, rosteredAdverts: stream.rosteredAdverts, mix: stream.mix, staff: stream.staff, generatedMs: round(genMs) },
  };
  const failures: string[] = [];

  out(`presence: the Mong Kok shop, ${options.streamSeconds} s of air: ${fmt(stream.adverts.length)} adverts (${fmt(streamRate)}/s) from ${fmt(stream.addresses)} addresses; roster of ${stream.roster.length} tags, ${stream.staff.length} of them on air; ${fmt(stream.rosteredAdverts)} adverts (${round((stream.rosteredAdverts / stream.adverts.length) * 100, 1)} %) identify a rostered tag`);
  const mixText = Object.entries(stream.mix)
    .sort(([, a], [, b]) => b.adverts - a.adverts)
    .map(([source, entry]) => `${source} ${round((entry.adverts / stream.adverts.length) * 100, 1)} % (${entry.addresses} addr)`)
    .join(', ');
  out(`          mix: ${mixText}`);
  out('          measured code: the tsc build in dist/; the stream and noble over the fake binding come from test/');
  out();

  // 1. Throughput.
  const part1 = await throughput(built, stream, options);
  failures.push(...part1.failures);
  const byKey = new Map(part1.results.map((item) => [item.key, item]));
  const get = (key: string): VariantResult => byKey.get(key) as VariantResult;
  const perRoundRatio = (ours: string, base: string): number[] => get(ours).rates.map((rate, index) => rate / (get(base).rates[index] as number));
  const ratioText = (values: number[]): string => `${median(values).toFixed(3)} (${Math.min(...values).toFixed(3)}-${Math.max(...values).toFixed(3)})`;
  const oursVsNoble = perRoundRatio('scanner', 'decode-noble');
  const oursVsRaw = perRoundRatio('scanner', 'decode-raw');
  // Our share inside the whole path: (whole path - noble alone), per round, in ns per advert.
  const nsOf = (key: string, index: number): number => 1e9 / (get(key).rates[index] as number);
  const oursInNoble = get('noble-scanner').rates.map((_, index) => nsOf('noble-scanner', index) - nsOf('noble-only', index));
  const ratios = {
    oursOverDecodeNoble: { median: round(median(oursVsNoble), 3), min: round(Math.min(...oursVsNoble), 3), max: round(Math.max(...oursVsNoble), 3) },
    oursOverDecodeRaw: { median: round(median(oursVsRaw), 3), min: round(Math.min(...oursVsRaw), 3), max: round(Math.max(...oursVsRaw), 3) },
    oursNsInsideNoblePath: round(median(oursInNoble), 1),
    nobleShareOfWholePath: round(1 - median(oursInNoble) / get('noble-scanner').nsPerAdvert, 3),
  };
  result.throughput = { variants: part1.results, ratios, paced: part1.paced, cpu: part1.cpu, elapsedS: round(part1.elapsedS, 1) };
  out(`1. Throughput on one core (this process, one thread): ${options.rounds} rounds of ~${options.roundMs} ms per variant, after a 500 ms warm-up each; adverts/s`);
  out(
    table([
      ['', 'median', 'min - max', 'ns/advert', 'by thread CPU time', 'run-queue wait', 'OURS / this, per round'],
      ...part1.results.map((item) => [
        item.label,
        fmt(item.median),
        `${fmt(item.min)} - ${fmt(item.max)}`,
        item.nsPerAdvert.toFixed(0),
        fmt(item.cpuMedian),
        `${item.waitPct} %`,
        item.key === 'decode-noble' ? ratioText(oursVsNoble) : item.key === 'decode-raw' ? ratioText(oursVsRaw) : '',
      ]),
    ]),
  );
  out(`   ours inside the whole path (whole path - noble alone): ${ratios.oursNsInsideNoblePath.toFixed(0)} ns/advert; noble's share of the whole path ${round(ratios.nobleShareOfWholePath * 100)} %`);
  out(`   at ${fmt(options.rate)} adverts/s these medians would take ${round((get('scanner').nsPerAdvert * options.rate) / 1e7, 3)} % of one core (ours) and ${round((get('noble-scanner').nsPerAdvert * options.rate) / 1e7, 3)} % (the whole path): hot-loop figures; part 2 measures the real thing`);
  const pacedOf = (key: string): PacedResult | undefined => part1.paced.find((item) => item.key === key);
  const pacedOurs = pacedOf('scanner');
  const pacedBase = pacedOf('decode-noble');
  if (pacedOurs && pacedBase) {
    out(`   paced like the gateway (${PACED_SIZE} adverts every 10 ms, asleep in between, ${PACED_BATCHES} batches): OURS ${pacedOurs.usPerAdvert.toFixed(2)} µs/advert (first of a batch ${pacedOurs.firstUs.toFixed(1)}, the others ${pacedOurs.restUs.toFixed(2)}), baseline parseNobleAdvertisement ${pacedBase.usPerAdvert.toFixed(2)} µs; against ${(get('scanner').nsPerAdvert / 1000).toFixed(2)} and ${(get('decode-noble').nsPerAdvert / 1000).toFixed(2)} µs in the hot loop`);
  }
  out(`   CPU during part 1: machine ${part1.cpu.machineBusyPct} % busy (all cores = 100 %), this bench ${part1.cpu.oursPct} %, other processes ${part1.cpu.othersPct} %, steal ${part1.cpu.stealPct} %; load average ${part1.cpu.loadAverage1m}`);
  if (part1.cpu.othersPct + part1.cpu.stealPct > 10) out('   WARNING: other processes (or the hypervisor) were busy: the wall-clock rates include their contention; see the CPU-time column');
  out();

  // 2. The gateway at the rate.
  if (options.windowSeconds > 0) {
    const part2 = await gatewayAtRate(options);
    const w = part2.windows;
    const idle = w.idle;
    const full = w.full;
    const nobleOnly = w['noble-only'];
    const feeder = w['feeder-only'];
    if (!idle || !full || !nobleOnly || !feeder || !full.feed || !nobleOnly.feed || !feeder.feed) throw new Error(`the presence gateway reported windows ${Object.keys(w).join(', ')}`);
    const cores = os.cpus().length;
    const pctOfUs = (us: number): number => round((us * options.rate) / 1e4, 2);
    // Synchronous processing per advert, from the batch loops.
    const work = { full: full.feed.workUsPerAdvert, noble: nobleOnly.feed.workUsPerAdvert, feeder: feeder.feed.workUsPerAdvert };
    const feedWorkPct = pctOfUs(work.feeder);
    const gatewayPct = round(full.corePct - feedWorkPct, 2);
    const breakdown = {
      idlePct: idle.corePct,
      wakeupsPct: round(feeder.corePct - idle.corePct - feedWorkPct, 2),
      nobleWorkPct: pctOfUs(work.noble - work.feeder),
      oursWorkPct: pctOfUs(work.full - work.noble),
    };
    const restPct = round(gatewayPct - breakdown.idlePct - breakdown.wakeupsPct - breakdown.nobleWorkPct - breakdown.oursWorkPct, 2);
    const derived = {
      workUsPerAdvert: { full: work.full, nobleAlone: work.noble, feederAlone: work.feeder, noble: round(work.noble - work.feeder, 2), ours: round(work.full - work.noble, 2) },
      feedWorkPct,
      gatewayAtRatePct: gatewayPct,
      gatewayAtRateMachinePct: round(gatewayPct / cores, 2),
      overIdlePct: round(gatewayPct - idle.corePct, 2),
      breakdown: { ...breakdown, restPct },
      byProcessCpu: { oursPct: round(full.corePct - nobleOnly.corePct, 2), noblePct: round(nobleOnly.corePct - feeder.corePct, 2), wakeupsAndFeedingPct: round(feeder.corePct - idle.corePct, 2) },
    };
    result.gatewayAtRate = { settings: part2.settings, ready: part2.ready, windows: w, derived };
    out(`2. The built gateway in a child process (startGateway from dist/, noble over the fake binding), ${fmt(options.rate)} adverts/s in real time, 10 ms batches, hands-free on`);
    out(`   startup ${fmt(part2.ready?.startupMs ?? Number.NaN)} ms; stream of ${fmt(part2.ready?.adverts ?? 0)} adverts from ${fmt(part2.ready?.addresses ?? 0)} addresses; ${part2.settings.rounds} rounds of full ${part2.settings.fullS} s, noble alone ${part2.settings.nobleS} s, feeding loop alone ${part2.settings.feederS} s; log ${part2.logFile}`);
    const row = (label: string, window: WindowResult): string[] => [
      label,
      `${(window.wallMs / 1000).toFixed(1)}`,
      fmt(window.feed ? window.feed.fed / (window.wallMs / 1000) : 0),
      `${window.corePct.toFixed(2)} %`,
      `${(window.corePct / cores).toFixed(2)} %`,
      window.procStatPct !== undefined ? `${window.procStatPct.toFixed(1)} %` : '-',
      window.feed ? window.feed.workUsPerAdvert.toFixed(2) : '-',
      `${window.gcMsPerS.toFixed(2)} (${window.gcCount}${window.gcMajorCount ? `, ${window.gcMajorCount} major` : ''})`,
      window.runQueueWaitMsPerS !== undefined ? window.runQueueWaitMsPerS.toFixed(1) : '-',
      window.feed ? `${window.feed.lagP99Ms} / ${window.feed.lagMaxMs}` : '-',
      `${window.machine.machineBusyPct} / ${window.machine.othersPct} / ${window.machine.stealPct}`,
    ];
    out(
      table([
        ['window', 's', 'adverts/s', 'CPU, % of one core', 'of the machine', '/proc stat', 'in batch loops µs/advert', 'GC pauses ms/s (n)', 'rq wait ms/s', 'timer lag p99 / max ms', 'machine busy / others / steal %'],
        row('idle: scanning, nothing on air', idle),
        row('full: HCI report -> noble -> ours', full),
        row('noble alone (scanner unhooked)', nobleOnly),
        row('feeding loop alone (to nobody)', feeder),
      ]),
    );
    out(
      table([
        ['the gateway at the rate, % of one core', 'value', 'µs per advert'],
        [`gateway at ${fmt(options.rate)} adverts/s = full - the fake's feeding work (${feedWorkPct.toFixed(2)} %)`, `${gatewayPct.toFixed(2)} % = ${derived.gatewayAtRateMachinePct.toFixed(2)} % of the ${cores}-core machine`, ''],
        ['  idle baseline', `${breakdown.idlePct.toFixed(2)} %`, ''],
        ['  wake-ups: 100 batches/s (feeding loop alone - idle - its work)', `${breakdown.wakeupsPct.toFixed(2)} %`, ''],
        ['  noble: gap.js + lib/noble.js (batch loops: noble alone - feeding alone)', `${breakdown.nobleWorkPct.toFixed(2)} %`, derived.workUsPerAdvert.noble.toFixed(2)],
        ['  ours: scanner, classifier, tracker (batch loops: full - noble alone)', `${breakdown.oursWorkPct.toFixed(2)} %`, derived.workUsPerAdvert.ours.toFixed(2)],
        ['  the rest: GC threads, timers, hands-free punches, noise', `${restPct.toFixed(2)} %`, ''],
        ['cross-check by process CPU: ours (full - noble alone) / noble (noble alone - feeding alone)', `${derived.byProcessCpu.oursPct.toFixed(2)} % / ${derived.byProcessCpu.noblePct.toFixed(2)} %`, ''],
      ]),
    );
    const last = full.last;
    const taps = Object.entries(last.taps ?? {}).filter(([, count]) => count > 0).map(([kind, count]) => `${kind} ${count}`).join(', ') || 'none';
    out(`   end of the last full block: scanner ${last.scanner?.state}, ${fmt(last.scanner?.advertsPerSecond ?? 0)} adverts/s seen, ${round(last.scanner?.acceptedPerSecond ?? 0, 1)}/s accepted (its 10 s averages); tracker ${last.tracker ? `${last.tracker.tracked} tags (${last.tracker.present} present)` : '?'}; hands-free clocked in ${last.handsFree?.clockedIn ?? 0}; taps so far: ${taps}; noble's peripheral cache ${last.nobleCache}`);
    if (full.machine.othersPct + full.machine.stealPct > 10 || nobleOnly.machine.othersPct + nobleOnly.machine.stealPct > 10) out('   WARNING: other processes (or the hypervisor) were busy during the measured windows');
    out();
  }
  for (const failure of failures) out(`FAILURE: ${failure}`);
  result.failures = failures;
  return { result, exitCode: failures.length > 0 ? 1 : 0 };
}
