import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import sqlite3 from 'sqlite3';
import { credentialKey, normalizeCredential, type CardRead } from '../../core/credential.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { PassiveReaderSimulator } from '../../firmware-bridge/simulators/passive-reader-sim.js';
import { PtyPair } from '../support/pty-pair.js';
import { cpuSnapshot, cpuUse, type CpuUse } from './cpu-load.js';
import { LogTail, launchGateway, waitForHealth, type GatewayMode, type HealthView } from './gateway-process.js';
import { em4100Cards, writeGatewaySetup } from './setup.js';

export interface BurstResult {
  mode: GatewayMode;
  readers: number;
  cardsPerReader: number;
  expected: number;
  /** Rows in gateway.sqlite's punches table after the gateway stopped. */
  committed: number;
  /** Expected cards with no row (first 20). */
  missing: string[];
  missingCount: number;
  /** Tap outcomes the gateway logged, by result. */
  outcomes: Record<string, number>;
  readsDecoded: number;
  badFrames: number;
  /** First byte written -> last commit (the pino time of the last tap log line, 1 ms resolution). */
  elapsedMs: number;
  /** First byte written -> every simulator's last frame drained. */
  writesDoneMs: number;
  punchesPerSecond: number;
  /** Distinct punch timestamps: a lower bound of the desk's commit transactions (one `at` per batch). */
  batchesAtLeast: number;
  cpu: CpuUse;
}

const silent = pino({ level: 'silent' });

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

async function committedKeys(file: string): Promise<{ keys: string[]; batches: number }> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const handle = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (error) => (error ? reject(error) : resolve(handle)));
  });
  try {
    const all = <T>(sql: string): Promise<T[]> => new Promise((resolve, reject) => db.all(sql, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve(rows))));
    const rows = await all<{ credential_key: string }>('SELECT credential_key FROM punches ORDER BY seq');
    const [batches] = await all<{ n: number }>('SELECT count(DISTINCT at) AS n FROM punches');
    return { keys: rows.map((row) => row.credential_key), batches: batches?.n ?? 0 };
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/**
 * `readers` RDM6300 readers (stx-etx framing, so back-to-back frames decode) on their own socat
 * pty pairs, all in one gateway config; each simulator writes `cardsPerReader` distinct rostered
 * cards back to back (each frame as soon as the previous one drained), all readers at once.
 */
export async function measureBurst(options: { workDir: string; dataDir: string; mode: GatewayMode; readers: number; cardsPerReader: number }): Promise<BurstResult> {
  const { mode, readers, cardsPerReader } = options;
  const expected = readers * cardsPerReader;
  const pairs: PtyPair[] = [];
  const cards = em4100Cards(expected, 0x10000000);
  const perReader: CardRead[][] = Array.from({ length: readers }, (_, reader) => cards.slice(reader * cardsPerReader, (reader + 1) * cardsPerReader));
  const { setup, gateway } = await (async () => {
    for (let index = 0; index < readers; index += 1) {
      const dir = path.join(options.workDir, `pty-burst-${mode}-${index + 1}`);
      await mkdir(dir, { recursive: true });
      pairs.push(await PtyPair.create(dir));
    }
    const setup = await writeGatewaySetup({
      dir: path.join(options.workDir, `gateway-burst-${mode}`),
      dataDir: options.dataDir,
      cards,
      readers: pairs.map((pair, index) => ({ id: `r${String(index + 1).padStart(2, '0')}`, path: pair.a, protocol: 'rdm6300' })),
      debounceSeconds: 60,
    });
    const gateway = await launchGateway({ mode, configFile: setup.configFile, url: setup.url, logFile: setup.logFile });
    return { setup, gateway };
  })().catch(async (error: unknown) => {
    for (const pair of pairs) await pair.close();
    throw error;
  });
  const links = pairs.map((pair) => new SerialLink({ path: pair.b, baudRate: 9600, logger: silent }));
  let stopped = false;
  try {
    for (const link of links) await link.start();
    await waitForHealth(gateway.url, (health) => health.readers.length === readers && health.readers.every((reader) => reader.state === 'ready'));
    const sims = links.map((port) => new PassiveReaderSimulator({ protocol: 'rdm6300', port }));
    const tail = new LogTail(setup.logFile);
    tail.read();

    const outcomes: Record<string, number> = {};
    let seen = 0;
    let lastCommitEpoch = Number.NaN;
    const collect = (): void => {
      for (const record of tail.read()) {
        if (record.msg !== 'tap' && record.msg !== 'tap failed') continue;
        const result = typeof record.result === 'string' ? record.result : 'error';
        outcomes[result] = (outcomes[result] ?? 0) + 1;
        seen += 1;
        if (typeof record.time === 'number') lastCommitEpoch = Number.isFinite(lastCommitEpoch) ? Math.max(lastCommitEpoch, record.time) : record.time;
      }
    };

    const cpuAtStart = cpuSnapshot();
    const startEpoch = epochNow();
    let writesDoneEpoch = Number.NaN;
    const writing = Promise.all(
      sims.map(async (sim, index) => {
        for (const card of perReader[index] ?? []) await sim.tap(card);
      }),
    ).then(() => (writesDoneEpoch = epochNow()));

    // Done when every tap has an outcome, or when nothing new happened for 5 s after the writes.
    let lastProgress = Date.now();
    for (;;) {
      await sleep(20);
      const before = seen;
      collect();
      if (seen !== before) lastProgress = Date.now();
      if (seen >= expected) break;
      if (Number.isFinite(writesDoneEpoch) && Date.now() - lastProgress > 5000) break;
    }
    await writing;
    const cpu = cpuUse(cpuAtStart, cpuSnapshot());
    await sleep(200);
    collect();
    const health: HealthView = await (await fetch(`${gateway.url}/health`)).json() as HealthView;
    await gateway.stop();
    stopped = true;

    const { keys, batches } = await committedKeys(path.join(setup.dataDir, 'gateway.sqlite'));
    const have = new Set(keys);
    const missing = cards.map((card) => credentialKey(normalizeCredential(card))).filter((key) => !have.has(key));
    const elapsedMs = lastCommitEpoch - startEpoch;
    return {
      mode,
      readers,
      cardsPerReader,
      expected,
      committed: keys.length,
      missing: missing.slice(0, 20),
      missingCount: missing.length,
      outcomes,
      readsDecoded: health.readers.reduce((sum, reader) => sum + reader.reads, 0),
      badFrames: health.readers.reduce((sum, reader) => sum + reader.badFrames, 0),
      elapsedMs,
      writesDoneMs: writesDoneEpoch - startEpoch,
      punchesPerSecond: keys.length / (elapsedMs / 1000),
      batchesAtLeast: batches,
      cpu,
    };
  } finally {
    for (const link of links) await link.stop();
    if (!stopped) await gateway.stop().catch(() => undefined);
    for (const pair of pairs) await pair.close();
  }
}
