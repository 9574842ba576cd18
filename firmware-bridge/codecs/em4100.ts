import { em4100Number, type CardRead } from '../../core/credential.js';
import { MAX_PENDING_BYTES, type DecodeEvent, type StreamDecoder } from '../codec.js';

export type Em4100Framing = 'stx-etx' | 'bare';

const STX = 0x02;
const ETX = 0x03;
const CR = 0x0d;
const LF = 0x0a;
const CHARS = 12;
const FRAME = CHARS + 2;

export interface Em4100DecoderOptions {
  framing: Em4100Framing;
  /** bare: a silence longer than this between chunks restarts the window. Infinity turns it off. */
  idleGapMs?: number;
  /** Monotonic milliseconds; tests pass their own clock to make arrival times part of the input. */
  now?: () => number;
}

/**
 * EM4100 (125 kHz) readers that print the tag as 12 ASCII hex characters: 10 of data (a
 * version/customer byte then the 4-byte card number) and 2 of checksum, the XOR of the 5 data
 * bytes.
 *
 * - `stx-etx` (RDM6300): the 12 characters sit between STX (0x02) and ETX (0x03), 14 bytes.
 *   A frame is complete after 13 bytes following its STX; an STX before that cuts it short
 *   (hex digits and ETX are never 0x02, so a new STX always starts a new frame).
 * - `bare` (EM-18): the 12 characters with no delimiters. The decoder keeps a 12-character
 *   window and slides it one character at a time until the checksum holds, so it finds its way
 *   back into step after a dropped or extra byte. Sliding alone cannot be trusted, though: the
 *   XOR check holds for every rotation of a valid frame, so when the same card is read twice
 *   back to back, a window that is out of step by any number of characters passes and names a
 *   card that does not exist. Real modules leave an idle gap between reads (a frame takes
 *   12.5 ms at 9600 baud), so the window also restarts after a silence of `idleGapMs` (default
 *   50 ms), and at any non-hex byte (the CR or LF that some modules append, or noise). The
 *   gap is measured between chunks as they reach the decoder, so a stall of the process in the
 *   middle of a read costs that read (refused as incomplete) rather than shifting the next.
 *
 * Case: real modules print upper-case hex; lower-case is accepted too, because the checksum
 * decides whether the bytes are right and case carries no information. The uid is always
 * reported upper-case.
 *
 * Line ends: CR and LF between frames are ignored in both framings, so a module or converter that
 * adds them is not flagged on every read.
 *
 * The checksum is only 8 bits. In `bare` framing, a read corrupted by an extra character can
 * still pass (about 1 in 256) on a window that starts one character late, so a noisy line can,
 * rarely, produce a read that was never presented; `stx-etx` framing is not exposed to that.
 */
export class Em4100Decoder implements StreamDecoder {
  private readonly framing: Em4100Framing;
  private readonly idleGapMs: number;
  private readonly now: () => number;
  private lastChunkAt: number | undefined;
  /** stx-etx: the frame from its STX; bare: the sliding window of hex characters. */
  private readonly frame = Buffer.alloc(FRAME);
  private length = 0;
  /** bare: how many leading window characters were already refused in a reported bad frame. */
  private reported = 0;
  /** Bytes outside any frame, reported together when the next frame starts (or at the bound). */
  private readonly garbage = Buffer.alloc(MAX_PENDING_BYTES);
  private garbageLength = 0;

  constructor(options: Em4100DecoderOptions) {
    this.framing = options.framing;
    this.idleGapMs = options.idleGapMs ?? 50;
    this.now = options.now ?? (() => performance.now());
  }

  push(chunk: Buffer): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    if (this.framing === 'bare') {
      const at = this.now();
      if (this.lastChunkAt !== undefined && at - this.lastChunkAt > this.idleGapMs) {
        this.endWindow('before an idle gap', events);
      }
      this.lastChunkAt = at;
    }
    for (const byte of chunk) {
      if (this.framing === 'stx-etx') this.pushFramed(byte, events);
      else this.pushBare(byte, events);
    }
    return events;
  }

  end(): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    if (this.framing === 'stx-etx') {
      if (this.length > 0) {
        events.push(bad(`frame cut short at end of input after ${this.length} of ${FRAME} bytes`, this.frame.subarray(0, this.length)));
      }
      this.length = 0;
    } else {
      this.endWindow('at end of input', events);
      this.lastChunkAt = undefined;
    }
    this.flushGarbage(events);
    return events;
  }

  private pushFramed(byte: number, events: DecodeEvent[]): void {
    if (this.length > 0) {
      if (byte !== STX) {
        this.frame[this.length++] = byte;
        if (this.length === FRAME) {
          events.push(checkFramed(this.frame));
          this.length = 0;
        }
        return;
      }
      events.push(bad(`frame cut short by a new STX after ${this.length} of ${FRAME} bytes`, this.frame.subarray(0, this.length)));
      this.length = 0;
    }
    if (byte === STX) {
      this.flushGarbage(events);
      this.frame[this.length++] = byte;
    } else {
      this.addGarbage(byte, events);
    }
  }

  private pushBare(byte: number, events: DecodeEvent[]): void {
    if (hexValue(byte) < 0) {
      this.endWindow(`before byte 0x${hexByte(byte)}`, events);
      this.addGarbage(byte, events);
      return;
    }
    this.flushGarbage(events);
    this.frame[this.length++] = byte;
    if (this.length < CHARS) return;
    const window = this.frame.subarray(0, CHARS);
    const problem = checksumProblem(window);
    if (problem === undefined) {
      events.push(card(window));
      this.length = 0;
      this.reported = 0;
      return;
    }
    // Windows that still hold refused characters are expected to fail while sliding back into
    // step; only a window of characters never reported before is a new bad frame.
    if (this.reported === 0) {
      events.push(bad(problem, window));
      this.reported = CHARS;
    }
    this.frame.copyWithin(0, 1, CHARS);
    this.length -= 1;
    this.reported -= 1;
  }

  /** bare: a non-hex byte or the end of input ends the window; unreported characters are refused. */
  private endWindow(where: string, events: DecodeEvent[]): void {
    if (this.length > this.reported) {
      const count = this.length - this.reported;
      events.push(bad(`incomplete frame: ${count} of ${CHARS} hex characters ${where}`, this.frame.subarray(this.reported, this.length)));
    }
    this.length = 0;
    this.reported = 0;
  }

  private addGarbage(byte: number, events: DecodeEvent[]): void {
    if (byte === CR || byte === LF) {
      this.flushGarbage(events);
      return;
    }
    this.garbage[this.garbageLength++] = byte;
    if (this.garbageLength === this.garbage.length) this.flushGarbage(events);
  }

  private flushGarbage(events: DecodeEvent[]): void {
    if (this.garbageLength === 0) return;
    const what = this.framing === 'stx-etx' ? 'outside a frame' : 'that are not hex digits';
    events.push(bad(`${this.garbageLength} bytes ${what}`, this.garbage.subarray(0, this.garbageLength)));
    this.garbageLength = 0;
  }
}

/** Encodes a 10-hex-character EM4100 id (version byte + 4 card bytes) as the reader sends it. */
export function encodeEm4100Frame(uid: string, framing: Em4100Framing): Buffer {
  if (!/^[0-9A-Fa-f]{10}$/.test(uid)) throw new RangeError(`EM4100 uid "${uid}" must be 10 hex characters`);
  const data = Buffer.from(uid, 'hex');
  const text = uid.toUpperCase() + hexByte(data.reduce((sum, value) => sum ^ value, 0));
  const chars = Buffer.from(text, 'latin1');
  return framing === 'stx-etx' ? Buffer.concat([Buffer.of(STX), chars, Buffer.of(ETX)]) : chars;
}

function checkFramed(frame: Buffer): DecodeEvent {
  const last = frame[FRAME - 1] ?? 0;
  if (last !== ETX) return bad(`no ETX at the end of the frame (byte ${FRAME} is 0x${hexByte(last)})`, frame);
  const chars = frame.subarray(1, 1 + CHARS);
  const at = chars.findIndex((byte) => hexValue(byte) < 0);
  if (at >= 0) return bad(`byte ${at + 2} of the frame (0x${hexByte(chars[at] ?? 0)}) is not a hex digit`, frame);
  const problem = checksumProblem(chars);
  if (problem !== undefined) return bad(problem, frame);
  return card(chars, frame);
}

/** For 12 hex characters: undefined when the checksum holds, else why not. */
function checksumProblem(chars: Buffer): string | undefined {
  let xor = 0;
  for (let i = 0; i < 10; i += 2) xor ^= byteAt(chars, i);
  const stated = byteAt(chars, 10);
  if (xor === stated) return undefined;
  return `checksum mismatch: data XOR is ${hexByte(xor)}, frame says ${hexByte(stated)}`;
}

function card(chars: Buffer, frame: Buffer = chars): DecodeEvent {
  const uid = chars.subarray(0, 10).toString('latin1').toUpperCase();
  const read: CardRead = { kind: 'em4100', uid, number: em4100Number(uid) };
  return { type: 'card', read, frame: Buffer.from(frame) };
}

function bad(reason: string, bytes: Buffer): DecodeEvent {
  return { type: 'bad-frame', reason, bytes: Buffer.from(bytes) };
}

function byteAt(chars: Buffer, index: number): number {
  return (hexValue(chars[index] ?? 0) << 4) | hexValue(chars[index + 1] ?? 0);
}

/** The value of an ASCII hex digit of either case, or -1. */
function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

function hexByte(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}
