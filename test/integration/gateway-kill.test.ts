import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sqlite3 from 'sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Feedback } from '../../core/feedback.js';
import type { Punch } from '../../core/punch.js';
import { cardReadFromBytes } from '../../firmware-bridge/codecs/bridge-frame.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { firstReaderReady, gatewayUrl, startCli } from '../support/cli.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

/*
 * kill -9 of the gateway the instant a person got their beep, then a restart on the same data
 * dir: every punch that got feedback is there exactly once, and the next taps carry the next seq
 * numbers. (A kill leaves written data in the page cache, so this cannot catch a missing fsync:
 * durability-power-cut.test.ts does. This one catches feedback before COMMIT, a restart that
 * crashes or renumbers, and lost or doubled punches across the restart.)
 */

const logger = testLogger();
const EMPLOYEES = 400;
const IN_FLIGHT = 4;
/** Kill on the Nth accepted feedback of each round. */
const KILL_ON = [1, 17, 40];
const AFTER_RESTART_TAPS = 5;

const pad = (n: number): string => String(n).padStart(4, '0');
const cardBytes = (n: number): Buffer => {
  const bytes = Buffer.alloc(5);
  bytes.writeUInt8(0x3c, 0);
  bytes.writeUInt32BE(0x20000000 + n, 1);
  return bytes;
};
const ACCEPTED_TEXT = /^(?:IN|OUT|OK) \d\d:\d\d P(\d{4})$/;

interface Running {
  child: ChildProcess & { output: () => string };
  url: string;
}

let dir: string | undefined;
let pair: PtyPair | undefined;
let deviceLink: SerialLink | undefined;
let device: BridgeDeviceSimulator | undefined;
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  await device?.stop().catch(() => undefined);
  await deviceLink?.stop().catch(() => undefined);
  await pair?.close().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
  device = undefined;
  deviceLink = undefined;
  pair = undefined;
  dir = undefined;
});

async function startGateway(configFile: string): Promise<Running> {
  const child = startCli(['gateway', '--config', configFile]);
  children.add(child);
  const url = await gatewayUrl(child, 15_000);
  await firstReaderReady(url, 10_000);
  return { child, url };
}

async function punchesOverHttp(url: string): Promise<Punch[]> {
  const response = await fetch(`${url}/api/punches?limit=1000`);
  expect(response.status).toBe(200);
  const { punches } = (await response.json()) as { punches: Punch[] };
  return punches;
}

function killNow(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  return exited;
}

interface Problems {
  /** Acknowledged employees with no punch. */
  missing: string[];
  /** Employees with more than one punch (each card is tapped once). */
  doubled: string[];
  /** The seqs are not exactly 1..n. */
  seqGaps: boolean;
  duplicateIds: number;
}

function problemsIn(punches: ReadonlyArray<Pick<Punch, 'employeeId' | 'seq' | 'id'>>, acked: ReadonlySet<string>): Problems {
  const perEmployee = new Map<string, number>();
  for (const punch of punches) if (punch.employeeId) perEmployee.set(punch.employeeId, (perEmployee.get(punch.employeeId) ?? 0) + 1);
  const seqs = punches.map((punch) => punch.seq).sort((a, b) => a - b);
  return {
    missing: [...acked].filter((id) => !perEmployee.has(id)),
    doubled: [...perEmployee].filter(([, count]) => count > 1).map(([id]) => id),
    seqGaps: seqs.some((seq, index) => seq !== index + 1),
    duplicateIds: punches.length - new Set(punches.map((punch) => punch.id)).size,
  };
}

const noProblems: Problems = { missing: [], doubled: [], seqGaps: false, duplicateIds: 0 };

/** A reader that stays powered while gateways die and come back, and what people were told. */
interface Door {
  configFile: string;
  dataDir: string;
  device: BridgeDeviceSimulator;
  acked: Set<string>;
  tapped: number;
  feedbacks: number;
  onAccepted: ((employeeId: string) => void) | undefined;
}

async function openDoor(): Promise<Door> {
  dir = await mkdtemp(path.join(tmpdir(), 'punchgate-kill-'));
  const roster = Array.from({ length: EMPLOYEES }, (_, index) => ({
    credential: { kind: 'em4100', uid: cardBytes(index + 1).toString('hex').toUpperCase() },
    employeeId: `E${pad(index + 1)}`,
    name: `P${pad(index + 1)}`,
  }));
  await writeFile(path.join(dir, 'roster.json'), JSON.stringify(roster));
  pair = await PtyPair.create();
  const configFile = path.join(dir, 'gateway.json');
  await writeFile(
    configFile,
    JSON.stringify({
      deviceId: 'gw-kill',
      siteId: 'mk-01',
      dataDir: 'data',
      rosterFile: 'roster.json',
      readers: [{ id: 'door', path: pair.a, protocol: 'punchgate' }],
      http: { port: 0 },
      punch: { debounceSeconds: 60 },
      log: { level: 'info' },
    }),
  );
  deviceLink = new SerialLink({ path: pair.b, baudRate: 115200, logger, minRetryMs: 20, maxRetryMs: 100 });
  await deviceLink.start();
  device = new BridgeDeviceSimulator({ port: deviceLink });
  const door: Door = { configFile, dataDir: path.join(dir, 'data'), device, acked: new Set(), tapped: 0, feedbacks: 0, onAccepted: undefined };
  device.on('feedback', (feedback: Feedback) => {
    door.feedbacks += 1;
    if (feedback.kind !== 'accepted') return;
    const match = ACCEPTED_TEXT.exec(feedback.text ?? '');
    if (!match) throw new Error(`accepted feedback with an unexpected text: "${feedback.text}"`);
    const id = `E${match[1]}`;
    if (door.acked.has(id)) throw new Error(`${id} was acknowledged twice`);
    door.acked.add(id);
    door.onAccepted?.(id);
  });
  await device.start();
  return door;
}

/** Starts a gateway, streams taps and SIGKILLs it in the tick its `killOn`th accepted feedback arrives. */
async function killRound(door: Door, killOn: number, round: number): Promise<void> {
  const gateway = await startGateway(door.configFile);
  // Whatever the previous gateway left half-done has been retried by now (a device resends an
  // unacknowledged read every 200 ms); this round's count starts here.
  await sleep(300);
  const before = door.acked.size;
  // Taps the killed gateway took but never answered: they will not be answered now either.
  const unanswered = door.tapped - door.feedbacks;
  let killed: Promise<void> | undefined;
  let pumping = true;
  door.onAccepted = () => {
    if (!killed && door.acked.size - before >= killOn) {
      killed = killNow(gateway.child);
      pumping = false;
    }
  };
  const pump = (): void => {
    while (pumping && door.tapped < EMPLOYEES && door.tapped - door.feedbacks - unanswered < IN_FLIGHT) {
      door.tapped += 1;
      void door.device.tap(cardReadFromBytes('em4100', cardBytes(door.tapped)));
    }
  };
  const timer = setInterval(pump, 2);
  pump();
  try {
    await waitFor(`accepted feedback number ${killOn} of round ${round}`, () => killed !== undefined, 15_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}; ${door.tapped} taps, ${door.feedbacks} feedbacks; gateway output:\n${gateway.child.output().slice(-3000)}`);
  } finally {
    clearInterval(timer);
  }
  await killed;
  door.onAccepted = undefined;
  // Feedback already written to the pty still arrives, and counts as told to a person.
  await sleep(250);
  expect(gateway.child.signalCode).toBe('SIGKILL');
  console.log(`kill round ${round}: killed on accepted feedback ${killOn} of the round; ${door.tapped} taps so far, ${door.acked.size} acknowledged`);
}

describe('gateway: kill -9 right after a feedback, then restart', () => {
  it('keeps every punch that got feedback exactly once and continues the seq numbers', async () => {
    const door = await openDoor();
    for (const [index, killOn] of KILL_ON.entries()) await killRound(door, killOn, index + 1);

    // Restart on the same data dir: everything acknowledged is there, once.
    const restarted = await startGateway(door.configFile);
    // Reads the device still resends from before the kill arrive now; let them settle.
    await sleep(600);
    let punches = await punchesOverHttp(restarted.url);
    expect(punches.length).toBeLessThan(1000);
    expect(problemsIn(punches, door.acked), 'after the last restart').toEqual(noProblems);
    expect(door.acked.size, 'enough punches got feedback to mean something').toBeGreaterThanOrEqual(KILL_ON.reduce((sum, n) => sum + n, 0));
    const lastSeq = punches.length;

    // New taps carry the next seq numbers, in order.
    for (let i = 1; i <= AFTER_RESTART_TAPS; i += 1) {
      door.tapped += 1;
      const id = `E${pad(door.tapped)}`;
      const got = new Promise<void>((resolve) => {
        door.onAccepted = (employee) => {
          if (employee === id) resolve();
        };
      });
      await door.device.tap(cardReadFromBytes('em4100', cardBytes(door.tapped)));
      await Promise.race([got, sleep(5000).then(() => Promise.reject(new Error(`no accepted feedback for ${id} after the restart`)))]);
      punches = await punchesOverHttp(restarted.url);
      const punch = punches.find((candidate) => candidate.employeeId === id);
      expect(punch?.seq, `seq of the tap ${i} after the restart`).toBe(lastSeq + i);
    }
    expect(problemsIn(punches, door.acked), 'after the taps that followed the restart').toEqual(noProblems);

    // Stop cleanly, then read the file itself: the same punches as the HTTP said.
    const stopped = new Promise<number | null>((resolve) => restarted.child.once('exit', (code) => resolve(code)));
    restarted.child.kill('SIGTERM');
    expect(await stopped).toBe(0);
    const rows = await storedPunches(door.dataDir);
    expect(rows).toEqual(punches.map((punch) => ({ seq: punch.seq, id: punch.id, employeeId: punch.employeeId })).sort((a, b) => a.seq - b.seq));
    expect(problemsIn(rows, door.acked), 'in gateway.sqlite').toEqual(noProblems);
    console.log(`kill test: ${door.acked.size} acknowledged punches, ${rows.length} punches stored, last seq ${rows.at(-1)?.seq}`);
  }, 60_000);

  it('must-fail control: the same kill and restart with the WAL thrown away is caught as lost punches', async () => {
    // What a store that told people before its commit reached the file would leave behind.
    const door = await openDoor();
    await killRound(door, 20, 1);
    await rm(path.join(door.dataDir, 'gateway.sqlite-wal'));
    await rm(path.join(door.dataDir, 'gateway.sqlite-shm'), { force: true });
    const restarted = await startGateway(door.configFile);
    const problems = problemsIn(await punchesOverHttp(restarted.url), door.acked);
    console.log(`kill control: ${door.acked.size} acknowledged, ${problems.missing.length} missing after the restart without the WAL`);
    expect(door.acked.size).toBeGreaterThanOrEqual(20);
    expect(problems.missing.length, 'the check must see lost punches, or it has stopped testing').toBeGreaterThan(0);
  }, 30_000);
});

async function storedPunches(dataDir: string): Promise<Array<{ seq: number; id: string; employeeId: string | null }>> {
  const rows = await new Promise<Array<{ seq: number; id: string; employee_id: string | null }>>((resolve, reject) => {
    const db = new sqlite3.Database(path.join(dataDir, 'gateway.sqlite'), sqlite3.OPEN_READWRITE, (openError) => {
      if (openError) return reject(openError);
      db.all('SELECT seq, id, employee_id FROM punches ORDER BY seq', (error: Error | null, result: Array<{ seq: number; id: string; employee_id: string | null }>) => {
        db.close();
        if (error) reject(error);
        else resolve(result);
      });
    });
  });
  return rows.map((row) => ({ seq: row.seq, id: row.id, employeeId: row.employee_id }));
}
