import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { Backoff } from '../uplink/backoff.js';
import { describeBleLoadError, type BleModuleLoad, type BlenoLike } from './ble-modules.js';

/**
 * The gateway's rotating beacon: advertises the bytes a frame source gives it, through bleno.
 *
 * It knows no beacon maths: `frameAt(nowMs)` returns one frame or a list of frames (e.g. an
 * Eddystone-EID and a rotating iBeacon), each with the wall-clock time until which it is valid.
 * BlueZ legacy advertising carries one advertising set, so a list is shown one frame at a time,
 * each for `cycleMs`; when the earliest `validUntilMs` passes, `frameAt` is asked again and the
 * new bytes replace the old ones (a rotation).
 *
 * Pitfalls of bleno 0.6 handled here:
 * - the first `stateChange` listener initialises bleno (opens and binds the HCI socket) inside
 *   `on()`, so start() attaches it in try/catch and a failure makes the advertiser `unavailable`;
 * - `startAdvertisingWithEIRData` throws when the adapter is not poweredOn and no callback is
 *   given, and a callback given is registered with `once('advertisingStart')`, which bleno never
 *   emits on an HCI error (it emits `advertisingStartError`): the callback would linger and fire
 *   on some later success. So no callbacks: the advertiser listens to both events itself;
 * - bleno's Gap tracks one operation: a stop issued while a start is in flight (or the other way
 *   round) makes it report the first command's status as the second one's. Operations are
 *   serialised here: one at a time, each with a timeout;
 * - Bluetooth <= 4.2 controllers (a Pi 3's BCM43438 is 4.1) refuse LE Set Advertise Enable(1)
 *   while advertising with Command Disallowed; 5.0 relaxed it. `rotateBy: 'restart'` (the
 *   default) disables advertising before new bytes go out, which every controller accepts;
 *   `'update'` writes new bytes while advertising (no gap on air), and falls back to 'restart'
 *   by itself the first time a controller refuses.
 * - bleno advertises connectable (ADV_IND, 100 ms, BLENO_ADVERTISING_INTERVAL): a phone that
 *   connects silences the beacon until it disconnects (bleno then re-enables advertising).
 * - after the adapter is reset (down and up), the controller has forgotten its advertising: on
 *   `poweredOn` again everything is written anew.
 */

/** The most legacy advertising carries per buffer (advertising data, scan response data). */
export const MAX_ADVERTISING_BYTES = 31;

/** One frame to put on air. */
export interface AdvertisingFrame {
  /** AD structures exactly as they go on air (flags included), at most 31 bytes. */
  advertisement: Buffer;
  /** Scan response AD structures, at most 31 bytes; none (empty) by default. */
  scanResponse?: Buffer;
  /** Wall-clock ms (as `frameAt` was given) from which these bytes are stale. */
  validUntilMs: number;
  /** A name for logs, e.g. 'eddystone-eid' or 'ibeacon'. */
  label?: string;
}

/** Gives the frames to advertise at a wall-clock time (ms): one, or several shown in turn. */
export type FrameSource = (nowMs: number) => AdvertisingFrame | readonly AdvertisingFrame[];

export type BleAdvertiserState = 'advertising' | 'waiting-for-adapter' | 'unavailable' | 'error' | 'stopped';

export const BleAdvertiserStatusSchema = z.object({
  state: z.enum(['advertising', 'waiting-for-adapter', 'unavailable', 'error', 'stopped']),
  /** Why it is not advertising, for status pages. */
  reason: z.string().optional(),
  /** Wall-clock time (ISO) at which this state began. */
  since: z.string(),
  /** How many times `frameAt` gave new bytes because the old ones expired. */
  rotations: z.number().int(),
  /** The advertising data last confirmed on air (hex), whichever frame of a list it was. */
  lastFrameHex: z.string().optional(),
});
export type BleAdvertiserStatus = z.infer<typeof BleAdvertiserStatusSchema>;

/** Timers the advertiser schedules with; injectable so tests move time by hand. */
export interface AdvertiserTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemTimers: AdvertiserTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface BleAdvertiserOptions {
  /** bleno, or what loadBleno() returned: a failed load makes the advertiser `unavailable`. */
  bleno: BlenoLike | BleModuleLoad<BlenoLike>;
  frameAt: FrameSource;
  logger: Logger;
  /** How long each frame of a list stays on air before the next (ms); default 1000. */
  cycleMs?: number;
  /** How new bytes replace old ones on air (see the pitfalls above); default 'restart'. */
  rotateBy?: 'restart' | 'update';
  /** Back-off between retries after an advertising error or a bad frame (ms); default 1 s to 60 s. */
  retry?: { minMs: number; maxMs: number };
  /** How long the controller may take to confirm a start or a stop (ms); default 5000. */
  commandTimeoutMs?: number;
  /** Wall time for `frameAt` and `since`; the system's by default. */
  clock?: Pick<Clock, 'now'>;
  timers?: AdvertiserTimers;
  /** For the back-off jitter; Math.random by default. */
  random?: () => number;
}

interface AdvertiserEvents {
  /** The state or its reason changed. */
  status: [BleAdvertiserStatus];
  /** The controller confirmed these bytes on air. */
  advertised: [AdvertisingFrame];
}

/** A frame source's answer that is fine to advertise, or why not. */
function checkFrames(answer: AdvertisingFrame | readonly AdvertisingFrame[]): { ok: true; frames: AdvertisingFrame[] } | { ok: false; reason: string } {
  const list: readonly AdvertisingFrame[] = Array.isArray(answer) ? answer : [answer as AdvertisingFrame];
  if (list.length === 0) return { ok: false, reason: 'the frame source gave no frame' };
  const frames: AdvertisingFrame[] = [];
  for (const [i, frame] of list.entries()) {
    const name = `frame ${i + 1}${frame?.label ? ` (${frame.label})` : ''}`;
    if (!frame || !Buffer.isBuffer(frame.advertisement)) return { ok: false, reason: `${name}: advertisement is not a Buffer` };
    if (frame.advertisement.length === 0) return { ok: false, reason: `${name}: advertisement is empty` };
    if (frame.advertisement.length > MAX_ADVERTISING_BYTES) {
      return { ok: false, reason: `${name}: advertisement is ${frame.advertisement.length} bytes, over the ${MAX_ADVERTISING_BYTES}-byte limit of legacy advertising` };
    }
    if (frame.scanResponse !== undefined && !Buffer.isBuffer(frame.scanResponse)) return { ok: false, reason: `${name}: scan response is not a Buffer` };
    if (frame.scanResponse && frame.scanResponse.length > MAX_ADVERTISING_BYTES) {
      return { ok: false, reason: `${name}: scan response is ${frame.scanResponse.length} bytes, over the ${MAX_ADVERTISING_BYTES}-byte limit of legacy advertising` };
    }
    if (typeof frame.validUntilMs !== 'number' || Number.isNaN(frame.validUntilMs)) return { ok: false, reason: `${name}: validUntilMs is not a number` };
    // Copies: the caller may reuse its buffers.
    frames.push({
      advertisement: Buffer.from(frame.advertisement),
      scanResponse: Buffer.from(frame.scanResponse ?? Buffer.alloc(0)),
      validUntilMs: frame.validUntilMs,
      ...(frame.label ? { label: frame.label } : {}),
    });
  }
  return { ok: true, frames };
}

function sameBytes(a: AdvertisingFrame, b: AdvertisingFrame): boolean {
  return a.advertisement.equals(b.advertisement) && (a.scanResponse ?? Buffer.alloc(0)).equals(b.scanResponse ?? Buffer.alloc(0));
}

function isLoad(value: BleAdvertiserOptions['bleno']): value is BleModuleLoad<BlenoLike> {
  return typeof (value as { ok?: unknown }).ok === 'boolean' && !('startAdvertisingWithEIRData' in value);
}

/** When the frame source gives frames that are stale already, it is asked again after this long (ms), not in a busy loop. */
const MIN_REFRESH_MS = 1000;
/** The longest the frame timer sleeps, so a wall-clock step is noticed within this long. */
const MAX_TICK_MS = 60_000;

type Operation = { kind: 'start'; frame: AdvertisingFrame } | { kind: 'stop' };

export class BleAdvertiser extends EventEmitter<AdvertiserEvents> {
  private readonly bleno: BlenoLike | null;
  private readonly loadFailure: string | undefined;
  private readonly frameAt: FrameSource;
  private readonly logger: Logger;
  private readonly cycleMs: number;
  private rotateBy: 'restart' | 'update';
  private readonly commandTimeoutMs: number;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly timers: AdvertiserTimers;
  private readonly backoff: Backoff;

  private running = false;
  /** bleno's adapter state as last reported. */
  private adapter = 'unknown';
  /** Why the adapter cannot advertise at all (unsupported, unauthorized, init failed). */
  private adapterFailure: string | undefined;
  /** The frame set in force, its validity and the frame of it on turn. */
  private frames: AdvertisingFrame[] | null = null;
  private framesValidUntil = 0;
  private index = 0;
  private nextSwitchAt = 0;
  /** What should be on air now; null: nothing (no valid frames). */
  private desired: AdvertisingFrame | null = null;
  /** What the controller confirmed on air; null: nothing (or not known). */
  private onAir: AdvertisingFrame | null = null;
  /** Advertising may be enabled in the controller (after a confirmed start, or an operation that failed). */
  private mayBeEnabled = false;
  /** An operation failed: disable advertising before the next start. */
  private dirty = false;
  private pending: Operation | null = null;
  private pendingTimer: unknown;
  private tickTimer: unknown;
  private retryTimer: unknown;
  private frameError: string | undefined;
  private advertisingError: string | undefined;
  private rotations = 0;
  private lastFrameHex: string | undefined;
  private current: BleAdvertiserStatus;

  private readonly onStateChange = (state: string) => this.adapterChanged(state);
  private readonly onAdvertisingStart = (error?: Error | null) => (error ? this.startFailed(error) : this.started());
  private readonly onAdvertisingStartError = (error: Error) => this.startFailed(error);
  private readonly onAdvertisingStop = () => this.stopped();

  constructor(options: BleAdvertiserOptions) {
    super();
    this.logger = options.logger.child({ part: 'ble-advertiser' });
    if (isLoad(options.bleno)) {
      this.bleno = options.bleno.ok ? options.bleno.module : null;
      this.loadFailure = options.bleno.ok ? undefined : options.bleno.reason;
    } else {
      this.bleno = options.bleno;
      this.loadFailure = undefined;
    }
    this.frameAt = options.frameAt;
    this.cycleMs = options.cycleMs ?? 1000;
    if (!(this.cycleMs > 0)) throw new RangeError(`cycleMs must be positive, got ${this.cycleMs}`);
    this.rotateBy = options.rotateBy ?? 'restart';
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5000;
    this.clock = options.clock ?? { now: () => new Date() };
    this.timers = options.timers ?? systemTimers;
    const retry = options.retry ?? { minMs: 1000, maxMs: 60_000 };
    this.backoff = new Backoff(retry.minMs, Math.max(retry.minMs, retry.maxMs), options.random);
    this.current = this.loadFailure
      ? { state: 'unavailable', reason: `BLE unavailable: ${this.loadFailure}`, since: this.nowIso(), rotations: 0 }
      : { state: 'stopped', since: this.nowIso(), rotations: 0 };
  }

  status(): BleAdvertiserStatus {
    return { ...this.current };
  }

  /**
   * Starts advertising as soon as the adapter is poweredOn. Never throws for missing hardware:
   * the status says what is missing.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    const bleno = this.bleno;
    if (!bleno) {
      this.logger.warn({ reason: this.loadFailure }, 'BLE advertiser unavailable');
      this.updateStatus();
      return;
    }
    try {
      bleno.on('advertisingStart', this.onAdvertisingStart);
      bleno.on('advertisingStartError', this.onAdvertisingStartError);
      bleno.on('advertisingStop', this.onAdvertisingStop);
      // Last: the first stateChange listener initialises bleno's HCI socket, and may throw.
      bleno.on('stateChange', this.onStateChange);
    } catch (error) {
      this.detach(bleno);
      this.adapterFailure = `Bluetooth adapter could not be opened: ${describeBleLoadError('@abandonware/bleno', error).reason}`;
      this.logger.warn({ err: error }, 'BLE advertiser unavailable');
      this.updateStatus();
      return;
    }
    this.logger.info({ cycleMs: this.cycleMs, rotateBy: this.rotateBy }, 'BLE advertiser started');
    this.adapterChanged(bleno.state);
  }

  /**
   * Stops: clears every timer, stops advertising and lets go of bleno's events. Resolves when the
   * controller confirmed the stop (or after the command timeout, or at once with nothing to stop).
   * bleno itself stays initialised (it offers no way to close its socket); start() may follow.
   */
  stop(): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.running = false;
    this.clearTimer('tickTimer');
    this.clearTimer('retryTimer');
    this.clearTimer('pendingTimer');
    const mustDisable = this.mayBeEnabled || this.dirty || this.pending !== null;
    this.pending = null;
    this.resetAdvertising();
    this.frames = null;
    this.desired = null;
    this.frameError = undefined;
    this.advertisingError = undefined;
    this.backoff.reset();
    const bleno = this.bleno;
    if (bleno) this.detach(bleno);
    this.updateStatus();
    this.logger.info('BLE advertiser stopped');
    if (!bleno || !mustDisable || this.adapter !== 'poweredOn') return Promise.resolve();
    return new Promise((resolve) => {
      let timer: unknown;
      const done = () => {
        bleno.removeListener('advertisingStop', done);
        this.timers.clearTimeout(timer);
        resolve();
      };
      bleno.on('advertisingStop', done);
      timer = this.timers.setTimeout(done, this.commandTimeoutMs);
      try {
        bleno.stopAdvertising();
      } catch (error) {
        this.logger.warn({ err: error }, 'stopping advertising failed');
        done();
      }
    });
  }

  private detach(bleno: BlenoLike): void {
    bleno.removeListener('stateChange', this.onStateChange);
    bleno.removeListener('advertisingStart', this.onAdvertisingStart);
    bleno.removeListener('advertisingStartError', this.onAdvertisingStartError);
    bleno.removeListener('advertisingStop', this.onAdvertisingStop);
  }

  private adapterChanged(state: string): void {
    if (!this.running) return;
    const previous = this.adapter;
    this.adapter = state;
    if (state === 'poweredOn') {
      this.adapterFailure = undefined;
      if (previous !== 'poweredOn') this.logger.info({ previous }, 'Bluetooth adapter powered on');
      this.tick();
      return;
    }
    // The adapter went away or was never there: whatever the controller advertised is gone
    // with it, and bleno's answers to commands in flight will never come.
    if (previous === 'poweredOn') this.logger.warn({ state }, 'Bluetooth adapter no longer powered on');
    this.clearTimer('tickTimer');
    this.clearTimer('retryTimer');
    this.clearTimer('pendingTimer');
    this.pending = null;
    this.resetAdvertising();
    this.advertisingError = undefined;
    this.backoff.reset();
    if (state === 'unsupported') this.adapterFailure = 'the Bluetooth adapter does not support Bluetooth Low Energy (or is not HCI 4.0+)';
    else if (state === 'unauthorized') this.adapterFailure = 'permission denied: needs root or cap_net_raw';
    else this.adapterFailure = undefined;
    this.updateStatus();
  }

  private resetAdvertising(): void {
    this.onAir = null;
    this.mayBeEnabled = false;
    this.dirty = false;
  }

  /** Takes fresh frames when the old ones expired, turns to the next frame of a list when due, and reconciles. */
  private tick(): void {
    this.clearTimer('tickTimer');
    if (!this.running || this.adapter !== 'poweredOn' || this.retryTimer !== undefined) return;
    const now = this.clock.now().getTime();
    if (this.frames === null || now >= this.framesValidUntil) {
      if (!this.refreshFrames(now)) return;
    } else if (this.frames.length > 1 && now >= this.nextSwitchAt) {
      this.index = (this.index + 1) % this.frames.length;
      this.nextSwitchAt = now + this.cycleMs;
    }
    const frames = this.frames;
    if (frames === null) return;
    this.desired = frames[this.index % frames.length] ?? null;
    this.reconcile();
    const due = Math.min(this.framesValidUntil, frames.length > 1 ? this.nextSwitchAt : Number.POSITIVE_INFINITY);
    this.tickTimer = this.timers.setTimeout(() => {
      this.tickTimer = undefined;
      this.tick();
    }, Math.min(MAX_TICK_MS, Math.max(0, due - now)));
  }

  private refreshFrames(now: number): boolean {
    let answer: AdvertisingFrame | readonly AdvertisingFrame[];
    try {
      answer = this.frameAt(now);
    } catch (error) {
      this.frameFailed(`the frame source failed: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    const checked = checkFrames(answer);
    if (!checked.ok) {
      this.frameFailed(`refused to advertise: ${checked.reason}`);
      return false;
    }
    const old = this.frames;
    const frames = checked.frames;
    if (old !== null && (old.length !== frames.length || old.some((frame, i) => !sameBytes(frame, frames[i] as AdvertisingFrame)))) {
      this.rotations += 1;
      this.logger.debug({ rotations: this.rotations, frames: frames.map((f) => f.label ?? f.advertisement.toString('hex')) }, 'frames rotated');
    }
    let validUntil = Math.min(...frames.map((f) => f.validUntilMs));
    if (!(validUntil > now)) {
      this.logger.warn({ validUntilMs: validUntil, nowMs: now }, `the frame source gave frames already stale: asking again in ${MIN_REFRESH_MS} ms`);
      validUntil = now + MIN_REFRESH_MS;
    }
    if (old === null) this.nextSwitchAt = now + this.cycleMs;
    this.frames = frames;
    this.framesValidUntil = validUntil;
    this.index = this.index % frames.length;
    if (this.frameError !== undefined) {
      this.frameError = undefined;
      this.backoff.reset();
    }
    this.updateStatus();
    return true;
  }

  /** Bad frames: take the stale ones off air, and ask the source again after a back-off. */
  private frameFailed(reason: string): void {
    if (reason !== this.frameError) this.logger.error({ reason }, 'BLE advertiser has no frame to advertise');
    this.frameError = reason;
    this.frames = null;
    this.desired = null;
    this.reconcile();
    this.scheduleRetry();
    this.updateStatus();
  }

  /** Brings the controller to the desired frame, one operation at a time. */
  private reconcile(): void {
    if (!this.running || this.adapter !== 'poweredOn' || this.pending !== null || !this.bleno) return;
    if (this.advertisingError !== undefined && this.retryTimer !== undefined) return;
    const desired = this.desired;
    if (desired === null) {
      if (this.mayBeEnabled || this.dirty) this.issue({ kind: 'stop' });
      return;
    }
    if (!this.dirty && this.mayBeEnabled && this.onAir !== null && sameBytes(this.onAir, desired)) return;
    if (this.dirty || (this.mayBeEnabled && this.rotateBy === 'restart')) {
      this.issue({ kind: 'stop' });
      return;
    }
    this.issue({ kind: 'start', frame: desired });
  }

  private issue(operation: Operation): void {
    const bleno = this.bleno;
    if (!bleno) return;
    this.pending = operation;
    this.pendingTimer = this.timers.setTimeout(() => {
      this.pendingTimer = undefined;
      if (this.pending !== operation) return;
      this.pending = null;
      this.failed(`the Bluetooth controller did not confirm ${operation.kind === 'start' ? 'advertising' : 'the stop'} within ${this.commandTimeoutMs} ms`);
    }, this.commandTimeoutMs);
    try {
      if (operation.kind === 'start') bleno.startAdvertisingWithEIRData(operation.frame.advertisement, operation.frame.scanResponse ?? Buffer.alloc(0));
      else bleno.stopAdvertising();
    } catch (error) {
      // bleno throws when its state is not poweredOn: its stateChange is on its way.
      if (this.pending !== operation) return;
      this.clearTimer('pendingTimer');
      this.pending = null;
      this.failed(`bleno refused to ${operation.kind} advertising: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private started(): void {
    const operation = this.pending;
    if (operation?.kind !== 'start') {
      this.logger.debug('ignored an advertisingStart we did not ask for');
      return;
    }
    this.clearTimer('pendingTimer');
    this.pending = null;
    this.onAir = operation.frame;
    this.mayBeEnabled = true;
    this.dirty = false;
    this.advertisingError = undefined;
    this.backoff.reset();
    this.lastFrameHex = operation.frame.advertisement.toString('hex');
    this.logger.debug({ frame: operation.frame.label, hex: this.lastFrameHex }, 'advertising');
    this.updateStatus();
    this.emit('advertised', operation.frame);
    this.reconcile();
  }

  private startFailed(error: Error): void {
    const operation = this.pending;
    if (operation?.kind !== 'start') {
      this.logger.debug({ err: error }, 'ignored an advertisingStartError we did not ask for');
      return;
    }
    this.clearTimer('pendingTimer');
    this.pending = null;
    if (this.rotateBy === 'update' && this.mayBeEnabled && error.message === 'Command Disallowed') {
      // A Bluetooth <= 4.2 controller: no Advertise Enable(1) while advertising. The new data
      // went out anyway (bleno writes it after the enable too), but from now on disable first.
      this.logger.warn('the Bluetooth controller refuses to re-enable advertising (Bluetooth 4.2 or older): rotating by restart from now on');
      this.rotateBy = 'restart';
      this.dirty = true;
      this.reconcile();
      return;
    }
    this.failed(`advertising failed: ${error.message}`);
  }

  private stopped(): void {
    if (this.pending?.kind !== 'stop') {
      this.logger.debug('ignored an advertisingStop we did not ask for');
      return;
    }
    this.clearTimer('pendingTimer');
    this.pending = null;
    this.resetAdvertising();
    this.reconcile();
  }

  /** An operation failed or timed out: the controller's state is unknown; retry after a back-off. */
  private failed(reason: string): void {
    this.onAir = null;
    this.mayBeEnabled = true;
    this.dirty = true;
    this.advertisingError = reason;
    const delay = this.scheduleRetry();
    this.logger.warn({ reason, retryInMs: Math.round(delay), attempt: this.backoff.attempts }, 'BLE advertising failed');
    this.updateStatus();
  }

  private scheduleRetry(): number {
    this.clearTimer('retryTimer');
    this.clearTimer('tickTimer');
    const delay = this.backoff.next();
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.tick();
    }, delay);
    return delay;
  }

  private clearTimer(which: 'tickTimer' | 'retryTimer' | 'pendingTimer'): void {
    if (this[which] !== undefined) this.timers.clearTimeout(this[which]);
    this[which] = undefined;
  }

  private nowIso(): string {
    return this.clock.now().toISOString();
  }

  private derive(): { state: BleAdvertiserState; reason?: string } {
    if (this.loadFailure) return { state: 'unavailable', reason: `BLE unavailable: ${this.loadFailure}` };
    if (!this.running) return { state: 'stopped' };
    if (this.adapterFailure) return { state: 'unavailable', reason: this.adapterFailure };
    if (this.adapter !== 'poweredOn') return { state: 'waiting-for-adapter', reason: `the Bluetooth adapter is ${this.adapter}` };
    if (this.frameError) return { state: 'error', reason: this.frameError };
    if (this.advertisingError) return { state: 'error', reason: `${this.advertisingError} (retrying)` };
    // Advertising from the first confirmed start until something goes wrong: the short
    // disable/enable of a rotation is not a change of state.
    if (this.current.state === 'advertising' || (this.onAir !== null && this.mayBeEnabled)) return { state: 'advertising' };
    return { state: 'waiting-for-adapter', reason: 'starting advertising' };
  }

  private updateStatus(): void {
    const { state, reason } = this.derive();
    const changed = state !== this.current.state;
    const next: BleAdvertiserStatus = {
      state,
      ...(reason !== undefined ? { reason } : {}),
      since: changed ? this.nowIso() : this.current.since,
      rotations: this.rotations,
      ...(this.lastFrameHex !== undefined ? { lastFrameHex: this.lastFrameHex } : {}),
    };
    const before = this.current;
    this.current = next;
    if (changed) this.logger.info({ state, reason }, `BLE advertiser ${state}`);
    if (changed || before.reason !== next.reason || before.rotations !== next.rotations || before.lastFrameHex !== next.lastFrameHex) this.emit('status', this.status());
  }
}
