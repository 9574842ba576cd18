/**
 * The store-and-forward bench (part of `npm run bench`, see docs/benchmarks.md): a gateway's
 * outbox drained through a real Mosquitto into the dashboard's central database, against raw
 * baselines measured in the same run; mqtt.js's own offline queue; 50 gateways at once; the
 * gateway's memory over a big backlog.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import sqlite3 from 'sqlite3';
import { deviceTopic } from '../../core/topics.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { centralMigrations } from '../../dashboard/db/migrations.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { GatewayConfig } from '../../gateway/config.js';
import { Store } from '../../gateway/store/store.js';
import { hashDeviceSecret } from '../../provisioning/device-secrets.js';
import { mosquittoAclFile } from '../../provisioning/mosquitto.js';
import { repoRoot } from '../support/cli.js';
import { MosquittoBroker } from '../support/mosquitto.js';
import { queryRows, rssBytes } from '../support/uplink-fixtures.js';
import { cpuSnapshot, cpuUse, type CpuUse } from './cpu-load.js';
import { launchGateway } from './gateway-process.js';
import { table } from './stats.js';
import { freePort } from '../support/ports.js';

export interface StoreAndForwardOptions {
  /** Parent of the SQLite files (the bench's --dir). */
  dataRoot: string;
  /** Logs and configs. */
  workDir: string;
  /** Backlog drained in part 1 (default 100,000). */
  punches: number;
  /** Part 1's second batch setting. */
  bigBatch: { maxPunches: number; inFlight: number; maxBytes: number };
  /** Messages queued by the naive peer in part 2 (default 10,000). */
  naive: number;
  /** Part 3: gateways, and punches each one sends. */
  gateways: number;
  perGateway: number;
  /** Part 4: backlog, and how long to drain it while sampling RSS (0 = until drained). */
  memoryBacklog: number;
  memorySeconds: number;
  /** Run the part-1 gateways under node --cpu-prof, profiles into this dir. */
  profileDir?: string;
  out: (line?: string) => void;
}

/** The gateway's defaults (gateway/config.ts). */
/** The gateway's own default batch setting, as its config schema fills it in. */
const DEFAULT_BATCH = (() => {
  const { maxPunches, maxBytes, inFlight } = GatewayConfig.parse({ deviceId: 'x', siteId: 'y', dataDir: '.', mqtt: { url: 'mqtt://x' } }).mqtt?.batch ?? { maxPunches: 0, maxBytes: 0, inFlight: 0 };
  return { maxPunches, maxBytes, inFlight };
})();
const DASHBOARD_USER = 'dashboard';
const RAW_USER = 'benchraw';
const SECRET = 'bench-secret-0123456789';
const DRAIN_DEVICE = 'bench-gw';

const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;
const rate = (count: number, ms: number): number => round(count / (ms / 1000));
const fmt = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');
const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);

function fleetId(index: number): string {
  return `fleet-${String(index + 1).padStart(2, '0')}`;
}

function open(file: string, mode = sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, mode, (error) => (error ? reject(error) : resolve(db)));
  });
}
const exec = (db: sqlite3.Database, sql: string): Promise<void> => new Promise((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
const runSql = (db: sqlite3.Database, sql: string, params: unknown[]): Promise<void> =>
  new Promise((resolve, reject) => db.run(sql, params, (error: Error | null) => (error ? reject(error) : resolve())));
const closeDb = (db: sqlite3.Database): Promise<void> => new Promise((resolve) => db.close(() => resolve()));

/**
 * A seeded outbox: `count` pending punches in gateway.sqlite in one statement, as
 * test/support/uplink-fixtures.ts `bulkPending` (used by uplink-backlog.test.ts) does it, but
 * dated two days ago. bulkPending dates them 2026-11-23T00:59Z; on a clock before that they lie in
 * the future, and the gateway's start-up (PunchDesk seeding its debounce window with
 * `outbox.since(now - window)`) then loads every one of them into memory.
 */
async function seedOutbox(dataDir: string, count: number, deviceId: string): Promise<number> {
  const started = performance.now();
  const store = await Store.open({ dataDir, synchronous: 'off', logger: pino({ level: 'silent' }) });
  const at = new Date(Date.now() - 2 * 86_400_000);
  at.setUTCSeconds(0, 0);
  const atIso = at.toISOString();
  const id = "printf('%08x-0000-7000-8000-%012x', i, i)";
  try {
    await store.db.transaction(async () => {
      await store.db.run(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO punches (seq, id, credential_key, employee_id, at, local_day, direction, body, clock_synced, boot_id, mono_ms)
         SELECT i, ${id}, printf('em4100:%08X', i), NULL, ?, ?, 'auto',
           json_object('id', ${id}, 'deviceId', ?, 'siteId', 'mk-01', 'credential', json_object('kind', 'em4100', 'uid', printf('%08X', i)),
             'employeeId', NULL, 'at', ?, 'clock', json_object('synced', json('true')),
             'method', 'badge', 'direction', 'auto', 'seq', i),
           1, 'seed-boot', i
         FROM n`,
        [count, atIso, atIso.slice(0, 10), deviceId, atIso],
      );
    });
  } finally {
    await store.close();
  }
  return performance.now() - started;
}

/** A dashboard on Mosquitto (external mode), or with its embedded Aedes broker (`broker` undefined). */
async function startBenchDashboard(dir: string, broker: MosquittoBroker | undefined, devices: string[], logger: Logger): Promise<Dashboard> {
  const config = DashboardConfig.parse({
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    apiToken: 'bench-api-token-0123456789',
    mqtt: broker ? { mode: 'external', url: broker.url, username: DASHBOARD_USER, password: SECRET } : { mode: 'embedded', host: '127.0.0.1', port: 0 },
    log: { level: 'warn' },
  });
  const dashboard = await startDashboard(config, logger);
  const createdAt = new Date().toISOString();
  // With Mosquitto the broker checks the passwords; Aedes checks them against the registry (scrypt).
  const secretHash = broker ? 'checked-by-mosquitto' : await hashDeviceSecret(SECRET);
  for (const id of devices) await dashboard.devices.register({ id, siteId: 'mk-01', secretHash, createdAt });
  return dashboard;
}

export interface DrainResult {
  label: string;
  punches: number;
  batch: { maxPunches: number; inFlight: number; maxBytes: number };
  seedMs: number;
  /** Gateway spawned -> its HTTP answers. */
  startupMs: number;
  /** Gateway spawned -> the last punch's acked_at in gateway.sqlite (the headline). */
  totalMs: number;
  /** First punch stored centrally (received_at) -> last acked_at. */
  drainMs: number;
  /** Gateway spawned -> its first status message reached the broker's other side (it is connected). */
  connectedMs: number;
  /** Connected -> last acked_at: the drain without the process start-up. */
  fromConnectMs: number;
  fromConnectPunchesPerSecond: number;
  punchesPerSecond: number;
  drainPunchesPerSecond: number;
  acked: number;
  central: number;
  rss: { startMb: number; peakMb: number; lastMb: number; samples: Array<[number, number]> };
  cpu: CpuUse;
  /** Set when the drain was stopped by the time box before it finished. */
  timeBoxed?: boolean;
}

/**
 * Seeds `count` pending punches, starts a fresh dashboard (external mode, on Mosquitto) and the
 * built gateway as a child process, and waits until no punch is pending in gateway.sqlite.
 */
async function drainRun(options: {
  label: string;
  root: string;
  broker: MosquittoBroker;
  count: number;
  batch: { maxPunches: number; inFlight: number; maxBytes: number };
  logger: Logger;
  /** Stop after this long (RSS sampling of a huge backlog); 0 = until drained. */
  timeBoxMs?: number;
  /** Extra node flags for the gateway (--cpu-prof). */
  nodeArgs?: string[];
  /** Hands over the seeded rows (for the baselines) before the gateway starts. */
  beforeStart?: (gatewayFile: string) => Promise<void>;
}): Promise<DrainResult> {
  const { root, count, batch, broker } = options;
  const dataDir = path.join(root, 'gateway');
  await mkdir(dataDir, { recursive: true });
  const seedMs = await seedOutbox(dataDir, count, DRAIN_DEVICE);
  const gatewayFile = path.join(dataDir, 'gateway.sqlite');
  if (options.beforeStart) await options.beforeStart(gatewayFile);
  const dashboard = await startBenchDashboard(path.join(root, 'dashboard'), broker, [DRAIN_DEVICE], options.logger);
  const port = await freePort();
  const configFile = path.join(root, 'gateway.json');
  await writeFile(
    configFile,
    JSON.stringify({
      deviceId: DRAIN_DEVICE,
      siteId: 'mk-01',
      dataDir,
      http: { host: '127.0.0.1', port },
      mqtt: { url: broker.url, password: SECRET, batch: { ...batch, ackTimeoutSeconds: 30 } },
      retention: { maxPending: 10_000_000, minFreeMegabytes: 0 },
      clock: { syncCommand: null },
      storage: { synchronous: 'full' },
      log: { level: 'warn' },
    }),
  );
  // Sees the gateway's `online` status, published on connect: when the gateway is connected.
  const observer = await mqtt.connectAsync(broker.url, { username: DASHBOARD_USER, password: SECRET, clientId: `bench-observer-${Date.now()}`, clean: true, reconnectPeriod: 0, protocolVersion: 4 });
  let connectedAt = Number.NaN;
  observer.on('message', (_topic, payload) => {
    if (Number.isNaN(connectedAt) && payload.toString().includes('"online":true')) connectedAt = Date.now();
  });
  await observer.subscribeAsync(deviceTopic(DRAIN_DEVICE, 'status'), { qos: 0 });
  const cpuAtStart = cpuSnapshot();
  const spawnedAt = Date.now();
  const gateway = await launchGateway({ mode: 'child', configFile, url: `http://127.0.0.1:${port}`, logFile: path.join(root, 'gateway.log'), timeoutMs: 60_000, ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}) });
  const startupMs = Date.now() - spawnedAt;
  const pid = gateway.pid as number;
  const samples: Array<[number, number]> = [];
  let timeBoxed = false;
  let cpu: CpuUse | undefined;
  try {
    const reader = await open(gatewayFile, sqlite3.OPEN_READONLY);
    try {
      const pending = (): Promise<number> =>
        new Promise((resolve, reject) => reader.get("SELECT count(*) AS n FROM punches WHERE state = 'pending'", (error: Error | null, row: { n: number }) => (error ? reject(error) : resolve(row.n))));
      let lastPending = count;
      let lastProgress = Date.now();
      for (;;) {
        samples.push([Date.now() - spawnedAt, await rssBytes(pid)]);
        // Counting pending rows scans the gateway's state index and holds a WAL read snapshot:
        // do it only once the in-process dashboard has stored everything, not every 100 ms.
        const left = dashboard.ingest.counters.accepted < count ? count - dashboard.ingest.counters.accepted : await pending();
        if (left === 0) break;
        if (left !== lastPending) (lastPending = left), (lastProgress = Date.now());
        if (options.timeBoxMs && Date.now() - spawnedAt > options.timeBoxMs) {
          timeBoxed = true;
          break;
        }
        if (Date.now() - lastProgress > 30_000) throw new Error(`${options.label}: the drain made no progress for 30 s (${left} pending); see ${path.join(root, 'gateway.log')}`);
        await sleep(100);
      }
    } finally {
      await closeDb(reader);
    }
    cpu = cpuUse(cpuAtStart, cpuSnapshot());
  } finally {
    await gateway.stop();
  }
  const [acks] = await queryRows<{ n: number; last: string | null }>(gatewayFile, "SELECT count(*) AS n, max(acked_at) AS last FROM punches WHERE state = 'acked'");
  const [central] = await queryRows<{ n: number; first: string | null }>(path.join(root, 'dashboard', 'dashboard.sqlite'), 'SELECT count(*) AS n, min(received_at) AS first FROM punches');
  await dashboard.stop();
  await observer.endAsync();
  const lastAck = Date.parse(acks?.last ?? '');
  const firstStored = Date.parse(central?.first ?? '');
  const acked = acks?.n ?? 0;
  const totalMs = lastAck - spawnedAt;
  const drainMs = lastAck - firstStored;
  const rss = samples.map(([, bytes]) => bytes);
  return {
    label: options.label,
    punches: count,
    batch,
    seedMs: round(seedMs),
    startupMs,
    totalMs,
    drainMs,
    punchesPerSecond: rate(acked, totalMs),
    drainPunchesPerSecond: rate(acked, drainMs),
    connectedMs: connectedAt - spawnedAt,
    fromConnectMs: lastAck - connectedAt,
    fromConnectPunchesPerSecond: rate(acked, lastAck - connectedAt),
    acked,
    central: central?.n ?? 0,
    rss: { startMb: mb(rss[0] ?? 0), peakMb: mb(Math.max(...rss)), lastMb: mb(rss.at(-1) ?? 0), samples: samples.map(([at, bytes]) => [at, mb(bytes)]) },
    cpu: cpu as CpuUse,
    ...(timeBoxed ? { timeBoxed } : {}),
  };
}

/** The payloads the gateway would build: `{"batchId","deviceId","punches":[...]}`, maxPunches each. */
function batchPayloads(bodies: readonly string[], maxPunches: number, deviceId: string): Buffer[] {
  const payloads: Buffer[] = [];
  for (let start = 0; start < bodies.length; start += maxPunches) {
    const batchId = `0000${String(start).padStart(4, '0')}-0000-7000-8000-000000000000`;
    payloads.push(Buffer.from(`{"batchId":"${batchId}","deviceId":"${deviceId}","punches":[${bodies.slice(start, start + maxPunches).join(',')}]}`));
  }
  return payloads;
}

async function connect(url: string, username: string, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { username, password: SECRET, clientId, clean: true, reconnectPeriod: 0, protocolVersion: 4 });
}

/** Resolves when `client` has received `count` messages; the time of the last one (performance.now()). */
function countMessages(client: MqttClient, count: number, timeoutMs: number): { done: Promise<number>; received: () => number } {
  let received = 0;
  const done = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received} of ${count} messages arrived within ${timeoutMs} ms`)), timeoutMs);
    client.on('message', () => {
      received += 1;
      if (received === count) {
        clearTimeout(timer);
        resolve(performance.now());
      }
    });
  });
  return { done, received: () => received };
}

/** Baseline (a): the same batch payloads, QoS 1, published by plain mqtt.js to a subscriber on the same Mosquitto; no database anywhere. */
async function rawMqtt(broker: MosquittoBroker, payloads: readonly Buffer[], punches: number): Promise<{ ms: number; punchesPerSecond: number; messages: number; bytes: number }> {
  const topic = `bench/raw/${Date.now()}`;
  const subscriber = await connect(broker.url, RAW_USER, `bench-raw-sub-${Date.now()}`);
  const publisher = await connect(broker.url, RAW_USER, `bench-raw-pub-${Date.now()}`);
  try {
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const counted = countMessages(subscriber, payloads.length, 120_000);
    const started = performance.now();
    const acked = Promise.all(payloads.map((payload) => publisher.publishAsync(topic, payload, { qos: 1 })));
    const [lastArrival] = await Promise.all([counted.done, acked]);
    const ms = Math.max(lastArrival, performance.now()) - started;
    return { ms, punchesPerSecond: rate(punches, ms), messages: payloads.length, bytes: payloads.reduce((sum, payload) => sum + payload.length, 0) };
  } finally {
    await publisher.endAsync();
    await subscriber.endAsync();
  }
}

const CENTRAL_COLUMNS = ['id', 'device_id', 'site_id', 'employee_id', 'credential_kind', 'credential_uid', 'at', 'direction', 'method', 'seq', 'clock_synced', 'body', 'received_at'];

/**
 * Baseline (b): the punches inserted with the sqlite3 module into an empty file with the central
 * schema (WAL, synchronous=FULL, as the dashboard opens it), one transaction per batch, multi-row
 * INSERTs of up to 1000 rows: the fastest way node-sqlite3 offers. No MQTT, no validation.
 */
async function rawSqlite(dir: string, bodies: readonly string[], perTransaction: number): Promise<{ ms: number; punchesPerSecond: number; transactions: number }> {
  const file = path.join(dir, `raw-central-${perTransaction}.sqlite`);
  const db = await open(file);
  try {
    await exec(db, 'PRAGMA journal_mode = WAL');
    await exec(db, 'PRAGMA synchronous = FULL');
    await exec(db, centralMigrations[0] ?? '');
    const receivedAt = new Date().toISOString();
    const rows = bodies.map((body) => {
      const punch = JSON.parse(body) as { id: string; deviceId: string; siteId: string; employeeId: string | null; credential: { kind: string; uid: string }; at: string; direction: string; method: string; seq: number; clock: { synced: boolean } };
      return [punch.id, punch.deviceId, punch.siteId, punch.employeeId, punch.credential.kind, punch.credential.uid, punch.at, punch.direction, punch.method, punch.seq, punch.clock.synced ? 1 : 0, body, receivedAt];
    });
    const rowSql = `(${CENTRAL_COLUMNS.map(() => '?').join(', ')})`;
    let transactions = 0;
    const started = performance.now();
    for (let start = 0; start < rows.length; start += perTransaction) {
      const batch = rows.slice(start, start + perTransaction);
      await exec(db, 'BEGIN IMMEDIATE');
      for (let at = 0; at < batch.length; at += 1000) {
        const chunk = batch.slice(at, at + 1000);
        await runSql(db, `INSERT INTO punches (${CENTRAL_COLUMNS.join(', ')}) VALUES ${chunk.map(() => rowSql).join(', ')}`, chunk.flat());
      }
      await exec(db, 'COMMIT');
      transactions += 1;
    }
    const ms = performance.now() - started;
    return { ms, punchesPerSecond: rate(rows.length, ms), transactions };
  } finally {
    await closeDb(db);
    for (const suffix of ['', '-wal', '-shm']) await rm(file + suffix, { force: true });
  }
}

const naivePeerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'naive-peer.mjs');

function startNaivePeer(broker: MosquittoBroker, clientId: string, topic: string, count: number): { child: ChildProcess; waitFor: (text: string) => Promise<void> } {
  const child = spawn(process.execPath, [naivePeerScript, broker.url, RAW_USER, SECRET, clientId, topic, String(count)], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const waitFor = async (text: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!output.includes(text)) {
      if (child.exitCode !== null) throw new Error(`the naive peer exited (${child.exitCode}) before "${text}"`);
      if (Date.now() > deadline) throw new Error(`the naive peer did not print "${text}" within 20 s`);
      await sleep(10);
    }
  };
  return { child, waitFor };
}

async function endChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

/** (i) what mqtt.js's in-memory offline queue keeps across a restart of the client process. */
async function naiveRestart(broker: MosquittoBroker, count: number): Promise<{ queued: number; arrived: number }> {
  const topic = `bench/naive-restart/${Date.now()}`;
  const clientId = `bench-naive-${Date.now()}`;
  const subscriber = await connect(broker.url, RAW_USER, `bench-naive-sub-${Date.now()}`);
  try {
    await subscriber.subscribeAsync(topic, { qos: 1 });
    let arrived = 0;
    subscriber.on('message', () => (arrived += 1));
    // Broker unreachable for the client (never connected): it queues in memory, then its process restarts.
    const first = startNaivePeer(broker, clientId, topic, count);
    await first.waitFor('queued');
    await endChild(first.child);
    const second = startNaivePeer(broker, clientId, topic, 0);
    try {
      await second.waitFor('queued');
      second.child.stdin?.write('connect\n');
      await second.waitFor('connected');
      await sleep(2000);
    } finally {
      await endChild(second.child);
    }
    return { queued: count, arrived };
  } finally {
    await subscriber.endAsync();
  }
}

/** (ii) mqtt.js replaying its offline queue after it connects: N QoS 1 messages of one punch each. */
async function naiveReplay(broker: MosquittoBroker, bodies: readonly string[]): Promise<{ messages: number; ms: number; perSecond: number }> {
  const topic = `bench/naive-replay/${Date.now()}`;
  const subscriber = await connect(broker.url, RAW_USER, `bench-replay-sub-${Date.now()}`);
  const client = mqtt.connect(broker.url, { username: RAW_USER, password: SECRET, clientId: `bench-replay-${Date.now()}`, clean: true, manualConnect: true, reconnectPeriod: 200, protocolVersion: 4 });
  try {
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const counted = countMessages(subscriber, bodies.length, 240_000);
    bodies.forEach((body, index) => client.publish(topic, `{"batchId":"00000000-0000-7000-8000-${String(index).padStart(12, '0')}","deviceId":"${DRAIN_DEVICE}","punches":[${body}]}`, { qos: 1 }));
    const connected = new Promise<number>((resolve) => client.once('connect', () => resolve(performance.now())));
    const started = performance.now();
    client.connect();
    await connected;
    const last = await counted.done;
    const ms = last - started;
    return { messages: bodies.length, ms, perSecond: rate(bodies.length, ms) };
  } finally {
    await client.endAsync(true);
    await subscriber.endAsync();
  }
}

export interface FleetResult {
  broker: 'mosquitto' | 'aedes (embedded)';
  gateways: number;
  perGateway: number;
  punches: number;
  batch: { maxPunches: number; inFlight: number };
  connectMs: number;
  ms: number;
  punchesPerSecond: number;
  acked: number;
  central: number;
  cpu: CpuUse;
}

/**
 * 50 simulated gateways in this process: each an mqtt.js client with its own device credentials,
 * publishing PunchBatches of the uplink's default size at QoS 1, at most `inFlight` without an
 * ack, a batch done only when the dashboard's PunchAck arrives, like the real drain.
 */
type FleetBatch = { batchId: string; payload: Buffer; bodies: string[] };

/** Each simulated gateway's batches: ids UUIDv7-shaped, unique across the fleet. */
function fleetBatches(gateways: number, perGateway: number): FleetBatch[][] {
  const { maxPunches } = DEFAULT_BATCH;
  return Array.from({ length: gateways }, (_, device) => {
    const id = fleetId(device);
    const bodies: string[] = [];
    for (let index = 1; index <= perGateway; index += 1) {
      const punchId = `${index.toString(16).padStart(8, '0')}-00${device.toString(16).padStart(2, '0')}-7000-8000-${index.toString(16).padStart(12, '0')}`;
      bodies.push(
        JSON.stringify({
          id: punchId,
          deviceId: id,
          siteId: 'mk-01',
          credential: { kind: 'em4100', uid: index.toString(16).toUpperCase().padStart(8, '0') },
          employeeId: null,
          at: '2026-11-23T00:59:00.000Z',
          clock: { synced: true },
          method: 'badge',
          direction: 'auto',
          seq: index,
        }),
      );
    }
    const batches: FleetBatch[] = [];
    for (let start = 0; start < bodies.length; start += maxPunches) {
      const batchId = `${device.toString(16).padStart(8, '0')}-0000-7000-8000-${start.toString(16).padStart(12, '0')}`;
      const slice = bodies.slice(start, start + maxPunches);
      batches.push({ batchId, bodies: slice, payload: Buffer.from(`{"batchId":"${batchId}","deviceId":"${id}","punches":[${slice.join(',')}]}`) });
    }
    return batches;
  });
}

async function fleet(root: string, broker: MosquittoBroker | undefined, payloads: FleetBatch[][], logger: Logger): Promise<FleetResult> {
  const gateways = payloads.length;
  const perGateway = (payloads[0] ?? []).reduce((sum, batch) => sum + batch.bodies.length, 0);
  const ids = Array.from({ length: gateways }, (_, index) => fleetId(index));
  const dashboard = await startBenchDashboard(root, broker, ids, logger);
  const url = dashboard.brokerUrl;
  const { maxPunches, inFlight } = DEFAULT_BATCH;
  const clients: MqttClient[] = [];
  try {
    const connectStarted = performance.now();
    clients.push(...(await Promise.all(ids.map((id) => mqtt.connectAsync(url, { username: id, password: SECRET, clientId: id, clean: true, reconnectPeriod: 0, protocolVersion: 4 })))));
    await Promise.all(clients.map((client, index) => client.subscribeAsync(deviceTopic(ids[index] as string, 'acks'), { qos: 1 })));
    const connectMs = performance.now() - connectStarted;
    let acked = 0;
    const cpuAtStart = cpuSnapshot();
    const started = performance.now();
    await Promise.all(
      clients.map(
        (client, index) =>
          new Promise<void>((resolve, reject) => {
            const id = ids[index] as string;
            const queue = [...(payloads[index] ?? [])];
            const flying = new Set<string>();
            const timer = setTimeout(() => reject(new Error(`${id}: not every batch was acked within 180 s`)), 180_000);
            const fill = (): void => {
              while (flying.size < inFlight && queue.length > 0) {
                const next = queue.shift() as FleetBatch;
                flying.add(next.batchId);
                client.publish(deviceTopic(id, 'punches'), next.payload, { qos: 1 });
              }
              if (flying.size === 0 && queue.length === 0) {
                clearTimeout(timer);
                resolve();
              }
            };
            client.on('message', (_topic, payload) => {
              const ack = JSON.parse(payload.toString()) as { batchId: string; accepted: string[] };
              if (flying.delete(ack.batchId)) acked += ack.accepted.length;
              fill();
            });
            fill();
          }),
      ),
    );
    const ms = performance.now() - started;
    const cpu = cpuUse(cpuAtStart, cpuSnapshot());
    const central = await dashboard.punches.count();
    return { broker: broker ? 'mosquitto' : 'aedes (embedded)', gateways, perGateway, punches: gateways * perGateway, batch: { maxPunches, inFlight }, connectMs: round(connectMs), ms, punchesPerSecond: rate(acked, ms), acked, central, cpu };
  } finally {
    await Promise.all(clients.map((client) => client.endAsync()));
    await dashboard.stop();
  }
}

export async function runStoreAndForward(options: StoreAndForwardOptions): Promise<{ result: Record<string, unknown>; exitCode: number }> {
  const { out } = options;
  const result: Record<string, unknown> = {
    options: { punches: options.punches, bigBatch: options.bigBatch, naive: options.naive, gateways: options.gateways, perGateway: options.perGateway, memoryBacklog: options.memoryBacklog, memorySeconds: options.memorySeconds },
  };
  const failures: string[] = [];
  const root = await mkdtemp(path.join(options.dataRoot, 'store-and-forward-'));
  const logFile = path.join(options.workDir, 'dashboard.log');
  const destination = pino.destination({ dest: logFile, sync: false, mkdir: true });
  const logger = pino({ level: 'warn' }, destination);
  const users: Record<string, string> = { [DASHBOARD_USER]: SECRET, [RAW_USER]: SECRET, [DRAIN_DEVICE]: SECRET };
  for (let index = 0; index < options.gateways; index += 1) users[fleetId(index)] = SECRET;
  const acl = `${mosquittoAclFile({ dashboardUsername: DASHBOARD_USER })}user ${RAW_USER}\ntopic readwrite bench/#\n`;
  // Not `log_type all`: that writes a line per packet, a cost the naive peer (a packet per punch) would pay most.
  const broker = await MosquittoBroker.start({ acl, users, logTypes: ['error', 'warning', 'notice'] });
  out(`store-and-forward: Mosquitto ${broker.url} (loopback, no persistence); dashboard in this process (external mode); gateways: node dist/bin/punchgate.js gateway`);
  out();
  try {
    // 1. A 100,000-punch backlog, default and larger batches, each against both baselines.
    const settings = [
      { label: 'default batches', batch: DEFAULT_BATCH },
      { label: 'other batches', batch: options.bigBatch },
    ];
    const part1: Array<Record<string, unknown>> = [];
    const rows: string[][] = [['backlog of ' + fmt(options.punches), 'maxPunches / inFlight', 'time ms', 'punches/s']];
    const ratioRows: string[][] = [['', 'ours from connect (from spawn)', 'raw mqtt.js QoS 1', 'raw sqlite3 insert', 'ours / slower (from spawn)', 'goal >= 0.5']];
    let replayBodies: string[] = [];
    for (const { label, batch } of settings) {
      let bodies: string[] = [];
      const drain = await drainRun({
        label,
        root: path.join(root, `drain-${batch.maxPunches}`),
        broker,
        count: options.punches,
        batch,
        logger,
        ...(options.profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] } : {}),
        beforeStart: async (file) => {
          bodies = (await queryRows<{ body: string }>(file, 'SELECT body FROM punches ORDER BY seq')).map((row) => row.body);
        },
      });
      if (replayBodies.length === 0) replayBodies = bodies.slice(0, options.naive);
      const mqttBase = await rawMqtt(broker, batchPayloads(bodies, batch.maxPunches, DRAIN_DEVICE), bodies.length);
      const sqliteBase = await rawSqlite(root, bodies, batch.maxPunches);
      const slower = Math.min(mqttBase.punchesPerSecond, sqliteBase.punchesPerSecond);
      // Like for like: the baselines start with an open database and a connected client, so the
      // goal is judged on the drain from the gateway's connect; the figure with the process start
      // (Node boot, opening the store, connecting) is printed beside it.
      const ratio = drain.fromConnectPunchesPerSecond / slower;
      const ratioWithStart = drain.punchesPerSecond / slower;
      const verdict = ratio >= 0.5 ? 'PASS' : 'MISS';
      part1.push({ drain, rawMqtt: mqttBase, rawSqlite: sqliteBase, ratio: round(ratio, 3), ratioWithStart: round(ratioWithStart, 3), verdict });
      if (drain.acked !== options.punches || drain.central !== options.punches) failures.push(`${label}: ${drain.acked} acked in gateway.sqlite, ${drain.central} in the central database, of ${options.punches}`);
      const shape = `${batch.maxPunches} / ${batch.inFlight}`;
      rows.push([`ours (${label}): gateway spawned -> last punch acked`, shape, fmt(drain.totalMs), fmt(drain.punchesPerSecond)]);
      rows.push([`  gateway spawned -> HTTP up`, '', fmt(drain.startupMs), '']);
      rows.push([`  gateway spawned -> connected (its online status seen)`, '', fmt(drain.connectedMs), '']);
      rows.push([`  connected -> last acked`, '', fmt(drain.fromConnectMs), fmt(drain.fromConnectPunchesPerSecond)]);
      rows.push([`  first punch stored centrally -> last acked`, '', fmt(drain.drainMs), fmt(drain.drainPunchesPerSecond)]);
      rows.push([`  baseline (a) raw mqtt.js QoS 1, ${mqttBase.messages} msgs, ${mb(mqttBase.bytes)} MB`, `${batch.maxPunches} / all at once`, fmt(mqttBase.ms), fmt(mqttBase.punchesPerSecond)]);
      rows.push([`  baseline (b) raw sqlite3, ${sqliteBase.transactions} transactions`, String(batch.maxPunches), fmt(sqliteBase.ms), fmt(sqliteBase.punchesPerSecond)]);
      rows.push([`  gateway RSS start / peak / last MB`, '', `${drain.rss.startMb} / ${drain.rss.peakMb} / ${drain.rss.lastMb}`, '']);
      rows.push([`  CPU machine / bench processes / others (incl. kernel threads) / steal %`, '', `${drain.cpu.machineBusyPct} / ${drain.cpu.oursPct} / ${drain.cpu.othersPct} / ${drain.cpu.stealPct}`, '']);
      ratioRows.push([label, `${fmt(drain.fromConnectPunchesPerSecond)} (${fmt(drain.punchesPerSecond)})`, fmt(mqttBase.punchesPerSecond), fmt(sqliteBase.punchesPerSecond), `${ratio.toFixed(2)} (${ratioWithStart.toFixed(2)})`, verdict]);
    }
    result.drain = part1;
    out(`1. Drain a backlog through Mosquitto into the central database, acks included (punches/s)`);
    out(table(rows));
    out();
    out(table(ratioRows));
    out();

    // 2. The naive peer: mqtt.js's own offline queue.
    const restart = await naiveRestart(broker, options.naive);
    const replay = await naiveReplay(broker, replayBodies);
    const ours = await drainRun({ label: `naive comparison: ${fmt(options.naive)}`, root: path.join(root, 'drain-naive'), broker, count: options.naive, batch: DEFAULT_BATCH, logger });
    if (ours.acked !== options.naive || ours.central !== options.naive) failures.push(`naive comparison: ${ours.acked} acked, ${ours.central} central, of ${options.naive}`);
    // Like for like: the naive clock starts at its connect() call, ours at the gateway's connect.
    const replayRatio = ours.fromConnectPunchesPerSecond / replay.perSecond;
    result.naive = { restart, replay, ours, ratio: round(replayRatio, 2), verdict: replayRatio >= 5 ? 'PASS' : 'MISS' };
    out(`2. The naive peer: an mqtt.js client with its default in-memory store, publishing while offline`);
    out(
      table([
        ['', 'value'],
        [`(i) queued offline, then the client process restarted: arrived`, `${restart.arrived} of ${fmt(restart.queued)}`],
        [`(ii) replay: connect() -> all ${fmt(replay.messages)} QoS 1 messages (one punch each) arrived`, `${fmt(replay.ms)} ms, ${fmt(replay.perSecond)} punches/s`],
        [`ours: ${fmt(options.naive)} punches, gateway spawned -> last ack`, `${fmt(ours.totalMs)} ms, ${fmt(ours.punchesPerSecond)} punches/s`],
        [`ours: gateway connected -> last ack`, `${fmt(ours.fromConnectMs)} ms, ${fmt(ours.fromConnectPunchesPerSecond)} punches/s`],
        [`ours (connected -> last ack) / naive replay (goal >= 5)`, `${replayRatio.toFixed(1)}x  ${replayRatio >= 5 ? 'PASS' : 'MISS'}`],
      ]),
    );
    out();

    // 3. 50 gateways at once.
    const fleets: FleetResult[] = [];
    const batches = fleetBatches(options.gateways, options.perGateway);
    // The baseline: the same batches, in the order they roughly arrive (round robin over the gateways), inserted raw.
    const arrival: string[] = [];
    for (let round = 0; round < Math.max(...batches.map((list) => list.length)); round += 1) for (const list of batches) arrival.push(...(list[round]?.bodies ?? []));
    const fleetRaw = await rawSqlite(root, arrival, DEFAULT_BATCH.maxPunches);
    for (const via of [broker, undefined]) {
      const fleetResult = await fleet(path.join(root, via ? 'fleet-mosquitto' : 'fleet-aedes'), via, batches, logger);
      fleets.push(fleetResult);
      if (fleetResult.acked !== fleetResult.punches || fleetResult.central !== fleetResult.punches) failures.push(`fleet (${fleetResult.broker}): ${fleetResult.acked} acked, ${fleetResult.central} central, of ${fleetResult.punches}`);
    }
    result.fleet = { runs: fleets, rawSqlite: fleetRaw };
    const [first] = fleets;
    out(`3. Central ingest: ${options.gateways} simulated gateways at once (mqtt.js clients in this process, each with its own device credentials, waiting for acks)`);
    out(`   ${fmt(first?.punches ?? 0)} punches (${options.gateways} x ${fmt(options.perGateway)}), batches of ${DEFAULT_BATCH.maxPunches}, ${DEFAULT_BATCH.inFlight} in flight per gateway`);
    out(
      table([
        ['broker', 'connect all ms', 'first publish -> last ack ms', 'punches/s committed + acked', 'rows centrally', 'CPU machine / bench / others / steal %'],
        ...fleets.map((item) => [item.broker, fmt(item.connectMs), fmt(item.ms), fmt(item.punchesPerSecond), fmt(item.central), `${item.cpu.machineBusyPct} / ${item.cpu.oursPct} / ${item.cpu.othersPct} / ${item.cpu.stealPct}`]),
        ['baseline: raw sqlite3, same batches in arrival order', '', fmt(fleetRaw.ms), fmt(fleetRaw.punchesPerSecond), '', ''],
      ]),
    );
    out();

    // 4. Memory over a big backlog.
    if (options.memoryBacklog > 0) {
      const memory = await drainRun({
        label: `memory: ${fmt(options.memoryBacklog)}`,
        root: path.join(root, 'drain-memory'),
        broker,
        count: options.memoryBacklog,
        batch: DEFAULT_BATCH,
        logger,
        timeBoxMs: options.memorySeconds * 1000,
      });
      // Steady state: the second half of the samples.
      const samples = memory.rss.samples;
      const half = samples.slice(Math.floor(samples.length / 2)).map(([, value]) => value);
      const steady = { minMb: Math.min(...half), maxMb: Math.max(...half) };
      result.memory = { ...memory, steady };
      if (!memory.timeBoxed && memory.acked !== options.memoryBacklog) failures.push(`memory: ${memory.acked} acked of ${options.memoryBacklog}`);
      const seconds = (samples.at(-1)?.[0] ?? 0) / 1000;
      out(`4. Gateway memory with a ${fmt(options.memoryBacklog)}-punch backlog (RSS of the gateway process, sampled every ~100 ms)`);
      out(
        table([
          ['', 'value'],
          ['seeding the backlog (not timed elsewhere)', `${fmt(memory.seedMs)} ms`],
          [memory.timeBoxed ? `drained in the ${options.memorySeconds} s time box` : 'drained', `${fmt(memory.acked)} punches in ${seconds.toFixed(1)} s (${fmt(memory.acked / seconds)} punches/s from spawn)`],
          ['RSS at the first sample / peak / last', `${memory.rss.startMb} / ${memory.rss.peakMb} / ${memory.rss.lastMb} MB`],
          ['RSS over the second half of the samples, min - max', `${steady.minMb} - ${steady.maxMb} MB`],
        ]),
      );
      out();
    }
  } finally {
    await broker.stop();
    destination.flushSync();
    await rm(root, { recursive: true, force: true });
  }
  for (const failure of failures) out(`FAILURE: ${failure}`);
  result.failures = failures;
  return { result, exitCode: failures.length > 0 ? 1 : 0 };
}
