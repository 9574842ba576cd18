/**
 * Child process of the presence bench (test/bench/presence.ts): the built gateway (dist/,
 * startGateway) with noble over the fake binding (test/support/fake-noble-binding.ts), fed the
 * Mong Kok shop's adverts in real time. A child process cannot be handed a noble instance, so this
 * script starts the gateway itself, as bin/punchgate.js would (config file, pino to stdout).
 *
 *   node --import tsx test/bench/presence-gateway.ts --config FILE --rate 2000 --window-s 20 ...
 *
 * Windows, each reported to the parent over IPC (the parent reads machine-wide CPU and this
 * process's /proc stat at each boundary):
 *   idle         the gateway scanning, nothing on air (first, before any advert, after
 *                --settle-s seconds in which start-up's own garbage is collected)
 *   warm-up      adverts at the rate (not a figure)
 *   then --rounds rounds of:
 *   full         adverts at the rate: HCI report -> noble -> scanner -> classifier -> tracker ->
 *                hands-free (and its punches, through the desk into SQLite)
 *   noble-only   the same, with the scanner's `discover` listener taken off noble for the block:
 *                noble (gap.js, lib/noble.js) still parses and emits every report, nobody listens.
 *                Everything else (the scanner's and hands-free's timers) runs on as in `full`.
 *   feeder-only  the same feeding loop, emitting into an emitter nobody listens to
 * Reports are paced in batches: a 10 ms timer emits every advert whose time has come. The time
 * spent inside those batch loops is measured too: it is the synchronous processing of the adverts
 * (for `full`: gap.js, noble, the scanner, the classifier, the tracker, and any scavenge the
 * allocations triggered), without the wake-ups, timers and deferred work around it.
 */
import { EventEmitter } from 'node:events';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { nobleWithFakeBinding } from '../support/fake-noble-binding.js';
import { loadBuiltPresence } from './presence-built.js';
import { mongKokShop, type ShopAdvert } from './presence-shop.js';
import { schedOf, type Sched } from './sched.js';

export type WindowName = 'idle' | 'warm-up' | 'full' | 'noble-only' | 'feeder-only';

export interface FeedStats {
  /** Adverts handed to the sink. */
  fed: number;
  /** Adverts the fake adapter reported (it reports only while scanning). */
  reported: number;
  /** Timer callbacks (wake-ups), and those that emitted adverts. */
  wakeups: number;
  batches: number;
  maxBatch: number;
  /** Wall time inside the batch loops (the adverts' synchronous processing), ms. */
  workMs: number;
  /** How much later than 10 ms after the previous one each timer callback ran, ms: event-loop delay. */
  lagP99Ms: number;
  lagMaxMs: number;
}

export interface WindowReport {
  name: WindowName;
  wallMs: number;
  /** process.cpuUsage() over the window: every thread of this process. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** /proc/self/task/ * /schedstat over the window. */
  sched: Sched | undefined;
  /** The main thread's event-loop utilisation (0-1). */
  eventLoopUtilization: number;
  /** Garbage-collector pauses of the main thread that started in the window. */
  gc: { count: number; ms: number; majorCount: number; majorMs: number };
  feed?: FeedStats;
  /** What the gateway says at the end of the window. */
  scanner?: { state: string; advertsPerSecond: number; acceptedPerSecond: number; tracked: number };
  handsFree?: { enabled: boolean; clockedIn: number };
  taps?: Record<string, number>;
  tracker?: { tracked: number; present: number; refused: number; evicted: number } | undefined;
  /** noble's peripheral cache at the end of the window. */
  nobleCache?: number;
}

export type ChildMessage =
  | { type: 'ready'; pid: number; adverts: number; addresses: number; streamSeconds: number; startupMs: number }
  | { type: 'window-start'; name: WindowName }
  | { type: 'window-end'; report: WindowReport }
  | { type: 'done' }
  | { type: 'error'; message: string };

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) throw new Error('presence-gateway.ts runs as a child of the presence bench (IPC)');
    process.send(message, undefined, {}, () => resolve());
  });
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      config: { type: 'string' },
      seed: { type: 'string', default: '20261124' },
      rate: { type: 'string', default: '2000' },
      'roster-size': { type: 'string', default: '50' },
      'settle-s': { type: 'string', default: '2' },
      'idle-s': { type: 'string', default: '3' },
      'warmup-s': { type: 'string', default: '2' },
      rounds: { type: 'string', default: '5' },
      'full-s': { type: 'string', default: '4' },
      'noble-s': { type: 'string', default: '2' },
      'feeder-s': { type: 'string', default: '1' },
    },
    strict: true,
  });
  if (!values.config) throw new Error('--config FILE is required');
  const rate = Number(values.rate);
  const idleS = Number(values['idle-s']);
  const warmupS = Number(values['warmup-s']);
  const rounds = Math.max(1, Number(values.rounds));
  const fullS = Number(values['full-s']);
  const nobleS = Number(values['noble-s']);
  const feederS = Number(values['feeder-s']);
  const started = performance.now();

  const gcs: Array<{ at: number; ms: number; major: boolean }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // detail.kind: 1 scavenge (minor), 2 mark-compact (major), 4 incremental marking, 8 weak callbacks.
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      gcs.push({ at: entry.startTime, ms: entry.duration, major: kind === 2 });
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  const built = await loadBuiltPresence();
  const config = await built.configFile.loadGatewayConfig(values.config);
  // Air for every second that is fed (adverts are taken in order, by count); the staff walk in and
  // out over the rounds.
  const fedSeconds = warmupS + rounds * (fullS + nobleS + feederS);
  const streamSeconds = fedSeconds + 2;
  const stream = mongKokShop({ durationMs: streamSeconds * 1000, rate, seed: Number(values.seed), rosterSize: Number(values['roster-size']), walkFrom: warmupS * 1000, walkTo: fedSeconds * 1000 });
  const adverts = stream.adverts;

  const logger = pino({ level: config.log.level, base: { deviceId: config.deviceId } }, process.stdout);
  const fake = nobleWithFakeBinding('poweredOn');
  // The fake binding's HCI emitter: reports go in as the Linux binding's hci.js emits them, the
  // advertising data already a Buffer (as read from the socket), through noble's own gap.js.
  const hci = (fake.binding as unknown as { hci: EventEmitter }).hci;
  const gateway = await built.main.startGateway(config, logger, { presence: { noble: fake.noble } });
  for (let waited = 0; gateway.presence.status().scanner.state !== 'scanning'; waited += 10) {
    if (waited > 10_000) throw new Error(`the scanner did not start: ${JSON.stringify(gateway.presence.status().scanner)}`);
    await sleep(10);
  }
  await send({ type: 'ready', pid: process.pid, adverts: adverts.length, addresses: stream.addresses, streamSeconds, startupMs: Math.round(performance.now() - started) });

  // Adverts of the air stream, in order, across all windows (feeder-only takes its share too, so
  // the staff's walks keep to the wall clock).
  let cursor = 0;
  const feed = (seconds: number, sink: (advert: ShopAdvert) => boolean): Promise<FeedStats> =>
    new Promise((resolve) => {
      const total = Math.round(seconds * rate);
      const t0 = performance.now();
      let previous = t0;
      let sent = 0;
      let reported = 0;
      let wakeups = 0;
      let batches = 0;
      let maxBatch = 0;
      let workMs = 0;
      const lag: number[] = [];
      const timer = setInterval(() => {
        const now = performance.now();
        wakeups += 1;
        lag.push(Math.max(0, now - previous - 10));
        previous = now;
        const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000));
        if (due > sent) {
          batches += 1;
          maxBatch = Math.max(maxBatch, due - sent);
          const w0 = performance.now();
          while (sent < due) {
            if (sink(adverts[cursor % adverts.length] as ShopAdvert)) reported += 1;
            cursor += 1;
            sent += 1;
          }
          workMs += performance.now() - w0;
        }
        if (sent >= total) {
          clearInterval(timer);
          lag.sort((a, b) => a - b);
          resolve({ fed: sent, reported, wakeups, batches, maxBatch, workMs: round2(workMs), lagP99Ms: round2(quantile(lag, 0.99)), lagMaxMs: round2(lag.at(-1) ?? 0) });
        }
      }, 10);
    });
  const toNoble = (advert: ShopAdvert): boolean => {
    // A real adapter reports only while scanning.
    if (!fake.binding.isScanning) return false;
    hci.emit('leAdvertisingReport', 0, advert.eventType, advert.address, advert.addressType, advert.eir, advert.rssi);
    return true;
  };
  const nobody = new EventEmitter();
  const toNobody = (advert: ShopAdvert): boolean => nobody.emit('leAdvertisingReport', 0, advert.eventType, advert.address, advert.addressType, advert.eir, advert.rssi);
  const nobleCache = (): number => Object.keys((fake.noble as unknown as { _peripherals: Record<string, unknown> })._peripherals).length;

  const window = async (name: WindowName, run: () => Promise<FeedStats | undefined>): Promise<void> => {
    await send({ type: 'window-start', name });
    const cpu0 = process.cpuUsage();
    const sched0 = schedOf(process.pid);
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    const stats = await run();
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const sched1 = schedOf(process.pid);
    const elu = performance.eventLoopUtilization(elu0);
    // GC entries are delivered after the pause: let the observer catch up (outside the window).
    await sleep(1);
    const inWindow = gcs.filter((gc) => gc.at >= t0 && gc.at < t1);
    const status = gateway.presence.status();
    const scanner = status.scanner as Record<string, unknown>;
    const health = await gateway.health();
    // The tracker is private to Presence; read its counters for the report only.
    const trackerStats = (gateway.presence as unknown as { tracker?: { stats(): { tracked: number; present: number; refused: number; evicted: number } } }).tracker?.stats();
    const report: WindowReport = {
      name,
      wallMs: Math.round(t1 - t0),
      cpuUserMs: Math.round(cpu.user / 100) / 10,
      cpuSystemMs: Math.round(cpu.system / 100) / 10,
      sched: sched0 && sched1 ? { cpuNs: sched1.cpuNs - sched0.cpuNs, waitNs: sched1.waitNs - sched0.waitNs, slices: sched1.slices - sched0.slices } : undefined,
      eventLoopUtilization: Math.round(elu.utilization * 1000) / 1000,
      gc: {
        count: inWindow.length,
        ms: round2(inWindow.reduce((sum, gc) => sum + gc.ms, 0)),
        majorCount: inWindow.filter((gc) => gc.major).length,
        majorMs: round2(inWindow.filter((gc) => gc.major).reduce((sum, gc) => sum + gc.ms, 0)),
      },
      ...(stats ? { feed: stats } : {}),
      scanner: { state: status.scanner.state, advertsPerSecond: Number(scanner.advertsPerSecond ?? 0), acceptedPerSecond: Number(scanner.acceptedPerSecond ?? 0), tracked: Number(scanner.tracked ?? 0) },
      handsFree: status.handsFree,
      taps: health.taps,
      tracker: trackerStats,
      nobleCache: nobleCache(),
    };
    await send({ type: 'window-end', report });
  };

  await sleep(Number(values['settle-s']) * 1000);
  await window('idle', async () => {
    await sleep(idleS * 1000);
    return undefined;
  });
  await window('warm-up', () => feed(warmupS, toNoble));
  const nobleEvents = fake.noble as unknown as EventEmitter;
  for (let round = 0; round < rounds; round += 1) {
    await window('full', () => feed(fullS, toNoble));
    // The scanner's listener off noble: noble parses and emits each report to nobody.
    const listeners = nobleEvents.listeners('discover') as Array<(...args: unknown[]) => void>;
    if (listeners.length !== 1) throw new Error(`expected the scanner's one discover listener on noble, found ${listeners.length}`);
    for (const listener of listeners) nobleEvents.removeListener('discover', listener);
    await window('noble-only', () => feed(nobleS, toNoble));
    for (const listener of listeners) nobleEvents.on('discover', listener);
    await window('feeder-only', () => feed(feederS, toNobody));
  }
  observer.disconnect();
  await gateway.stop();
  await send({ type: 'done' });
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    await send({ type: 'error', message: (error as Error).stack ?? String(error) }).catch(() => undefined);
    process.exit(1);
  },
);
