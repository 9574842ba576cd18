import { EventEmitter } from 'node:events';
import { CredentialError, normalizeCredential, type CardRead } from '../../core/credential.js';
import { hex } from '../codec.js';
import {
  BRTY_106_TYPE_A,
  buildInListPassiveTargetResponse,
  buildPn532Frame,
  PN532_ACK,
  PN532_ERROR_FRAME,
  Pn532Command,
  Pn532FrameParser,
  RF_CFG_MAX_RETRIES,
  TFI_CHIP_TO_HOST,
  TFI_HOST_TO_CHIP,
  type Pn532Firmware,
  type Pn532Item,
  type Pn532Target,
} from '../codecs/pn532-frame.js';
import type { ReaderSimulator, SimulatorEvents, SimulatorPort } from './simulator.js';

export interface Pn532ChipSimulatorOptions {
  port: SimulatorPort;
  /** What GetFirmwareVersion answers; a PN532 v1.6 by default (IC 0x32, support 0x07). */
  firmware?: Pn532Firmware;
  /** How long `tap()` leaves a card in the field: about a hand passing over the reader. */
  fieldMs?: number;
}

/**
 * - `asleep`: power-on or reset; only a 0x55 on the line wakes it, everything before is lost;
 * - `low-vbat`: awake but, as after a real power-up, it takes nothing but SAMConfiguration
 *   (libnfc `pn532_uart_send`: "to go out Low Vbat mode ... we need to send a SAMConfiguration");
 * - `normal`: answers every command it knows.
 */
type Power = 'asleep' | 'low-vbat' | 'normal';

const DEFAULT_FIRMWARE: Pn532Firmware = { ic: 0x32, ver: 1, rev: 6, support: 0x07 };
const DEFAULT_FIELD_MS = 300;
/** Chip processing time between the ACK and the response of a command that needs no RF. */
const ANSWER_DELAY_MS = 2;
/**
 * One passive activation attempt (REQA/anticollision/select timed out) costs the real chip a few
 * milliseconds; 10 ms each keeps NbTg=0 answers realistic (30 ms with libnfc's MxRty of 02).
 */
const ACTIVATION_ATTEMPT_MS = 10;
/** MxRtyPassiveActivation 0xFF, the power-up default, means retry until a card comes. */
const RETRY_FOREVER = 0xff;

/**
 * Test hooks for glitches: `corrupt-response` sends the next response with a wrong DCS (line
 * noise; a NACK gets the good copy), `error-frame` refuses the next command with an error frame.
 */
export type Pn532SimulatedFault = 'corrupt-response' | 'error-frame';

/**
 * A PN532 on the far end of a serial line, speaking HSU frames the way the chip does: it must be
 * woken and SAM-configured, ACKs each command before answering it, resends its last answer on a
 * NACK, answers a frame with a bad checksum with an error frame, and takes a host ACK as "abort".
 * An unknown command is ACKed and answered with an error frame (syntax error).
 */
export class Pn532ChipSimulator extends EventEmitter<SimulatorEvents> implements ReaderSimulator {
  private readonly port: SimulatorPort;
  private readonly firmware: Pn532Firmware;
  private readonly fieldMs: number;
  private readonly parser = new Pn532FrameParser();
  private readonly timers = new Set<NodeJS.Timeout>();
  private power: Power = 'asleep';
  private responsive = true;
  private started = false;
  private passiveRetries = RETRY_FOREVER;
  private card: Omit<Pn532Target, 'tg'> | undefined;
  private fieldTimer: NodeJS.Timeout | undefined;
  /** An InListPassiveTarget with no card and infinite retries: answered when a card arrives. */
  private waitingForCard = false;
  private lastResponse: Buffer | undefined;
  private readonly faults: Pn532SimulatedFault[] = [];
  private writes: Promise<void> = Promise.resolve();
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);

  constructor(options: Pn532ChipSimulatorOptions) {
    super();
    this.port = options.port;
    this.firmware = options.firmware ?? DEFAULT_FIRMWARE;
    this.fieldMs = options.fieldMs ?? DEFAULT_FIELD_MS;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.port.on('data', this.onData);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.port.off('data', this.onData);
    this.cancelWork();
    clearTimeout(this.fieldTimer);
    this.fieldTimer = undefined;
    this.card = undefined;
    await this.writes;
  }

  /** Puts a MIFARE card in the field for `fieldMs`; resolves once it is there. */
  async tap(card: CardRead, options: { fieldMs?: number } = {}): Promise<void> {
    if (card.kind !== 'mifare') throw new CredentialError(`a PN532 reads ISO 14443 A (mifare) cards, not ${card.kind}`);
    const uid = Buffer.from(normalizeCredential(card).uid, 'hex');
    this.card = targetFor(uid);
    clearTimeout(this.fieldTimer);
    this.fieldTimer = setTimeout(() => {
      this.fieldTimer = undefined;
      this.card = undefined;
      this.emit('note', `card ${hex(uid)} left the field`);
    }, options.fieldMs ?? this.fieldMs);
    this.emit('note', `card ${hex(uid)} in the field`);
    if (this.waitingForCard) {
      this.waitingForCard = false;
      this.later(ANSWER_DELAY_MS, () => this.answerList());
    }
  }

  /**
   * Test hook for a failing chip: unresponsive, it reads and ignores everything. It comes back
   * as a chip that was reset: asleep, needing the wake-up and SAMConfiguration again.
   */
  setResponsive(responsive: boolean): void {
    if (responsive === this.responsive) return;
    this.responsive = responsive;
    if (!responsive) {
      this.cancelWork();
      this.parser.reset();
      this.power = 'asleep';
      this.passiveRetries = RETRY_FOREVER;
      this.lastResponse = undefined;
    }
    this.emit('note', responsive ? 'chip answering again (reset, asleep)' : 'chip silent');
  }

  /** Queues a glitch for the next command or response (see Pn532SimulatedFault). */
  failNext(fault: Pn532SimulatedFault): void {
    this.faults.push(fault);
  }

  faultsPending(): number {
    return this.faults.length;
  }

  private receive(chunk: Buffer): void {
    if (!this.responsive) return;
    let bytes = chunk;
    if (this.power === 'asleep') {
      const wake = bytes.indexOf(0x55);
      if (wake < 0) return;
      this.power = 'low-vbat';
      this.emit('note', 'woken up');
      bytes = bytes.subarray(wake + 1);
    }
    for (const item of this.parser.push(bytes)) this.handle(item);
  }

  private handle(item: Pn532Item): void {
    switch (item.type) {
      case 'bad':
        // Leftover 0x55 and line noise are not frames; a frame that fails its checks is.
        if (item.fault !== 'garbage' && item.fault !== 'truncated') {
          this.emit('note', `host frame refused: ${item.reason}`);
          this.send(PN532_ERROR_FRAME);
        }
        return;
      case 'ack':
        // A host ACK aborts the command in progress.
        this.cancelWork();
        this.emit('note', 'host ACK: command aborted');
        return;
      case 'nack':
        if (this.lastResponse) this.send(this.lastResponse);
        return;
      case 'error-frame':
        return;
      case 'data':
        if (item.tfi === TFI_HOST_TO_CHIP) this.command(item.data);
        return;
    }
  }

  private command(data: Buffer): void {
    const code = data[0];
    if (code === undefined) return;
    if (this.power === 'low-vbat' && code !== Pn532Command.SAMConfiguration) return;
    // A new command replaces one still in progress, as the chip handles one at a time.
    this.cancelWork();
    this.send(PN532_ACK);
    if (this.faults[0] === 'error-frame') {
      this.faults.shift();
      this.later(ANSWER_DELAY_MS, () => this.send(PN532_ERROR_FRAME));
      return;
    }
    const params = data.subarray(1);
    switch (code) {
      case Pn532Command.GetFirmwareVersion: {
        const { ic, ver, rev, support } = this.firmware;
        this.later(ANSWER_DELAY_MS, () => this.respond([code + 1, ic, ver, rev, support]));
        return;
      }
      case Pn532Command.SAMConfiguration:
        this.later(ANSWER_DELAY_MS, () => {
          this.power = 'normal';
          this.emit('note', 'SAM configured: normal mode');
          this.respond([code + 1]);
        });
        return;
      case Pn532Command.RFConfiguration:
        if (params[0] === RF_CFG_MAX_RETRIES && params[3] !== undefined) this.passiveRetries = params[3];
        this.later(ANSWER_DELAY_MS, () => this.respond([code + 1]));
        return;
      case Pn532Command.InListPassiveTarget:
        this.listPassiveTarget(params);
        return;
      default:
        this.later(ANSWER_DELAY_MS, () => this.send(PN532_ERROR_FRAME));
    }
  }

  private listPassiveTarget(params: Buffer): void {
    const maxTg = params[0];
    if (maxTg === undefined || maxTg < 1 || maxTg > 2 || params[1] !== BRTY_106_TYPE_A) {
      this.later(ANSWER_DELAY_MS, () => this.send(PN532_ERROR_FRAME));
      return;
    }
    if (this.card) {
      this.later(ACTIVATION_ATTEMPT_MS, () => this.answerList());
    } else if (this.passiveRetries === RETRY_FOREVER) {
      this.waitingForCard = true;
    } else {
      this.later((this.passiveRetries + 1) * ACTIVATION_ATTEMPT_MS, () => this.answerList());
    }
  }

  private answerList(): void {
    this.respond(buildInListPassiveTargetResponse(this.card ? [this.card] : []));
  }

  private respond(data: readonly number[] | Buffer): void {
    const frame = buildPn532Frame(TFI_CHIP_TO_HOST, Buffer.from(data));
    this.lastResponse = frame;
    if (this.faults[0] === 'corrupt-response') {
      this.faults.shift();
      const garbled = Buffer.from(frame);
      garbled[garbled.length - 2] = (garbled[garbled.length - 2] ?? 0) ^ 0x5a;
      this.send(garbled);
      return;
    }
    this.send(frame);
  }

  private send(bytes: Buffer): void {
    // Chained so an ACK always leaves before the response that follows it.
    this.writes = this.writes
      .then(() => this.port.write(bytes))
      .catch((error: unknown) => {
        this.emit('note', `write failed: ${error instanceof Error ? error.message : String(error)}`);
      });
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.responsive && this.started) action();
    }, ms);
    this.timers.add(timer);
  }

  private cancelWork(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.waitingForCard = false;
  }
}

/** SENS_RES (ATQA) and SEL_RES (SAK) of typical cards of each UID size. */
function targetFor(uid: Buffer): Omit<Pn532Target, 'tg'> {
  // ATQA bits 8-7 give the UID size (single, double, triple); SAK 08 is a MIFARE Classic 1K,
  // 00 an Ultralight/NTAG-like card that answers no RATS.
  if (uid.length === 4) return { sensRes: Buffer.from([0x00, 0x04]), selRes: 0x08, uid };
  if (uid.length === 7) return { sensRes: Buffer.from([0x00, 0x44]), selRes: 0x00, uid };
  return { sensRes: Buffer.from([0x00, 0x84]), selRes: 0x00, uid };
}

/**
 * The `--card` text of `punchgate simulate --protocol pn532`: the UID as 4, 7 or 10 bytes of hex,
 * either run together (04A1B2C3) or with ':' or ' ' between bytes (04:A1:B2:C3).
 */
export function parsePn532CardText(text: string): CardRead {
  const trimmed = text.trim();
  let digits: string;
  if (/[: ]/.test(trimmed)) {
    const groups = trimmed.split(/[: ]/);
    const wrong = groups.find((group) => !/^[0-9A-Fa-f]{2}$/.test(group));
    if (wrong !== undefined) {
      throw new CredentialError(`PN532 card "${text}": "${wrong}" is not one byte of hex (two hex digits between separators)`);
    }
    digits = groups.join('');
  } else {
    if (!/^[0-9A-Fa-f]*$/.test(trimmed) || trimmed.length === 0) {
      throw new CredentialError(`PN532 card "${text}" is not hex: give the UID as 4, 7 or 10 bytes, e.g. 04A1B2C3 or 04:A1:B2:C3`);
    }
    if (trimmed.length % 2 !== 0) throw new CredentialError(`PN532 card "${text}" has an odd number of hex digits`);
    digits = trimmed;
  }
  const bytes = digits.length / 2;
  if (bytes !== 4 && bytes !== 7 && bytes !== 10) {
    throw new CredentialError(`PN532 card "${text}" is ${bytes} bytes; a MIFARE UID is 4, 7 or 10 bytes`);
  }
  return { kind: 'mifare', uid: digits.toUpperCase() };
}
