import type { EventEmitter } from 'node:events';
import type { CardRead } from '../../core/credential.js';
import type { Feedback } from '../../core/feedback.js';

export interface SimulatorEvents {
  /** Feedback the gateway sent to this simulated reader (protocols that carry feedback). */
  feedback: [Feedback];
  /** Something worth printing for a person watching the simulator. */
  note: [string];
}

/**
 * A simulated reader on the far end of a serial line. It speaks its protocol exactly as the
 * device would (an active chip answers commands), so the gateway's real driver is exercised.
 */
export interface ReaderSimulator extends EventEmitter<SimulatorEvents> {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Presents a card. Resolves once its frame is on the wire (passive) or it is in the field (PN532). */
  tap(card: CardRead): Promise<void>;
}

/** The byte pipe a simulator talks through: a SerialLink in production use, anything in tests. */
export interface SimulatorPort {
  write(bytes: Buffer): Promise<void>;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
}
