import { EventEmitter } from 'node:events';
import type { CardRead } from '../../core/credential.js';
import { encodeAsciiLine } from '../codecs/ascii-line.js';
import { encodeEm4100Frame } from '../codecs/em4100.js';
import { encodeWiegand, wiegandFields } from '../codecs/wiegand.js';
import { AsciiOptions, WiegandOptions, type ReaderProtocol } from '../reader-protocols.js';
import type { ReaderSimulator, SimulatorEvents, SimulatorPort } from './simulator.js';

/** The reader protocols that only send: nothing to answer, no feedback to take. */
export type PassiveProtocol = Extract<ReaderProtocol, 'rdm6300' | 'em18' | 'wiegand' | 'ascii'>;

export interface PassiveReaderSimulatorOptions {
  protocol: PassiveProtocol;
  port: SimulatorPort;
  /** For `wiegand`; the schema defaults (26 bits, bit string) when absent. */
  wiegand?: WiegandOptions;
  /** For `ascii`; the schema defaults (EM4100 hex) when absent. */
  ascii?: AsciiOptions;
}

/**
 * A passive badge reader on the far end of a serial line: each tap writes the frame the real
 * device would send for that card. There is no session to open or close, so start and stop do
 * nothing.
 */
export class PassiveReaderSimulator extends EventEmitter<SimulatorEvents> implements ReaderSimulator {
  constructor(private readonly options: PassiveReaderSimulatorOptions) {
    super();
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  /** Rejects with a RangeError when this reader could not send the card (wrong family or size). */
  async tap(card: CardRead): Promise<void> {
    const frame = encodePassiveFrame(this.options.protocol, card, this.options);
    await this.options.port.write(frame);
    this.emit('note', `${this.options.protocol}: sent ${card.kind} ${card.uid} as ${frame.length} bytes`);
  }
}

/** The bytes a passive reader of `protocol` sends when `read` is presented. */
export function encodePassiveFrame(
  protocol: PassiveProtocol,
  read: CardRead,
  options: { wiegand?: WiegandOptions; ascii?: AsciiOptions } = {},
): Buffer {
  switch (protocol) {
    case 'rdm6300':
    case 'em18':
      return encodeEm4100Frame(em4100FrameUid(read, protocol), protocol === 'rdm6300' ? 'stx-etx' : 'bare');
    case 'wiegand': {
      const wiegand = options.wiegand ?? WiegandOptions.parse({});
      const { facility, card } = wiegandFields(read, wiegand.bits);
      return encodeWiegand(facility, card, wiegand);
    }
    case 'ascii':
      return encodeAsciiLine(read, options.ascii ?? AsciiOptions.parse({}));
  }
}

/** EM4100 frames always carry the version byte; a 4-byte uid (card number only) gets 00. */
function em4100FrameUid(read: CardRead, protocol: PassiveProtocol): string {
  if (read.kind !== 'em4100') throw new RangeError(`an ${protocol} reader cannot send a ${read.kind} card`);
  if (/^[0-9A-Fa-f]{8}$/.test(read.uid)) return `00${read.uid}`;
  return read.uid;
}
