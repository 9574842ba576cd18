import type { EventEmitter } from 'node:events';
import type { CardRead } from '../core/credential.js';
import type { Feedback } from '../core/feedback.js';
import type { ReaderProtocol } from './reader-protocols.js';

/**
 * - `connecting`: the port is being opened (or the chip woken up);
 * - `ready`: frames can flow;
 * - `disconnected`: the port is gone; the driver keeps trying to re-open it with back-off;
 * - `unresponsive`: the port is open but the device stopped answering (active protocols);
 * - `stopped`: stop() was called.
 */
export type ReaderState = 'connecting' | 'ready' | 'disconnected' | 'unresponsive' | 'stopped';

export interface ReaderStatus {
  id: string;
  protocol: ReaderProtocol;
  path: string;
  state: ReaderState;
  detail?: string;
  /** Card frames decoded since start. */
  reads: number;
  /** Frames refused (checksum, parity, garbage) since start. */
  badFrames: number;
  /** Firmware identification, for devices that say who they are (PN532, punchgate bridge). */
  firmware?: string;
}

export interface ReaderEvents {
  card: [CardRead];
  badFrame: [{ reason: string; bytes: Buffer }];
  state: [ReaderStatus];
  /** The enclosure was opened or the device reported tampering (punchgate bridge protocol). */
  tamper: [{ active: boolean }];
}

/** A serial badge reader: bytes in, card reads out, feedback back where the device can show it. */
export interface ReaderDriver extends EventEmitter<ReaderEvents> {
  readonly id: string;
  readonly protocol: ReaderProtocol;
  status(): ReaderStatus;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Tells the person at the reader what happened. Resolves true once the device has the feedback
   * (acknowledged where the protocol has acks), false where the device cannot show feedback or
   * did not take it. Never rejects.
   */
  feedback(feedback: Feedback): Promise<boolean>;
}
