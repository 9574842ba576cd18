import type { CardRead } from '../../core/credential.js';
import { MAX_PENDING_BYTES, type DecodeEvent, type StreamDecoder } from '../codec.js';

const CR = 0x0d;
const LF = 0x0a;

/** What a line parser makes of one line: the card it names, or why it names none. */
export type LineResult = { read: CardRead } | { reason: string };

/**
 * The framing shared by readers that print one value per line (Wiegand converters, keyboard-wedge
 * readers). CR, LF and CR LF all end a line, so the decoder needs no option for the terminator and
 * reports a card at the first terminator byte, never waiting for a second one. Empty lines are the
 * second half of a CR LF and are ignored. Apart from Wiegand bit strings (parity), the lines carry
 * no check, so the parser's strictness about length and alphabet is their only defence against
 * line noise.
 */
export class LineDecoder implements StreamDecoder {
  private readonly pending = Buffer.alloc(MAX_PENDING_BYTES);
  private length = 0;
  /** Set once a line outgrew the buffer: its remaining bytes are refused up to the next line end. */
  private overlong = false;

  constructor(private readonly parse: (line: string) => LineResult) {}

  push(chunk: Buffer): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    for (const byte of chunk) {
      if (byte === CR || byte === LF) {
        this.finishLine(events);
        continue;
      }
      if (this.length === this.pending.length) {
        events.push({ type: 'bad-frame', reason: `line longer than ${MAX_PENDING_BYTES} bytes`, bytes: this.take() });
        this.overlong = true;
      }
      this.pending[this.length++] = byte;
    }
    return events;
  }

  end(): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    if (this.length > 0) {
      const reason = this.overlong ? `line longer than ${MAX_PENDING_BYTES} bytes` : 'line not terminated at end of input';
      events.push({ type: 'bad-frame', reason, bytes: this.take() });
    }
    this.overlong = false;
    return events;
  }

  private finishLine(events: DecodeEvent[]): void {
    if (this.overlong) {
      this.overlong = false;
      if (this.length > 0) {
        events.push({ type: 'bad-frame', reason: `line longer than ${MAX_PENDING_BYTES} bytes`, bytes: this.take() });
      }
      return;
    }
    if (this.length === 0) return;
    const line = this.take();
    // latin1 maps every byte to one character, so positions in reasons are byte positions.
    const result = this.parse(line.toString('latin1'));
    if ('read' in result) events.push({ type: 'card', read: result.read, frame: line });
    else events.push({ type: 'bad-frame', reason: result.reason, bytes: line });
  }

  private take(): Buffer {
    const bytes = Buffer.from(this.pending.subarray(0, this.length));
    this.length = 0;
    return bytes;
  }
}

/** A character as a reason can show it: printable ASCII quoted, anything else as 0xNN. */
export function describeChar(text: string, index: number): string {
  const code = text.charCodeAt(index);
  return code >= 0x20 && code < 0x7f ? `"${text[index]}"` : `0x${code.toString(16).padStart(2, '0').toUpperCase()}`;
}

/** The first character of `text` outside `allowed`, described for a reason, or undefined. */
export function firstBadChar(text: string, allowed: RegExp): string | undefined {
  for (let i = 0; i < text.length; i += 1) {
    if (!allowed.test(text[i] ?? '')) return `${describeChar(text, i)} at position ${i + 1}`;
  }
  return undefined;
}
