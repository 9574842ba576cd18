import { crc32 } from 'node:zlib';
import { CredentialError, em4100Number, type CardRead, type CredentialKind } from '../../core/credential.js';
import { feedbackKinds, type Feedback, type FeedbackKind } from '../../core/feedback.js';
import { hex, type DecodeEvent, type StreamDecoder } from '../codec.js';
import { cobsDecode, cobsEncode, cobsMaxEncodedLength } from './cobs.js';

/*
 * The punchgate bridge protocol, version 1: docs/bridge-protocol.md is the specification and
 * wins over this file. Frame = COBS(header | payload | CRC-32) 0x00; integers little-endian.
 */

export const BRIDGE_PROTOCOL_VERSION = 1;
export const BRIDGE_HEADER_BYTES = 4;
export const BRIDGE_CRC_BYTES = 4;
export const BRIDGE_MAX_PAYLOAD_BYTES = 128;
export const BRIDGE_MAX_TEXT_BYTES = 32;
/** Largest legal frame on the wire, delimiter included: what a receiver must be able to buffer. */
export const BRIDGE_MAX_FRAME_BYTES =
  cobsMaxEncodedLength(BRIDGE_HEADER_BYTES + BRIDGE_MAX_PAYLOAD_BYTES + BRIDGE_CRC_BYTES) + 1;

/** Timings and windows of the spec (section "Sequence numbers, acks and retransmission"). */
export const BRIDGE_DEFAULTS = {
  ackTimeoutMs: 200,
  maxRetries: 3,
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 3500,
  cardReadLifetimeMs: 5000,
  /** Most reliable frames a sender may have unacknowledged at once. */
  sendWindow: 8,
  /** Seqs a receiver remembers per peer; at least twice the send window. */
  dedupeMemory: 16,
} as const;

export const bridgeTypeCodes = {
  ack: 0x01,
  nack: 0x02,
  heartbeat: 0x03,
  'hello-request': 0x10,
  hello: 0x11,
  'card-read': 0x20,
  tamper: 0x21,
  feedback: 0x30,
} as const;

export type BridgeCardKind = Extract<CredentialKind, 'em4100' | 'mifare' | 'wiegand26' | 'wiegand34'>;
export const bridgeKindCodes: Record<BridgeCardKind, number> = { em4100: 0x01, mifare: 0x02, wiegand26: 0x03, wiegand34: 0x04 };
/** Pattern codes follow core/feedback.ts order, starting at 1: accepted = 1 ... identify = 6. */
export const bridgePatternCodes = Object.fromEntries(feedbackKinds.map((kind, index) => [kind, index + 1])) as Record<FeedbackKind, number>;

export const nackReasons = ['unsupported-version', 'unsupported-type', 'malformed', 'unsupported-value', 'other'] as const;
export type NackReason = (typeof nackReasons)[number];
const nackReasonCodes: Record<NackReason, number> = {
  'unsupported-version': 0x01,
  'unsupported-type': 0x02,
  malformed: 0x03,
  'unsupported-value': 0x04,
  other: 0xff,
};

export interface BridgeCapabilities {
  beeper: boolean;
  leds: boolean;
  display: boolean;
  tamperSwitch: boolean;
}

/** Reliable messages carry `seq` and must be acknowledged; the others are fire-and-forget. */
export type BridgeMessage =
  | { type: 'ack'; ackSeq: number }
  | { type: 'nack'; refusedSeq: number; refusedType: number; reason: NackReason }
  | { type: 'heartbeat'; uptimeMs: number }
  | { type: 'hello-request'; seq: number; newSession: boolean }
  | {
      type: 'hello';
      seq: number;
      boot: boolean;
      firmwareName: string;
      firmwareVersion: string;
      capabilities: BridgeCapabilities;
      displayWidth: number;
    }
  | { type: 'card-read'; seq: number; read: CardRead; readAtMs: number }
  | { type: 'tamper'; seq: number; active: boolean }
  | { type: 'feedback'; seq: number; feedback: Feedback };

export type ReliableBridgeMessage = Extract<BridgeMessage, { seq: number }>;

export function isReliable(message: BridgeMessage): message is ReliableBridgeMessage {
  return 'seq' in message;
}

/** What a receiver answers with a NACK: the frame's CRC was good, so its seq and type are trustworthy. */
export interface BridgeRefusal {
  refusedSeq: number;
  refusedType: number;
  reason: NackReason;
}

export type BridgeParseEvent =
  | { type: 'message'; message: BridgeMessage; bytes: Buffer }
  | { type: 'bad-frame'; reason: string; bytes: Buffer; refusal?: BridgeRefusal };

// ---------------------------------------------------------------- card reads and text

const uidLengths: Record<BridgeCardKind, readonly number[]> = { em4100: [5, 4], mifare: [4, 7, 10], wiegand26: [3], wiegand34: [4] };

export function isBridgeCardKind(kind: string): kind is BridgeCardKind {
  return Object.hasOwn(bridgeKindCodes, kind);
}

/** The CardRead for uid bytes of a kind, with the printed forms; throws CredentialError on a bad length. */
export function cardReadFromBytes(kind: BridgeCardKind, uid: Uint8Array): CardRead {
  if (!uidLengths[kind].includes(uid.length)) {
    throw new CredentialError(`${kind} uid must be ${uidLengths[kind].join(' or ')} bytes, got ${uid.length}`);
  }
  const uidHex = hex(uid);
  const bytes = Buffer.from(uid);
  switch (kind) {
    case 'em4100':
      return { kind, uid: uidHex, number: em4100Number(uidHex) };
    case 'mifare':
      return { kind, uid: uidHex };
    case 'wiegand26':
      return { kind, uid: uidHex, facility: bytes.readUInt8(0), card: bytes.readUInt16BE(1) };
    case 'wiegand34':
      return { kind, uid: uidHex, facility: bytes.readUInt16BE(0), card: bytes.readUInt16BE(2) };
  }
}

// C0 and C1 controls and DEL: a display line has no line breaks, tabs or escape sequences.
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/u;

/**
 * Makes any text a legal feedback line: controls become spaces and the UTF-8 form is cut to 32
 * bytes at a character boundary, so a long name never costs the person their beep.
 */
export function fitFeedbackText(text: string): string {
  let fitted = '';
  let bytes = 0;
  for (const char of text.replace(new RegExp(controlCharacters, 'gu'), ' ')) {
    const size = Buffer.byteLength(char);
    if (bytes + size > BRIDGE_MAX_TEXT_BYTES) break;
    fitted += char;
    bytes += size;
  }
  return fitted;
}

// ---------------------------------------------------------------- encoding

function checkInteger(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} must be an integer 0..${max}, got ${value}`);
}

function textBytes(name: string, text: string, min: number): Buffer {
  if (controlCharacters.test(text)) throw new RangeError(`${name} must be one line without control characters`);
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length < min || bytes.length > BRIDGE_MAX_TEXT_BYTES) {
    throw new RangeError(`${name} must be ${min}..${BRIDGE_MAX_TEXT_BYTES} bytes of UTF-8, got ${bytes.length}`);
  }
  return bytes;
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16LE(value);
  return bytes;
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

function encodePayload(message: BridgeMessage): Buffer {
  switch (message.type) {
    case 'ack':
      checkInteger('ackSeq', message.ackSeq, 0xffff);
      return u16(message.ackSeq);
    case 'nack':
      checkInteger('refusedSeq', message.refusedSeq, 0xffff);
      checkInteger('refusedType', message.refusedType, 0xff);
      return Buffer.concat([u16(message.refusedSeq), Buffer.from([message.refusedType, nackReasonCodes[message.reason]])]);
    case 'heartbeat':
      checkInteger('uptimeMs', message.uptimeMs, 0xffffffff);
      return u32(message.uptimeMs);
    case 'hello-request':
      return Buffer.from([message.newSession ? 1 : 0]);
    case 'hello': {
      checkInteger('displayWidth', message.displayWidth, 0xff);
      const { beeper, leds, display, tamperSwitch } = message.capabilities;
      const capabilities = (beeper ? 1 : 0) | (leds ? 2 : 0) | (display ? 4 : 0) | (tamperSwitch ? 8 : 0);
      const name = textBytes('firmwareName', message.firmwareName, 1);
      const version = textBytes('firmwareVersion', message.firmwareVersion, 0);
      return Buffer.concat([
        Buffer.from([message.boot ? 1 : 0, capabilities, message.displayWidth, name.length]),
        name,
        Buffer.from([version.length]),
        version,
      ]);
    }
    case 'card-read': {
      const { kind, uid } = message.read;
      if (!isBridgeCardKind(kind)) throw new RangeError(`credential kind ${kind} has no bridge code`);
      if (!/^(?:[0-9A-Fa-f]{2})+$/.test(uid)) throw new RangeError(`uid "${uid}" is not whole bytes of hex`);
      const uidBytes = Buffer.from(uid, 'hex');
      cardReadFromBytes(kind, uidBytes);
      checkInteger('readAtMs', message.readAtMs, 0xffffffff);
      return Buffer.concat([Buffer.from([bridgeKindCodes[kind], uidBytes.length]), uidBytes, u32(message.readAtMs)]);
    }
    case 'tamper':
      return Buffer.from([message.active ? 1 : 0]);
    case 'feedback': {
      const text = textBytes('feedback text', message.feedback.text ?? '', 0);
      return Buffer.concat([Buffer.from([bridgePatternCodes[message.feedback.kind], text.length]), text]);
    }
  }
}

/** The whole frame as it goes on the wire, trailing 0x00 delimiter included. Throws RangeError on an illegal message. */
export function encodeBridgeFrame(message: BridgeMessage): Buffer {
  const seq = isReliable(message) ? message.seq : 0;
  checkInteger('seq', seq, 0xffff);
  const payload = encodePayload(message);
  const body = Buffer.alloc(BRIDGE_HEADER_BYTES + payload.length + BRIDGE_CRC_BYTES);
  body.writeUInt8(BRIDGE_PROTOCOL_VERSION, 0);
  body.writeUInt8(bridgeTypeCodes[message.type], 1);
  body.writeUInt16LE(seq, 2);
  payload.copy(body, BRIDGE_HEADER_BYTES);
  const crcAt = body.length - BRIDGE_CRC_BYTES;
  body.writeUInt32LE(crc32(body.subarray(0, crcAt)), crcAt);
  return Buffer.concat([cobsEncode(body), Buffer.from([0])]);
}

// ---------------------------------------------------------------- decoding

class PayloadError extends Error {
  constructor(
    message: string,
    readonly nackReason: NackReason,
  ) {
    super(message);
  }
}

/** Reads fields in order and refuses a payload too short for them; trailing bytes are left unread on purpose. */
class PayloadReader {
  private at = 0;

  constructor(
    private readonly bytes: Buffer,
    private readonly what: string,
  ) {}

  private need(field: string, count: number): void {
    if (this.at + count > this.bytes.length) {
      throw new PayloadError(`${this.what}: ${field} needs ${count} byte(s) at offset ${this.at}, payload has ${this.bytes.length}`, 'malformed');
    }
  }

  u8(field: string): number {
    this.need(field, 1);
    return this.bytes.readUInt8(this.at++);
  }

  u16(field: string): number {
    this.need(field, 2);
    const value = this.bytes.readUInt16LE(this.at);
    this.at += 2;
    return value;
  }

  u32(field: string): number {
    this.need(field, 4);
    const value = this.bytes.readUInt32LE(this.at);
    this.at += 4;
    return value;
  }

  bytesOf(field: string, count: number): Buffer {
    this.need(field, count);
    const value = this.bytes.subarray(this.at, this.at + count);
    this.at += count;
    return value;
  }

  text(field: string, min: number): string {
    const length = this.u8(`${field} length`);
    if (length < min || length > BRIDGE_MAX_TEXT_BYTES) {
      throw new PayloadError(`${this.what}: ${field} length ${length} is outside ${min}..${BRIDGE_MAX_TEXT_BYTES}`, 'malformed');
    }
    let text: string;
    try {
      text = utf8.decode(this.bytesOf(field, length));
    } catch {
      throw new PayloadError(`${this.what}: ${field} is not valid UTF-8`, 'malformed');
    }
    if (controlCharacters.test(text)) throw new PayloadError(`${this.what}: ${field} contains control characters`, 'malformed');
    return text;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const kindByCode = new Map(Object.entries(bridgeKindCodes).map(([kind, code]) => [code, kind as BridgeCardKind]));
const nackReasonByCode = new Map(Object.entries(nackReasonCodes).map(([reason, code]) => [code, reason as NackReason]));

function decodeMessage(typeCode: number, seq: number, payload: Buffer): BridgeMessage {
  switch (typeCode) {
    case bridgeTypeCodes.ack:
      return { type: 'ack', ackSeq: new PayloadReader(payload, 'ack').u16('acked seq') };
    case bridgeTypeCodes.nack: {
      const reader = new PayloadReader(payload, 'nack');
      const refusedSeq = reader.u16('refused seq');
      const refusedType = reader.u8('refused type');
      const reason = nackReasonByCode.get(reader.u8('reason')) ?? 'other';
      return { type: 'nack', refusedSeq, refusedType, reason };
    }
    case bridgeTypeCodes.heartbeat:
      return { type: 'heartbeat', uptimeMs: new PayloadReader(payload, 'heartbeat').u32('uptime') };
    case bridgeTypeCodes['hello-request']:
      return { type: 'hello-request', seq, newSession: (new PayloadReader(payload, 'hello request').u8('flags') & 1) === 1 };
    case bridgeTypeCodes.hello: {
      const reader = new PayloadReader(payload, 'hello');
      const boot = (reader.u8('flags') & 1) === 1;
      const bits = reader.u8('capabilities');
      const displayWidth = reader.u8('display width');
      const firmwareName = reader.text('firmware name', 1);
      const firmwareVersion = reader.text('firmware version', 0);
      const capabilities = { beeper: (bits & 1) !== 0, leds: (bits & 2) !== 0, display: (bits & 4) !== 0, tamperSwitch: (bits & 8) !== 0 };
      return { type: 'hello', seq, boot, firmwareName, firmwareVersion, capabilities, displayWidth };
    }
    case bridgeTypeCodes['card-read']: {
      const reader = new PayloadReader(payload, 'card read');
      const kindCode = reader.u8('kind');
      const kind = kindByCode.get(kindCode);
      if (!kind) throw new PayloadError(`card read: unknown credential kind code 0x${kindCode.toString(16).padStart(2, '0')}`, 'unsupported-value');
      const uid = reader.bytesOf('uid', reader.u8('uid length'));
      const readAtMs = reader.u32('read time');
      try {
        return { type: 'card-read', seq, read: cardReadFromBytes(kind, uid), readAtMs };
      } catch (error) {
        throw new PayloadError(`card read: ${(error as Error).message}`, 'malformed');
      }
    }
    case bridgeTypeCodes.tamper: {
      const state = new PayloadReader(payload, 'tamper').u8('state');
      if (state > 1) throw new PayloadError(`tamper: state must be 0 or 1, got ${state}`, 'unsupported-value');
      return { type: 'tamper', seq, active: state === 1 };
    }
    case bridgeTypeCodes.feedback: {
      const reader = new PayloadReader(payload, 'feedback');
      const patternCode = reader.u8('pattern');
      const kind = feedbackKinds[patternCode - 1];
      if (!kind) throw new PayloadError(`feedback: unknown pattern code ${patternCode}`, 'unsupported-value');
      const text = reader.text('text', 0);
      return { type: 'feedback', seq, feedback: text ? { kind, text } : { kind } };
    }
    default:
      throw new PayloadError(`unsupported message type 0x${typeCode.toString(16).padStart(2, '0')}`, 'unsupported-type');
  }
}

/** Decodes one frame's bytes (between delimiters). Never throws. */
export function decodeBridgeFrame(encoded: Buffer): BridgeParseEvent {
  const bytes = Buffer.from(encoded);
  const cobs = cobsDecode(bytes);
  if (!cobs.ok) return { type: 'bad-frame', reason: cobs.reason, bytes };
  const body = cobs.data;
  if (body.length < BRIDGE_HEADER_BYTES + BRIDGE_CRC_BYTES) {
    return { type: 'bad-frame', reason: `too short: ${body.length} bytes after COBS, at least ${BRIDGE_HEADER_BYTES + BRIDGE_CRC_BYTES} needed`, bytes };
  }
  const crcAt = body.length - BRIDGE_CRC_BYTES;
  const sent = body.readUInt32LE(crcAt);
  const computed = crc32(body.subarray(0, crcAt));
  if (sent !== computed) {
    return { type: 'bad-frame', reason: `CRC mismatch: frame says ${sent.toString(16).padStart(8, '0')}, bytes give ${computed.toString(16).padStart(8, '0')}`, bytes };
  }
  const version = body.readUInt8(0);
  const typeCode = body.readUInt8(1);
  const seq = body.readUInt16LE(2);
  // ACK and NACK are never answered, whatever their version: two peers must not NACK each other forever.
  const answerable = typeCode !== bridgeTypeCodes.ack && typeCode !== bridgeTypeCodes.nack;
  const refuse = (reason: string, nackReason: NackReason): BridgeParseEvent => ({
    type: 'bad-frame',
    reason,
    bytes,
    ...(answerable ? { refusal: { refusedSeq: seq, refusedType: typeCode, reason: nackReason } } : {}),
  });
  if (version !== BRIDGE_PROTOCOL_VERSION) return refuse(`unsupported protocol version ${version}`, 'unsupported-version');
  try {
    return { type: 'message', message: decodeMessage(typeCode, seq, body.subarray(BRIDGE_HEADER_BYTES, crcAt)), bytes };
  } catch (error) {
    if (error instanceof PayloadError) return refuse(error.message, error.nackReason);
    throw error;
  }
}

// ---------------------------------------------------------------- streaming

/**
 * Splits a byte stream on 0x00 and decodes each frame. Holds at most one legal frame's worth of
 * bytes: a longer run without a delimiter is reported once and skipped up to the next 0x00.
 */
export class BridgeFrameParser {
  private readonly pending = Buffer.alloc(BRIDGE_MAX_FRAME_BYTES - 1);
  private length = 0;
  private overflowed = false;

  push(chunk: Buffer): BridgeParseEvent[] {
    const events: BridgeParseEvent[] = [];
    let start = 0;
    while (start < chunk.length) {
      const zero = chunk.indexOf(0, start);
      const end = zero < 0 ? chunk.length : zero;
      const overflow = this.append(chunk.subarray(start, end));
      if (overflow) events.push(overflow);
      if (zero < 0) break;
      const frame = this.finishFrame();
      if (frame) events.push(frame);
      start = zero + 1;
    }
    return events;
  }

  /** End of input: a partial frame is reported as bad. */
  end(): BridgeParseEvent[] {
    const partial = this.length > 0 && !this.overflowed ? Buffer.from(this.pending.subarray(0, this.length)) : undefined;
    this.reset();
    return partial ? [{ type: 'bad-frame', reason: 'truncated: input ended inside a frame', bytes: partial }] : [];
  }

  /** Forgets any partial frame silently (the port was re-opened: those bytes belong to nobody). */
  reset(): void {
    this.length = 0;
    this.overflowed = false;
  }

  private append(bytes: Buffer): BridgeParseEvent | undefined {
    if (this.overflowed || bytes.length === 0) return undefined;
    const room = this.pending.length - this.length;
    if (bytes.length <= room) {
      bytes.copy(this.pending, this.length);
      this.length += bytes.length;
      return undefined;
    }
    this.overflowed = true;
    const kept = Buffer.from(this.pending.subarray(0, this.length));
    return {
      type: 'bad-frame',
      reason: `too long: more than ${this.pending.length} bytes without a 0x00 delimiter; skipping to the next one`,
      bytes: Buffer.concat([kept, bytes.subarray(0, room)]),
    };
  }

  private finishFrame(): BridgeParseEvent | undefined {
    const { length, overflowed } = this;
    this.reset();
    // Empty frames (0x00 0x00) are legal padding: senders use a lone 0x00 to flush line noise.
    if (overflowed || length === 0) return undefined;
    return decodeBridgeFrame(this.pending.subarray(0, length));
  }
}

/**
 * The sequence numbers a receiver has accepted recently from one peer. A retransmission carries
 * a seq still in here, because the sender keeps at most `sendWindow` frames unacknowledged.
 */
export class RecentSeqs {
  private readonly seqs: number[] = [];

  constructor(private readonly size: number = BRIDGE_DEFAULTS.dedupeMemory) {}

  /** Records `seq`; false when it was already there (a retransmission). */
  accept(seq: number): boolean {
    if (this.seqs.includes(seq)) return false;
    this.seqs.push(seq);
    if (this.seqs.length > this.size) this.seqs.shift();
    return true;
  }

  clear(): void {
    this.seqs.length = 0;
  }
}

/**
 * For `punchgate decode --protocol punchgate`: card reads become cards, each once as the gateway
 * would count it (retransmissions are folded by seq); frames that fail COBS, CRC or validation
 * are bad frames; every other valid message is ignored.
 */
export class BridgeStreamDecoder implements StreamDecoder {
  private readonly parser = new BridgeFrameParser();
  private readonly seen = new RecentSeqs();

  push(chunk: Buffer): DecodeEvent[] {
    return this.translate(this.parser.push(chunk));
  }

  end(): DecodeEvent[] {
    const events = this.translate(this.parser.end());
    this.seen.clear();
    return events;
  }

  private translate(events: BridgeParseEvent[]): DecodeEvent[] {
    const out: DecodeEvent[] = [];
    for (const event of events) {
      if (event.type === 'bad-frame') {
        out.push({ type: 'bad-frame', reason: event.reason, bytes: event.bytes });
        continue;
      }
      const { message } = event;
      if (message.type === 'hello' && message.boot) this.seen.clear();
      if (message.type === 'card-read' && this.seen.accept(message.seq)) {
        out.push({ type: 'card', read: message.read, frame: event.bytes });
      }
    }
    return out;
  }
}
