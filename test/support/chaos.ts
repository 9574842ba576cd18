import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Feedback } from '../../core/feedback.js';
import { openCentralDb } from '../../dashboard/db/central-db.js';
import { DeviceRepository } from '../../dashboard/db/device-repository.js';
import { cardReadFromBytes } from '../../firmware-bridge/codecs/bridge-frame.js';
import { hashDeviceSecret } from '../../provisioning/device-secrets.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { firstReaderReady, gatewayUrl, startCli } from './cli.js';
import { testLogger } from './logger.js';
import { PtyPair } from './pty-pair.js';
import { rowsOf } from './sqlite-rows.js';
import { waitFor } from './wait.js';
import { freePort } from './ports.js';

export { freePort };

/*
 * Shared parts of the chaos suites (test/integration/chaos-*.test.ts): a built dashboard and a
 * built gateway run as child processes, a simulated bridge reader on a real pty streams taps of
 * distinct cards, and at the end the invariant is checked on the two SQLite files:
 * the central database holds exactly the set of punches the gateway committed, each once.
 */

export type Cli = ChildProcess & { output: () => string };

const pad = (n: number): string => String(n).padStart(5, '0');
export const employeeOf = (n: number): string => `E${pad(n)}`;
/** EM4100 card n as the tag sends it. */
export const cardBytes = (n: number): Buffer => {
  const bytes = Buffer.alloc(5);
  bytes.writeUInt8(0x5a, 0);
  bytes.writeUInt32BE(0x30000000 + n, 1);
  return bytes;
};
/** Card n's uid as punches store it (an EM4100 uid without its version byte). */
export const cardUid = (n: number): string => cardBytes(n).subarray(1).toString('hex').toUpperCase();
const cardNumber = (uid: string): number => Buffer.from(uid, 'hex').readUInt32BE(0) - 0x30000000;
export const UNKNOWN_EVERY = 50;
export const isUnknownCard = (n: number): boolean => n % UNKNOWN_EVERY === 0;
const ACCEPTED_TEXT = /^(?:IN|OUT|OK) \d\d:\d\d P(\d{5})$/;

export async function killNow(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** Registers a device in a central database that no dashboard runs on yet (in-process). */
export async function registerOffline(dashboardDataDir: string, deviceId: string, secret: string): Promise<void> {
  const { db } = await openCentralDb(dashboardDataDir);
  try {
    await new DeviceRepository(db).register({ id: deviceId, siteId: 'mk-01', secretHash: await hashDeviceSecret(secret), createdAt: new Date().toISOString() });
  } finally {
    await db.close();
  }
}

/** A temp dir with a roster of `employees` cards, and every child process started in it. */
export class ChaosBench {
  readonly children = new Set<Cli>();
  pair: PtyPair | undefined;
  link: SerialLink | undefined;
  device: BridgeDeviceSimulator | undefined;
  stream: TapStream | undefined;

  private constructor(
    readonly dir: string,
    readonly rosterFile: string,
    readonly employees: number,
  ) {}

  /** Cards 1..employees; every UNKNOWN_EVERY-th card is left out of the roster (an unknown badge, still recorded). */
  static async create(employees: number): Promise<ChaosBench> {
    const dir = await mkdtemp(path.join(tmpdir(), 'punchgate-chaos-'));
    const roster = Array.from({ length: employees }, (_, index) => index + 1)
      .filter((n) => !isUnknownCard(n))
      .map((n) => ({ credential: { kind: 'em4100', uid: cardBytes(n).toString('hex').toUpperCase() }, employeeId: employeeOf(n), name: `P${pad(n)}` }));
    const rosterFile = path.join(dir, 'roster.json');
    await writeFile(rosterFile, JSON.stringify(roster));
    return new ChaosBench(dir, rosterFile, employees);
  }

  track(child: Cli): Cli {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Starts `punchgate dashboard` and waits for its URL; registers nothing. */
  async startDashboard(config: { dataDir: string; mqtt: Record<string, unknown>; apiToken?: string; env?: NodeJS.ProcessEnv }): Promise<{ child: Cli; url: string; apiToken: string }> {
    const apiToken = config.apiToken ?? 'chaos-token-0123456789';
    const file = path.join(this.dir, `dashboard-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify({ dataDir: config.dataDir, apiToken, http: { port: 0 }, mqtt: config.mqtt, log: { level: 'info' } }));
    const child = this.track(startCli(['dashboard', '--config', file], config.env ? { env: config.env } : {}));
    const url = await waitFor(
      'the dashboard to log its URL',
      () => (/"msg":"dashboard started"/.test(child.output()) && /"url":"(http:\/\/[^"]+)"/.exec(child.output())?.[1]) || (child.exitCode !== null ? 'exited' : undefined),
      20_000,
    );
    if (url === 'exited') throw new Error(`the dashboard exited at start (code ${child.exitCode}):\n${child.output()}`);
    return { child, url, apiToken };
  }

  /** Registers a device over the REST API; returns its secret. */
  async register(dashboardUrl: string, apiToken: string, deviceId: string): Promise<string> {
    const response = await fetch(`${dashboardUrl}/api/v1/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: deviceId, siteId: 'mk-01' }),
    });
    if (response.status !== 201) throw new Error(`registering ${deviceId}: HTTP ${response.status} ${await response.text()}`);
    return ((await response.json()) as { secret: string }).secret;
  }

  /** Writes a gateway config (reader on the bench's pty) and returns its path. */
  async gatewayConfig(options: { deviceId: string; dataDir: string; mqtt?: Record<string, unknown> }): Promise<string> {
    if (!this.pair) this.pair = await PtyPair.create(path.join(this.dir, 'pty'));
    const file = path.join(this.dir, `gateway-${options.deviceId}.json`);
    await writeFile(
      file,
      JSON.stringify({
        deviceId: options.deviceId,
        siteId: 'mk-01',
        dataDir: options.dataDir,
        rosterFile: this.rosterFile,
        readers: [{ id: 'door', path: this.pair.a, protocol: 'punchgate' }],
        http: { port: 0 },
        punch: { debounceSeconds: 600 },
        clock: { syncCommand: null },
        log: { level: 'info' },
        ...(options.mqtt ? { mqtt: options.mqtt } : {}),
      }),
    );
    return file;
  }

  /** Starts `punchgate gateway` and waits until its reader is ready. */
  async startGateway(configFile: string): Promise<{ child: Cli; url: string }> {
    const child = this.track(startCli(['gateway', '--config', configFile]));
    const url = await gatewayUrl(child);
    await firstReaderReady(url);
    return { child, url };
  }

  /** The simulated reader on the other end of the pty (stays powered across gateway restarts). */
  async startReader(): Promise<TapStream> {
    if (!this.pair) throw new Error('write a gateway config first: it makes the pty pair');
    this.link = new SerialLink({ path: this.pair.b, baudRate: 115200, logger: testLogger(), minRetryMs: 20, maxRetryMs: 100 });
    await this.link.start();
    this.device = new BridgeDeviceSimulator({ port: this.link });
    this.stream = new TapStream(this.device, this.employees);
    await this.device.start();
    return this.stream;
  }

  async destroy(): Promise<void> {
    this.stream?.stop();
    await Promise.all([...this.children].map((child) => killNow(child)));
    await this.device?.stop().catch(() => undefined);
    await this.link?.stop().catch(() => undefined);
    await this.pair?.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Taps cards 1..total, at most `inFlight` waiting for their feedback at once, and records which
 * employees were told 'accepted'. Taps a dead gateway never answered are counted out after a while,
 * so the stream keeps going when the gateway comes back (the device re-sends them itself).
 */
export class TapStream {
  /** Card uids whose tap was told 'accepted'. */
  readonly acked = new Set<string>();
  readonly kinds = new Map<string, number>();
  tapped = 0;
  feedbacks = 0;
  /** Taps given up on (no feedback within `lostAfterMs`). */
  private lost = 0;
  private readonly sentAt: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  inFlight = 4;
  lostAfterMs = 3000;

  constructor(
    private readonly device: BridgeDeviceSimulator,
    readonly total: number,
  ) {
    device.on('feedback', (feedback: Feedback) => {
      this.feedbacks += 1;
      this.sentAt.shift();
      this.kinds.set(feedback.kind, (this.kinds.get(feedback.kind) ?? 0) + 1);
      if (feedback.kind === 'accepted') {
        const match = ACCEPTED_TEXT.exec(feedback.text ?? '');
        if (!match) throw new Error(`accepted feedback with an unexpected text: "${feedback.text}"`);
        this.acked.add(cardUid(Number(match[1])));
      }
      this.pump();
    });
  }

  start(): void {
    this.timer ??= setInterval(() => this.pump(), 5);
    this.pump();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get done(): boolean {
    return this.tapped >= this.total;
  }

  private pump(): void {
    if (!this.timer) return;
    const now = Date.now();
    while (this.sentAt.length > 0 && now - (this.sentAt[0] ?? now) > this.lostAfterMs) {
      this.sentAt.shift();
      this.lost += 1;
    }
    while (this.tapped < this.total && this.sentAt.length < this.inFlight) {
      this.tapped += 1;
      this.sentAt.push(now);
      void this.device.tap(cardReadFromBytes('em4100', cardBytes(this.tapped))).catch(() => undefined);
    }
  }

  /** Resolves when `count` taps have been made (or all). */
  async untilTapped(count: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${count} taps (at ${this.tapped}, ${this.feedbacks} feedbacks)`, () => this.tapped >= Math.min(count, this.total), timeoutMs);
  }

  /** Resolves when every tap was made and answered (or given up). */
  async untilDone(timeoutMs = 60_000): Promise<void> {
    await waitFor(`all ${this.total} taps answered (at ${this.tapped}, ${this.feedbacks} feedbacks)`, () => this.done && this.sentAt.length === 0, timeoutMs);
    this.stop();
  }
}

export interface DbView {
  /** punch id -> card uid */
  ids: Map<string, string>;
  rows: number;
  states?: Record<string, number>;
}

export async function gatewayView(file: string): Promise<DbView> {
  const rows = await rowsOf(file, 'SELECT id, body, state FROM punches');
  const states: Record<string, number> = {};
  for (const row of rows) states[String(row.state)] = (states[String(row.state)] ?? 0) + 1;
  return { ids: new Map(rows.map((row) => [String(row.id), (JSON.parse(String(row.body)) as { credential: { uid: string } }).credential.uid])), rows: rows.length, states };
}

export async function centralView(file: string, deviceId?: string): Promise<DbView> {
  const rows = await rowsOf(file, `SELECT id, credential_uid FROM punches${deviceId ? ` WHERE device_id = '${deviceId}'` : ''}`);
  return { ids: new Map(rows.map((row) => [String(row.id), String(row.credential_uid)])), rows: rows.length };
}

/** Waits until the gateway's outbox has no pending row (read from its file, as another process). */
export async function untilDrained(gatewayDb: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    "the gateway's outbox to drain",
    async () => {
      const [row] = await rowsOf(gatewayDb, "SELECT count(*) AS n FROM punches WHERE state = 'pending'").catch(() => [{ n: -1 }]);
      return row?.n === 0;
    },
    timeoutMs,
  );
}

export interface InvariantReport {
  committed: number;
  central: number;
  acked: number;
  missingCentrally: string[];
  extraCentrally: string[];
  /** Cards with more than one punch in either database (each card is tapped once). */
  doubledGateway: string[];
  doubledCentral: string[];
  /** Taps told 'accepted' whose punch is missing. */
  ackedMissingAtGateway: string[];
  ackedMissingCentrally: string[];
  /** Taps told 'unknown' (recorded) beyond the unknown cards' punches in each database. */
  unknownMissingAtGateway: number;
  unknownMissingCentrally: number;
  /** Rows at the gateway still pending or rejected. */
  notAcked: number;
}

/**
 * The invariant: the central database holds exactly the set of punches the gateway committed,
 * each once, and every tap told 'accepted' or 'unknown' has its punch in both.
 */
export function invariant(gateway: DbView, central: DbView, stream: Pick<TapStream, 'acked' | 'kinds'>): InvariantReport {
  const doubled = (view: DbView): string[] => {
    const count = new Map<string, number>();
    for (const uid of view.ids.values()) count.set(uid, (count.get(uid) ?? 0) + 1);
    return [...count].filter(([, n]) => n > 1).map(([uid]) => uid);
  };
  const unknownUids = (view: DbView): number => {
    const unknown = new Set<string>();
    for (const uid of view.ids.values()) if (isUnknownCard(cardNumber(uid))) unknown.add(uid);
    return unknown.size;
  };
  const gatewayUids = new Set(gateway.ids.values());
  const centralUids = new Set(central.ids.values());
  const unknownTold = stream.kinds.get('unknown') ?? 0;
  return {
    committed: gateway.ids.size,
    central: central.ids.size,
    acked: stream.acked.size,
    missingCentrally: [...gateway.ids.keys()].filter((id) => !central.ids.has(id)),
    extraCentrally: [...central.ids.keys()].filter((id) => !gateway.ids.has(id)),
    doubledGateway: doubled(gateway),
    doubledCentral: doubled(central),
    ackedMissingAtGateway: [...stream.acked].filter((uid) => !gatewayUids.has(uid)),
    ackedMissingCentrally: [...stream.acked].filter((uid) => !centralUids.has(uid)),
    unknownMissingAtGateway: Math.max(0, unknownTold - unknownUids(gateway)),
    unknownMissingCentrally: Math.max(0, unknownTold - unknownUids(central)),
    notAcked: (gateway.states?.pending ?? 0) + (gateway.states?.rejected ?? 0),
  };
}

export const holds = (report: InvariantReport): Omit<InvariantReport, 'committed' | 'central' | 'acked'> => {
  const { committed: _c, central: _d, acked: _a, ...problems } = report;
  return problems;
};

export const noProblems = {
  missingCentrally: [],
  extraCentrally: [],
  doubledGateway: [],
  doubledCentral: [],
  ackedMissingAtGateway: [],
  ackedMissingCentrally: [],
  unknownMissingAtGateway: 0,
  unknownMissingCentrally: 0,
  notAcked: 0,
};

/** One line for the test log. */
export function describeRun(label: string, stream: TapStream, report: InvariantReport, started: number, extra = ''): string {
  return (
    `${label}: ${stream.tapped} taps, feedback ${JSON.stringify(Object.fromEntries(stream.kinds))}, ${report.committed} committed at the gateway, ` +
    `${report.central} centrally${extra}; ${Date.now() - started} ms`
  );
}

export { sleep };
