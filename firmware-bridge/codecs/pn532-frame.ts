import type { CardRead } from '../../core/credential.js';
import { hex, MAX_PENDING_BYTES, type DecodeEvent, type StreamDecoder } from '../codec.js';

/**
 * PN532 host interface frames (NXP UM0701 §6.2; libnfc `pn532_uart.c`), as sent over HSU:
 * normal `00 00 FF LEN LCS TFI PD.. DCS 00`, extended `00 00 FF FF FF LENM LENL LCS TFI PD.. DCS 00`,
 * ACK `00 00 FF 00 FF 00`, NACK `00 00 FF FF 00 00`, error frame `00 00 FF 01 FF 7F 81 00`.
 */

export const TFI_HOST_TO_CHIP = 0xd4;
export const TFI_CHIP_TO_HOST = 0xd5;
/** The TFI of the application-level error frame. */
export const TFI_ERROR = 0x7f;

export const PN532_ACK = Buffer.from([0x00, 0x00, 0xff, 0x00, 0xff, 0x00]);
export const PN532_NACK = Buffer.from([0x00, 0x00, 0xff, 0xff, 0x00, 0x00]);
export const PN532_ERROR_FRAME = Buffer.from([0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00]);

/**
 * HSU wake-up: 0x55 makes the chip leave power-down, and the zeros give it time to start its
 * oscillator before the first real frame (libnfc sends three; some boards need more, so 14).
 */
export const PN532_WAKE_UP = Buffer.from([0x55, 0x55, ...new Array<number>(14).fill(0x00)]);

export const Pn532Command = {
  GetFirmwareVersion: 0x02,
  SAMConfiguration: 0x14,
  RFConfiguration: 0x32,
  InListPassiveTarget: 0x4a,
} as const;

/** SAMConfiguration mode 0x01: normal mode, no SAM. Also what takes a PN532 out of LowVbat. */
export const SAM_MODE_NORMAL = 0x01;
/** RFConfiguration item 0x05: MxRtyATR, MxRtyPSL, MxRtyPassiveActivation. */
export const RF_CFG_MAX_RETRIES = 0x05;
/** InListPassiveTarget BrTy 0x00: 106 kbps type A (ISO/IEC 14443 A, MIFARE). */
export const BRTY_106_TYPE_A = 0x00;
/** Largest extended frame payload: TFI + 264 bytes of PD (libnfc PN53x_EXTENDED_FRAME__DATA_MAX_LEN). */
const MAX_EXTENDED_LEN = 265;

const START_CODE = Buffer.from([0x00, 0xff]);

export type Pn532Fault =
  | 'garbage'
  | 'length-checksum'
  | 'data-checksum'
  | 'postamble'
  | 'bad-length'
  | 'unknown-tfi'
  | 'truncated';

export type Pn532Item =
  | { type: 'ack'; bytes: Buffer }
  | { type: 'nack'; bytes: Buffer }
  | { type: 'error-frame'; bytes: Buffer }
  | { type: 'data'; tfi: number; data: Buffer; bytes: Buffer }
  | { type: 'bad'; fault: Pn532Fault; reason: string; bytes: Buffer };

/** Builds a normal frame, or an extended one when TFI + data do not fit in one length byte. */
export function buildPn532Frame(tfi: number, data: Uint8Array): Buffer {
  const len = 1 + data.length;
  if (len > MAX_EXTENDED_LEN) throw new RangeError(`PN532 frame payload of ${len} bytes exceeds ${MAX_EXTENDED_LEN}`);
  let sum = tfi;
  for (const byte of data) sum += byte;
  const dcs = (0x100 - (sum & 0xff)) & 0xff;
  const header =
    len <= 0xff
      ? [0x00, 0x00, 0xff, len, (0x100 - len) & 0xff]
      : [0x00, 0x00, 0xff, 0xff, 0xff, len >> 8, len & 0xff, (0x100 - (((len >> 8) + len) & 0xff)) & 0xff];
  return Buffer.concat([Buffer.from(header), Buffer.from([tfi]), Buffer.from(data), Buffer.from([dcs, 0x00])]);
}

/** A host-to-chip command frame: TFI D4, the command code, then its parameters. */
export function buildPn532Command(code: number, params: readonly number[] = []): Buffer {
  return buildPn532Frame(TFI_HOST_TO_CHIP, Buffer.from([code, ...params]));
}

/** `00 00 FF 03 FD D4 14 01 17 00`: normal mode, no time-out or IRQ parameters (as libnfc sends it). */
export function samConfigurationCommand(): Buffer {
  return buildPn532Command(Pn532Command.SAMConfiguration, [SAM_MODE_NORMAL]);
}

export function getFirmwareVersionCommand(): Buffer {
  return buildPn532Command(Pn532Command.GetFirmwareVersion);
}

/** `00 00 FF 04 FC D4 4A 01 00 E1 00`: at most one target, 106 kbps type A. */
export function inListPassiveTargetCommand(): Buffer {
  return buildPn532Command(Pn532Command.InListPassiveTarget, [0x01, BRTY_106_TYPE_A]);
}

/**
 * RFConfiguration MaxRetries. The chip's default MxRtyPassiveActivation is 0xFF (retry forever),
 * so InListPassiveTarget would never answer while no card is present; libnfc's finite values
 * (00, 01, 02) make it answer NbTg=0 after a few attempts.
 */
export function maxRetriesCommand(atr = 0x00, psl = 0x01, passiveActivation = 0x02): Buffer {
  return buildPn532Command(Pn532Command.RFConfiguration, [RF_CFG_MAX_RETRIES, atr, psl, passiveActivation]);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface Pn532Firmware {
  ic: number;
  ver: number;
  rev: number;
  support: number;
}

/** Parses the PD of a GetFirmwareVersion response: `03 IC Ver Rev Support`. */
export function parseFirmwareVersion(data: Buffer): Parsed<Pn532Firmware> {
  if (data[0] !== Pn532Command.GetFirmwareVersion + 1) return { ok: false, reason: 'not a GetFirmwareVersion response' };
  if (data.length !== 5) return { ok: false, reason: `GetFirmwareVersion response has ${data.length - 1} bytes, expected 4` };
  return { ok: true, value: { ic: data[1] ?? 0, ver: data[2] ?? 0, rev: data[3] ?? 0, support: data[4] ?? 0 } };
}

/** "PN532 v1.6": IC 0x32 is the PN532, as NXP numbers them. */
export function describeFirmware(firmware: Pn532Firmware): string {
  return `PN5${firmware.ic.toString(16).toUpperCase()} v${firmware.ver}.${firmware.rev}`;
}

export interface Pn532Target {
  tg: number;
  sensRes: Buffer;
  selRes: number;
  uid: Buffer;
  /** Present when SEL_RES says ISO/IEC 14443-4 and the chip sent RATS (its default). */
  ats?: Buffer;
}

const UID_LENGTHS = new Set([4, 7, 10]);
/** SEL_RES bit 6: the target is ISO/IEC 14443-4 compliant, so the PN532 appends its ATS. */
const SEL_RES_ISO14443_4 = 0x20;

/**
 * Parses the PD of an InListPassiveTarget response for 106 kbps type A:
 * `4B NbTg [Tg SENS_RES(2) SEL_RES NFCIDLen NFCID [ATS]]...`. Every length is checked against
 * the bytes actually present; a response with bytes left over is refused, not trimmed.
 */
export function parseInListPassiveTarget(data: Buffer): Parsed<Pn532Target[]> {
  if (data[0] !== Pn532Command.InListPassiveTarget + 1) return { ok: false, reason: 'not an InListPassiveTarget response' };
  const count = data[1];
  if (count === undefined) return { ok: false, reason: 'InListPassiveTarget response has no NbTg' };
  // A PN532 lists at most two targets at once.
  if (count > 2) return { ok: false, reason: `InListPassiveTarget NbTg ${count} is more than 2` };
  const targets: Pn532Target[] = [];
  let at = 2;
  for (let n = 0; n < count; n += 1) {
    if (data.length < at + 5) return { ok: false, reason: `target ${n + 1} is cut short` };
    const tg = data[at] ?? 0;
    const sensRes = data.subarray(at + 1, at + 3);
    const selRes = data[at + 3] ?? 0;
    const uidLength = data[at + 4] ?? 0;
    if (!UID_LENGTHS.has(uidLength)) return { ok: false, reason: `target ${n + 1} NFCIDLen ${uidLength} is not 4, 7 or 10` };
    at += 5;
    if (data.length < at + uidLength) {
      return { ok: false, reason: `target ${n + 1} NFCIDLen ${uidLength} but only ${data.length - at} bytes follow` };
    }
    const uid = Buffer.from(data.subarray(at, at + uidLength));
    at += uidLength;
    let ats: Buffer | undefined;
    // The ATS is there only if the chip performed RATS; with auto-RATS off it is absent.
    if ((selRes & SEL_RES_ISO14443_4) !== 0 && at < data.length) {
      const atsLength = data[at] ?? 0;
      if (atsLength < 1 || data.length < at + atsLength) {
        return { ok: false, reason: `target ${n + 1} ATS length ${atsLength} does not fit the response` };
      }
      ats = Buffer.from(data.subarray(at, at + atsLength));
      at += atsLength;
    }
    targets.push({ tg, sensRes: Buffer.from(sensRes), selRes, uid, ...(ats ? { ats } : {}) });
  }
  if (at !== data.length) return { ok: false, reason: `InListPassiveTarget response has ${data.length - at} unexpected trailing bytes` };
  return { ok: true, value: targets };
}

/** The PD of an InListPassiveTarget response, as a chip (or the simulator) would send it. */
export function buildInListPassiveTargetResponse(targets: readonly Omit<Pn532Target, 'tg'>[]): Buffer {
  const parts: number[] = [Pn532Command.InListPassiveTarget + 1, targets.length];
  targets.forEach((target, index) => {
    parts.push(index + 1, ...target.sensRes, target.selRes, target.uid.length, ...target.uid, ...(target.ats ?? []));
  });
  return Buffer.from(parts);
}

type FrameAttempt =
  | { kind: 'need-more' }
  | { kind: 'item'; item: Pn532Item; consumed: number }
  /** Not a frame after all: report it and rescan from just after the start code. */
  | { kind: 'reject'; fault: Pn532Fault; reason: string; bytes: Buffer };

/**
 * Streaming parser: push bytes in any chunking, get frames out. It locks on the start code
 * `00 FF` (the leading preamble 00 is optional, as the postamble of one frame may double as it),
 * reports bytes that are not part of any frame as `bad` garbage (runs of 00 are idle line, not
 * garbage), refuses frames whose LCS, DCS or postamble is wrong, and never holds more than
 * MAX_PENDING_BYTES. It never throws on input.
 */
export class Pn532FrameParser {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Pn532Item[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const items: Pn532Item[] = [];
    for (;;) {
      const start = this.pending.indexOf(START_CODE);
      if (start < 0) {
        this.holdGarbage(items);
        break;
      }
      // Keep the 00 preamble with its frame, so reported bytes are what was on the wire.
      const from = start > 0 && this.pending[start - 1] === 0x00 ? start - 1 : start;
      if (from > 0) {
        pushGarbage(items, this.pending.subarray(0, from));
        this.pending = this.pending.subarray(from);
      }
      const attempt = tryFrame(this.pending, start - from);
      if (attempt.kind === 'need-more') break;
      if (attempt.kind === 'item') {
        items.push(attempt.item);
        this.pending = this.pending.subarray(attempt.consumed);
      } else {
        items.push({ type: 'bad', fault: attempt.fault, reason: attempt.reason, bytes: attempt.bytes });
        this.pending = this.pending.subarray(start - from + START_CODE.length);
      }
    }
    // Keep our own copy so a caller's chunk buffer is never retained or aliased.
    this.pending = Buffer.from(this.pending);
    return items;
  }

  /** End of input: a partial frame or held garbage is reported as bad, then the parser resets. */
  end(): Pn532Item[] {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    if (!rest.some((byte) => byte !== 0x00)) return [];
    const inFrame = rest.indexOf(START_CODE) >= 0;
    return [
      inFrame
        ? { type: 'bad', fault: 'truncated', reason: 'input ended inside a frame', bytes: rest }
        : { type: 'bad', fault: 'garbage', reason: `${rest.length} bytes outside any frame`, bytes: rest },
    ];
  }

  /** Bytes held for an unfinished frame or undecided garbage: never above MAX_PENDING_BYTES. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Drops anything buffered without reporting it (a link that closed mid-frame). */
  reset(): void {
    this.pending = Buffer.alloc(0);
  }

  /**
   * No start code yet: keep up to two trailing zeros (a preamble and the first half of a start
   * code), and report the rest as garbage once it passes the bound. Zeros alone are idle line.
   */
  private holdGarbage(items: Pn532Item[]): void {
    let zeros = 0;
    while (zeros < 2 && this.pending[this.pending.length - 1 - zeros] === 0x00) zeros += 1;
    const idle = !this.pending.some((byte) => byte !== 0x00);
    if (!idle && this.pending.length <= MAX_PENDING_BYTES) return;
    const cut = this.pending.length - zeros;
    pushGarbage(items, this.pending.subarray(0, cut));
    this.pending = this.pending.subarray(cut);
  }
}

function pushGarbage(items: Pn532Item[], bytes: Buffer): void {
  if (!bytes.some((byte) => byte !== 0x00)) return;
  items.push({ type: 'bad', fault: 'garbage', reason: `${bytes.length} bytes outside any frame`, bytes: Buffer.from(bytes) });
}

/**
 * Tries to read one frame at the start of `buf`, whose start code `00 FF` is at `at` (0, or 1
 * after a preamble). `consumed` and reported bytes count from the start of `buf`.
 */
function tryFrame(buf: Buffer, at: number): FrameAttempt {
  const head = at + 2;
  if (buf.length < head + 2) return { kind: 'need-more' };
  const len = buf[head] ?? 0;
  const lcs = buf[head + 1] ?? 0;
  if (len === 0x00 && lcs === 0xff) return control(buf, head + 2, 'ack');
  if (len === 0xff && lcs === 0x00) return control(buf, head + 2, 'nack');
  if (len === 0xff && lcs === 0xff) {
    if (buf.length < head + 5) return { kind: 'need-more' };
    const high = buf[head + 2] ?? 0;
    const low = buf[head + 3] ?? 0;
    const extendedLcs = buf[head + 4] ?? 0;
    if (((high + low + extendedLcs) & 0xff) !== 0) {
      return reject('length-checksum', 'extended frame length checksum mismatch', buf.subarray(0, head + 5));
    }
    return body(buf, head + 5, (high << 8) | low);
  }
  if (((len + lcs) & 0xff) !== 0) return reject('length-checksum', 'length checksum mismatch', buf.subarray(0, head + 2));
  return body(buf, head + 2, len);
}

/** ACK and NACK: `postamble` is the index of their 00 postamble. */
function control(buf: Buffer, postamble: number, type: 'ack' | 'nack'): FrameAttempt {
  if (buf.length <= postamble) return { kind: 'need-more' };
  const bytes = Buffer.from(buf.subarray(0, postamble + 1));
  if (buf[postamble] !== 0x00) return reject('postamble', `${type.toUpperCase()} without its 00 postamble`, bytes);
  return { kind: 'item', item: { type, bytes }, consumed: postamble + 1 };
}

/** The TFI is at `tfiAt`; `len` counts TFI + PD. */
function body(buf: Buffer, tfiAt: number, len: number): FrameAttempt {
  if (len < 1) return reject('bad-length', 'frame with no TFI', buf.subarray(0, tfiAt));
  const total = tfiAt + len + 2;
  // A header claiming more than a PN532 sends is noise that passed its length checksum by chance.
  if (len > MAX_EXTENDED_LEN || total > MAX_PENDING_BYTES) {
    return reject('bad-length', `frame length ${len} is longer than a PN532 sends`, buf.subarray(0, tfiAt));
  }
  if (buf.length < total) return { kind: 'need-more' };
  const bytes = Buffer.from(buf.subarray(0, total));
  let sum = 0;
  for (let i = tfiAt; i <= tfiAt + len; i += 1) sum += buf[i] ?? 0;
  if ((sum & 0xff) !== 0) return refuse('data-checksum', 'data checksum mismatch', buf, tfiAt, total);
  if (buf[total - 1] !== 0x00) return refuse('postamble', 'frame without its 00 postamble', buf, tfiAt, total);
  const tfi = buf[tfiAt] ?? 0;
  const data = Buffer.from(buf.subarray(tfiAt + 1, tfiAt + len));
  if (tfi === TFI_ERROR && data.length === 0) return { kind: 'item', item: { type: 'error-frame', bytes }, consumed: total };
  if (tfi !== TFI_HOST_TO_CHIP && tfi !== TFI_CHIP_TO_HOST) {
    const name = `0x${tfi.toString(16).toUpperCase().padStart(2, '0')}`;
    return refuse('unknown-tfi', `unknown TFI ${name}`, buf, tfiAt, total);
  }
  return { kind: 'item', item: { type: 'data', tfi, data, bytes }, consumed: total };
}

function reject(fault: Pn532Fault, reason: string, bytes: Buffer): FrameAttempt {
  return { kind: 'reject', fault, reason, bytes: Buffer.from(bytes) };
}

/**
 * Refuses a frame whose header held. Usually its whole extent is consumed, so its bytes are not
 * reported twice; but a frame cut short (a dropped byte, a reset chip) claims bytes of the frame
 * after it, so a start code inside the extent is where scanning resumes.
 */
function refuse(fault: Pn532Fault, reason: string, buf: Buffer, tfiAt: number, total: number): FrameAttempt {
  const next = buf.subarray(0, total - 1).indexOf(START_CODE, tfiAt);
  const end = next < 0 ? total : buf[next - 1] === 0x00 && next - 1 >= tfiAt ? next - 1 : next;
  return { kind: 'item', item: { type: 'bad', fault, reason, bytes: Buffer.from(buf.subarray(0, end)) }, consumed: end };
}

/** A CardRead for a target's UID, in the order the card sent it (the canonical mifare form). */
export function targetToCardRead(target: Pn532Target): CardRead {
  return { kind: 'mifare', uid: hex(target.uid) };
}

/**
 * For `punchgate decode --protocol pn532`: fed captured chip-to-host bytes, reports the card of
 * every InListPassiveTarget response that lists one, and every refused frame. ACKs, error frames
 * and other well-formed responses carry no card and are passed over silently.
 */
export class Pn532ResponseDecoder implements StreamDecoder {
  private readonly parser = new Pn532FrameParser();

  push(chunk: Buffer): DecodeEvent[] {
    return this.parser.push(chunk).flatMap((item) => toEvents(item));
  }

  end(): DecodeEvent[] {
    return this.parser.end().flatMap((item) => toEvents(item));
  }
}

function toEvents(item: Pn532Item): DecodeEvent[] {
  if (item.type === 'bad') return [{ type: 'bad-frame', reason: item.reason, bytes: item.bytes }];
  if (item.type !== 'data' || item.tfi !== TFI_CHIP_TO_HOST || item.data[0] !== Pn532Command.InListPassiveTarget + 1) return [];
  const targets = parseInListPassiveTarget(item.data);
  if (!targets.ok) return [{ type: 'bad-frame', reason: targets.reason, bytes: item.bytes }];
  return targets.value.map((target) => ({ type: 'card', read: targetToCardRead(target), frame: item.bytes }));
}
