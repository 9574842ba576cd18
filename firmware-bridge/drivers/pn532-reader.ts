import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Feedback } from '../../core/feedback.js';
import { hex } from '../codec.js';
import {
  describeFirmware,
  getFirmwareVersionCommand,
  inListPassiveTargetCommand,
  maxRetriesCommand,
  parseFirmwareVersion,
  parseInListPassiveTarget,
  PN532_ACK,
  PN532_NACK,
  PN532_WAKE_UP,
  Pn532Command,
  Pn532FrameParser,
  samConfigurationCommand,
  targetToCardRead,
  TFI_CHIP_TO_HOST,
  type Pn532Item,
} from '../codecs/pn532-frame.js';
import type { ReaderDriver, ReaderEvents, ReaderState, ReaderStatus } from '../reader-driver.js';
import { SerialLink } from '../serial-link.js';

export interface Pn532ReaderOptions {
  id: string;
  path: string;
  baudRate: number;
  logger: Logger;
  /** Pause between one InListPassiveTarget answer and the next poll. */
  pollIntervalMs?: number;
  /** How long to wait for a command's ACK, and then again for its response. */
  responseTimeoutMs?: number;
  /** Back-off for re-opening the port and for re-waking a silent chip: doubles up to maxRetryMs. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /** How long a card must go unseen, besides missing one poll, before it counts as removed. */
  cardHoldMs?: number;
}

/** Consecutive failed exchanges (time-outs, retries used up) after which the chip is unresponsive. */
const UNRESPONSIVE_AFTER = 3;
/** Sends of one command when the chip answers it with a NACK or an error frame. */
const COMMAND_ATTEMPTS = 3;
/** NACKs sent for one response that arrives corrupted, before the command itself is resent. */
const NACKS_PER_RESPONSE = 2;
/** Frames kept for the next command; more means the chip is babbling, and the oldest are stale. */
const INBOX_LIMIT = 64;

const commandNames: Record<number, string> = {
  [Pn532Command.GetFirmwareVersion]: 'GetFirmwareVersion',
  [Pn532Command.SAMConfiguration]: 'SAMConfiguration',
  [Pn532Command.RFConfiguration]: 'RFConfiguration',
  [Pn532Command.InListPassiveTarget]: 'InListPassiveTarget',
};

/** The chip's side of the state, while the port itself is open. */
type ChipState = 'waking' | 'ready' | 'unresponsive';

class ChipError extends Error {
  override name = 'ChipError';
}

/**
 * A PN532 over HSU, driven actively: on every port open it wakes the chip, takes it out of
 * LowVbat with SAMConfiguration (which must come first, as libnfc does it), reads its firmware
 * version, limits passive activation retries so that a poll with no card answers promptly, and
 * then polls InListPassiveTarget (one target, 106 kbps type A).
 *
 * Each card presentation is reported once. A card still on the reader is not reported again;
 * it counts as removed once a poll misses it and it has gone unseen for `cardHoldMs` (default 0:
 * one empty poll is enough). A re-initialised chip forgets the card, since what happened while
 * it was silent is unknown: a card left lying on it is reported again, and the punch desk's
 * debounce absorbs that. A different card is reported at once.
 *
 * A chip that fails UNRESPONSIVE_AFTER exchanges in a row is `unresponsive`; the driver keeps
 * re-running the wake-up sequence with back-off (minRetryMs doubling to maxRetryMs) and is
 * `ready` again as soon as the chip answers. The bare PN532 boards we use have no beeper or LED,
 * so feedback() is always false (driving the chip's GPIO would be board-specific guesswork).
 */
export class Pn532Reader extends EventEmitter<ReaderEvents> implements ReaderDriver {
  readonly id: string;
  readonly protocol = 'pn532' as const;
  private readonly link: SerialLink;
  private readonly logger: Logger;
  private readonly parser = new Pn532FrameParser();
  private readonly pollIntervalMs: number;
  private readonly responseTimeoutMs: number;
  private readonly minRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly presence: CardPresence;
  private session: Session | undefined;
  private chip: ChipState = 'waking';
  private chipDetail: string | undefined;
  private firmware: string | undefined;
  private reads = 0;
  private badFrames = 0;
  private lastPublished = '';

  constructor(private readonly options: Pn532ReaderOptions) {
    super();
    this.id = options.id;
    this.logger = options.logger;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 500;
    this.minRetryMs = options.minRetryMs ?? 250;
    this.maxRetryMs = options.maxRetryMs ?? 10_000;
    this.presence = new CardPresence(options.cardHoldMs ?? 0);
    this.link = new SerialLink({
      path: options.path,
      baudRate: options.baudRate,
      logger: options.logger,
      minRetryMs: this.minRetryMs,
      maxRetryMs: this.maxRetryMs,
    });
    this.link.on('data', (chunk) => this.onData(chunk));
    this.link.on('state', (state) => {
      if (state === 'open') this.beginSession();
      else this.endSession();
      this.publishStatus();
    });
  }

  status(): ReaderStatus {
    let state: ReaderState;
    let detail: string | undefined;
    switch (this.link.state) {
      case 'idle':
      case 'opening':
        state = 'connecting';
        break;
      case 'waiting':
        state = 'disconnected';
        detail = this.link.detail;
        break;
      case 'stopped':
        state = 'stopped';
        break;
      case 'open':
        state = this.chip === 'waking' ? 'connecting' : this.chip;
        detail = this.chipDetail;
        break;
    }
    return {
      id: this.id,
      protocol: this.protocol,
      path: this.options.path,
      state,
      ...(detail ? { detail } : {}),
      reads: this.reads,
      badFrames: this.badFrames,
      ...(this.firmware ? { firmware: this.firmware } : {}),
    };
  }

  start(): Promise<void> {
    return this.link.start();
  }

  async stop(): Promise<void> {
    this.endSession();
    await this.link.stop();
  }

  async feedback(_feedback: Feedback): Promise<boolean> {
    return false;
  }

  private onData(chunk: Buffer): void {
    for (const item of this.parser.push(chunk)) {
      if (item.type === 'bad') this.refused(item.reason, item.bytes);
      const session = this.session;
      if (!session) continue;
      if (session.inbox.length >= INBOX_LIMIT) session.inbox.shift();
      session.inbox.push(item);
      session.wake?.();
    }
  }

  private beginSession(): void {
    this.endSession();
    this.parser.reset();
    this.presence.clear();
    this.chip = 'waking';
    this.chipDetail = 'waking the PN532';
    const session = new Session();
    this.session = session;
    this.run(session).catch((error: unknown) => {
      if (!session.signal.aborted) this.logger.error({ err: error, reader: this.id }, 'PN532 polling stopped unexpectedly');
    });
  }

  private endSession(): void {
    this.session?.abort();
    this.session = undefined;
    // Bytes of a frame cut by an unplug must not be completed by bytes from after the re-plug.
    this.parser.reset();
  }

  /** Initialise, then poll until the session ends; failures re-wake the chip with back-off. */
  private async run(session: Session): Promise<void> {
    let initialised = false;
    let failures = 0;
    let backoffMs = this.minRetryMs;
    while (!session.signal.aborted) {
      try {
        if (!initialised) {
          await this.initialise(session);
          initialised = true;
          failures = 0;
          backoffMs = this.minRetryMs;
          this.setChip('ready', undefined);
        } else {
          await this.poll(session);
          failures = 0;
          await session.pause(this.pollIntervalMs);
        }
      } catch (error) {
        if (session.signal.aborted) return;
        failures += 1;
        const reason = error instanceof Error ? error.message : String(error);
        this.logger.warn({ reader: this.id, reason, failures }, 'PN532 exchange failed');
        if (failures >= UNRESPONSIVE_AFTER) {
          initialised = false;
          this.setChip('unresponsive', `PN532 not answering (${reason}); ${failures} failures in a row, waking it again in ${backoffMs} ms`);
        } else if (!initialised) {
          this.setChip(this.chip, `${reason}; waking it again in ${backoffMs} ms`);
        }
        if (!initialised) {
          await session.pause(backoffMs);
          backoffMs = Math.min(backoffMs * 2, this.maxRetryMs);
        }
      }
    }
  }

  private async initialise(session: Session): Promise<void> {
    this.presence.clear();
    await this.link.write(PN532_WAKE_UP);
    await this.command(session, Pn532Command.SAMConfiguration, samConfigurationCommand());
    const version = await this.command(session, Pn532Command.GetFirmwareVersion, getFirmwareVersionCommand());
    const firmware = parseFirmwareVersion(version.data);
    if (!firmware.ok) throw new ChipError(firmware.reason);
    this.firmware = describeFirmware(firmware.value);
    await this.command(session, Pn532Command.RFConfiguration, maxRetriesCommand());
    this.logger.info({ reader: this.id, firmware: this.firmware }, 'PN532 initialised');
  }

  private async poll(session: Session): Promise<void> {
    const response = await this.command(session, Pn532Command.InListPassiveTarget, inListPassiveTargetCommand());
    const targets = parseInListPassiveTarget(response.data);
    if (!targets.ok) {
      // The chip answered, so the link is healthy; the answer itself is refused like a bad frame.
      this.refused(targets.reason, response.bytes);
      return;
    }
    const target = targets.value[0];
    const isNew = this.presence.observe(target ? hex(target.uid) : undefined, performance.now());
    if (!target || !isNew) return;
    this.reads += 1;
    const read = targetToCardRead(target);
    this.logger.info({ reader: this.id, uid: read.uid }, 'card presented');
    this.safeEmit('card', read);
  }

  /** Sends one command and returns its response; resends it on NACK or error frame. */
  private async command(session: Session, code: number, frame: Buffer): Promise<{ data: Buffer; bytes: Buffer }> {
    const name = commandNames[code] ?? `command 0x${code.toString(16)}`;
    let problem = '';
    for (let attempt = 1; attempt <= COMMAND_ATTEMPTS; attempt += 1) {
      // Commands are strictly one at a time, so anything half-received now is stale: dropping it
      // keeps a frame that lost bytes from being completed by the next answer's bytes (with an
      // 8-bit checksum, 1 in 256 such splices would pass as a card with a shifted UID).
      this.parser.reset();
      session.inbox.length = 0;
      await this.link.write(frame);
      const outcome = await this.exchange(session, code, name);
      if (outcome.kind === 'response') return outcome;
      if (outcome.kind === 'timeout') throw new ChipError(outcome.detail);
      problem = outcome.detail;
      this.logger.debug({ reader: this.id, command: name, attempt, problem }, 'PN532 command will be resent');
    }
    throw new ChipError(`${name}: ${problem}, ${COMMAND_ATTEMPTS} times`);
  }

  private async exchange(
    session: Session,
    code: number,
    name: string,
  ): Promise<{ kind: 'response'; data: Buffer; bytes: Buffer } | { kind: 'timeout' | 'resend'; detail: string }> {
    let acked = false;
    let nacks = 0;
    let deadline = performance.now() + this.responseTimeoutMs;
    for (;;) {
      const item: Pn532Item | undefined = await session.next(deadline);
      if (!item) {
        // Abort whatever the chip may still be doing, so its late answer cannot meet the next command.
        if (acked) await this.link.write(PN532_ACK);
        return { kind: 'timeout', detail: acked ? `no response to ${name} in ${this.responseTimeoutMs} ms` : `no ACK for ${name} in ${this.responseTimeoutMs} ms` };
      }
      switch (item.type) {
        case 'ack':
          if (!acked) {
            acked = true;
            deadline = performance.now() + this.responseTimeoutMs;
          }
          break;
        case 'nack':
          return { kind: 'resend', detail: 'chip sent NACK' };
        case 'error-frame':
          return { kind: 'resend', detail: 'chip sent an error frame' };
        case 'bad':
          // Noise between frames is not an answer; a corrupted answer after the ACK is asked for again.
          if (!acked || item.fault === 'garbage' || item.fault === 'truncated') break;
          if (nacks >= NACKS_PER_RESPONSE) return { kind: 'resend', detail: `response still corrupted after ${nacks} NACKs (${item.reason})` };
          nacks += 1;
          await this.link.write(PN532_NACK);
          deadline = performance.now() + this.responseTimeoutMs;
          break;
        case 'data':
          // A response proves the command ran even if its ACK was lost; anything else is stale.
          if (item.tfi === TFI_CHIP_TO_HOST && item.data[0] === code + 1) return { kind: 'response', data: item.data, bytes: item.bytes };
          break;
      }
    }
  }

  private refused(reason: string, bytes: Buffer): void {
    this.badFrames += 1;
    this.logger.warn({ reader: this.id, reason, bytes: hex(bytes) }, 'bad frame refused');
    this.safeEmit('badFrame', { reason, bytes });
  }

  private setChip(state: ChipState, detail: string | undefined): void {
    this.chip = state;
    this.chipDetail = detail;
    this.publishStatus();
  }

  private publishStatus(): void {
    const status = this.status();
    const key = `${status.state}|${status.detail ?? ''}|${status.firmware ?? ''}`;
    if (key === this.lastPublished) return;
    this.lastPublished = key;
    this.safeEmit('state', status);
  }

  /** A listener that throws must not break the polling loop or the serial data path. */
  private safeEmit<K extends keyof ReaderEvents>(event: K, ...args: ReaderEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: ReaderEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.logger.error({ err: error, reader: this.id, event }, 'reader event listener threw');
    }
  }
}

/** One open port's conversation with the chip: its received frames, and an abort for everything. */
class Session {
  readonly inbox: Pn532Item[] = [];
  wake: (() => void) | undefined;
  private readonly controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(): void {
    this.controller.abort();
  }

  /** The next frame, or undefined at `deadline` (performance.now() time); throws once aborted. */
  async next(deadline: number): Promise<Pn532Item | undefined> {
    for (;;) {
      this.signal.throwIfAborted();
      const item = this.inbox.shift();
      if (item) return item;
      const remaining = deadline - performance.now();
      if (remaining <= 0) return undefined;
      await this.waitUpTo(remaining);
    }
  }

  /** Resolves after `ms` or at abort, whichever is first; never rejects. */
  pause(ms: number): Promise<void> {
    return this.sleep(ms, false);
  }

  /** Like pause(), but a received frame (wake()) also ends it. */
  private waitUpTo(ms: number): Promise<void> {
    return this.sleep(ms, true);
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.signal;
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      if (wakeable) this.wake = done;
    });
  }
}

/** Decides whether a poll's card is a new presentation (see the Pn532Reader comment). */
class CardPresence {
  private uid: string | undefined;
  private lastSeen = 0;

  constructor(private readonly holdMs: number) {}

  /** Records one poll's answer at time `now`; true when `uid` is a presentation to report. */
  observe(uid: string | undefined, now: number): boolean {
    if (uid === undefined) {
      if (this.uid !== undefined && now - this.lastSeen >= this.holdMs) this.uid = undefined;
      return false;
    }
    const isNew = uid !== this.uid;
    this.uid = uid;
    this.lastSeen = now;
    return isNew;
  }

  clear(): void {
    this.uid = undefined;
  }
}
