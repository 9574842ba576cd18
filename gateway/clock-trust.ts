import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Logger } from 'pino';
import { SystemClock, type Clock } from './clock.js';

/**
 * What one run of the sync command said:
 * - `synced`: it exited 0 and printed "yes";
 * - `unsynced`: it exited 0 and printed "no";
 * - `failed`: anything else (not installed, exit status not 0, timed out, other output).
 */
export type SyncReading = { kind: 'synced' } | { kind: 'unsynced' } | { kind: 'failed'; reason: string };

/**
 * - `synced`: the sync command says the wall clock is synchronised;
 * - `unsynced`: it says it is not: punches are flagged `clock.synced: false` and corrected later;
 * - `unverified`: the command never gave an answer in this process (e.g. `timedatectl` on a box
 *   without systemd): the clock is used as it is and counts as synced, because flagging every
 *   punch of such a box would bury HR in false alarms; the status says why it is unverified;
 * - `trusted`: `clock.syncCommand` is null (a gateway with a real-time clock);
 * - `unchecked`: start() has not run its first check yet.
 */
export type ClockVerdict = 'synced' | 'unsynced' | 'unverified' | 'trusted' | 'unchecked';

export interface ClockTrustState {
  /** What punches are stamped with (`clock.synced`). */
  synced: boolean;
  verdict: ClockVerdict;
  /** For the device status (`clock.source`), e.g. `timedatectl: synchronised` or `unverified: <reason>`. */
  source: string;
  /** Wall-clock time (ISO) at which this verdict began. */
  since: string;
}

export interface ClockSyncedEvent {
  /** Wall-clock ms minus CLOCK_MONOTONIC ms at the moment the sync was seen: `at = offsetMs + monoMs`. */
  offsetMs: number;
  /** The monotonic reading at that moment; readings of this boot above it cannot exist yet. */
  monoMs: number;
  bootId: string;
  at: string;
}

interface ClockTrustEvents {
  /** The clock became verified as synchronised (from unchecked, unsynced or unverified), or is trusted at start. */
  synced: [ClockSyncedEvent];
  /** The verdict changed. */
  change: [ClockTrustState];
  /** A check finished (every interval), whatever it found. */
  checked: [ClockTrustState];
}

/** Runs the sync command once. Never rejects: every failure is a `failed` reading with a reason. */
export type SyncCommandRunner = (command: readonly string[], timeoutMs: number) => Promise<SyncReading>;

export interface ClockTrustOptions {
  /** `clock.syncCommand` from the gateway config; null trusts the wall clock as it is. */
  syncCommand: readonly string[] | null;
  checkIntervalMs: number;
  logger: Logger;
  /** Where wall time, monotonic time and the boot id come from; the system's by default. */
  base?: Clock;
  /** The command runner; `runSyncCommand` (child_process.execFile) by default. */
  run?: SyncCommandRunner;
  /** A check taking longer than this counts as failed; defaults to the smaller of 5 s and the interval. */
  timeoutMs?: number;
}

const MAX_REASON_CHARS = 160;

function shorten(text: string): string {
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  return line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS - 1)}…` : line;
}

/** Reads what a sync command printed: exactly "yes" or "no" (any case, surrounding blanks ignored). */
export function readSyncOutput(stdout: string): SyncReading {
  const answer = stdout.trim().toLowerCase();
  if (answer === 'yes') return { kind: 'synced' };
  if (answer === 'no') return { kind: 'unsynced' };
  return { kind: 'failed', reason: answer === '' ? 'printed nothing' : `printed "${shorten(stdout)}", not yes or no` };
}

/** The real runner: execFile (no shell) with a timeout and a small output limit. */
export const runSyncCommand: SyncCommandRunner = (command, timeoutMs) =>
  new Promise((resolve) => {
    const [file, ...args] = command;
    if (file === undefined) {
      resolve({ kind: 'failed', reason: 'the command is empty' });
      return;
    }
    // LC_ALL=C: the yes/no answer and error texts must not depend on the box's locale.
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }, (error, stdout, stderr) => {
      if (!error) {
        resolve(readSyncOutput(stdout));
        return;
      }
      const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null; code?: string | number | null };
      if (failure.code === 'ENOENT') resolve({ kind: 'failed', reason: `${file} was not found` });
      else if (failure.code === 'EACCES') resolve({ kind: 'failed', reason: `${file} is not executable` });
      else if (failure.killed || failure.signal) resolve({ kind: 'failed', reason: failure.killed ? `${file} timed out after ${timeoutMs} ms` : `${file} was killed by ${failure.signal}` });
      else if (typeof failure.code === 'number') resolve({ kind: 'failed', reason: `${file} exited ${failure.code}${stderr.trim() ? `: ${shorten(stderr)}` : ''}` });
      else resolve({ kind: 'failed', reason: `${file} failed: ${shorten(failure.message)}` });
    });
  });

/**
 * The gateway's clock with its trust: wall and monotonic time come from the base clock, and
 * `synced()` from a sync command run every interval. start() resolves after the first check, so
 * no punch is stamped before the trust is known.
 *
 * Only a definite answer moves the verdict between synced and unsynced. A failing command after a
 * definite answer keeps that answer (a timedatectl hiccup must neither flag good punches nor vouch
 * for a clock that was just said to be wrong); a command that never answered leaves the clock
 * `unverified`, which counts as synced.
 */
export class ClockTrust extends EventEmitter<ClockTrustEvents> implements Clock {
  private readonly base: Clock;
  private readonly run: SyncCommandRunner;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly commandName: string;
  private current: ClockTrustState;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<ClockTrustState> | undefined;
  private running = false;
  /** The reason of the failure being tolerated, so a failing command is logged once, not every check. */
  private tolerated: string | undefined;

  constructor(private readonly options: ClockTrustOptions) {
    super();
    this.base = options.base ?? new SystemClock();
    this.run = options.run ?? runSyncCommand;
    this.timeoutMs = options.timeoutMs ?? Math.min(5000, options.checkIntervalMs);
    this.logger = options.logger;
    this.commandName = options.syncCommand?.[0] ? path.basename(options.syncCommand[0]) : 'sync command';
    this.current = { synced: false, verdict: 'unchecked', source: 'not checked yet', since: this.base.now().toISOString() };
  }

  now(): Date {
    return this.base.now();
  }

  monotonicMs(): number {
    return this.base.monotonicMs();
  }

  bootId(): string {
    return this.base.bootId();
  }

  synced(): boolean {
    return this.current.synced;
  }

  state(): ClockTrustState {
    return { ...this.current };
  }

  /** Runs the first check (bounded by the timeout), then one every interval until stop(). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.options.syncCommand === null) {
      this.enter('trusted', 'trusted: clock.syncCommand is null');
      this.emitSynced();
      return;
    }
    await this.check();
    this.schedule();
  }

  /** Stops the checks; resolves once a check under way has finished (its result is dropped). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight?.catch(() => undefined);
  }

  /** Checks now (also used by the `resync` command); concurrent calls share one run. */
  check(): Promise<ClockTrustState> {
    if (this.options.syncCommand === null) return Promise.resolve(this.state());
    this.inFlight ??= this.checkOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.options.checkIntervalMs);
    // The checks alone must not keep the process alive; stop() still clears them.
    this.timer.unref();
  }

  private async checkOnce(): Promise<ClockTrustState> {
    const command = this.options.syncCommand ?? [];
    let reading: SyncReading;
    try {
      reading = await this.run(command, this.timeoutMs);
    } catch (error) {
      // An injected runner broke its promise never to reject: still a failed reading.
      reading = { kind: 'failed', reason: shorten((error as Error).message ?? String(error)) };
    }
    if (!this.running) return this.state();
    const previous = this.current.verdict;
    if (reading.kind !== 'failed') this.tolerated = undefined;
    if (reading.kind === 'synced') {
      this.enter('synced', `${this.commandName}: synchronised`);
      if (previous !== 'synced') this.emitSynced();
    } else if (reading.kind === 'unsynced') {
      this.enter('unsynced', `${this.commandName}: not synchronised`);
    } else if (previous === 'synced' || previous === 'unsynced') {
      if (this.tolerated !== reading.reason) this.logger.warn({ reason: reading.reason, keeping: previous }, 'clock sync check failed; keeping the last answer');
      this.tolerated = reading.reason;
    } else {
      this.enter('unverified', `unverified: ${reading.reason}`);
    }
    const state = this.state();
    this.emit('checked', state);
    return state;
  }

  private enter(verdict: ClockVerdict, source: string): void {
    if (this.current.verdict === verdict && this.current.source === source) return;
    const synced = verdict !== 'unsynced' && verdict !== 'unchecked';
    const verdictChanged = this.current.verdict !== verdict;
    this.current = { synced, verdict, source, since: verdictChanged ? this.base.now().toISOString() : this.current.since };
    if (!verdictChanged) return;
    const log = verdict === 'unsynced' || verdict === 'unverified' ? this.logger.warn.bind(this.logger) : this.logger.info.bind(this.logger);
    log({ verdict, source }, 'clock trust changed');
    this.emit('change', this.state());
  }

  private emitSynced(): void {
    // Read monotonic and wall time back to back: their difference is the offset to correct with.
    const monoMs = this.base.monotonicMs();
    const wall = this.base.now();
    this.emit('synced', { offsetMs: wall.getTime() - monoMs, monoMs, bootId: this.base.bootId(), at: wall.toISOString() });
  }
}
