import type { CardRead } from '../core/credential.js';

/**
 * What a byte-stream decoder reports. A decoder never throws on input: garbage becomes a
 * `bad-frame` event and the decoder resynchronises on the next good frame.
 */
export type DecodeEvent =
  | { type: 'card'; read: CardRead; frame: Buffer }
  | { type: 'bad-frame'; reason: string; bytes: Buffer };

export interface StreamDecoder {
  /** Feeds bytes as they arrive (any chunking); returns the events completed by them. */
  push(chunk: Buffer): DecodeEvent[];
  /** End of input: reports a trailing partial frame as bad, then resets. */
  end(): DecodeEvent[];
}

/** Upper-case hex of a buffer, the form every uid takes. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** Bounds on buffered garbage: a decoder keeps at most this many bytes of an unfinished frame. */
export const MAX_PENDING_BYTES = 512;
