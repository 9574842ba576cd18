import type { CardRead } from '../../core/credential.js';
import { parseCardText } from '../codecs/card-text.js';
import type { AsciiOptions, ReaderProtocol, WiegandOptions } from '../reader-protocols.js';
import { BridgeDeviceSimulator, parseBridgeCardText } from './bridge-device.js';
import { PassiveReaderSimulator } from './passive-reader-sim.js';
import { Pn532ChipSimulator, parsePn532CardText } from './pn532-chip.js';
import type { ReaderSimulator, SimulatorPort } from './simulator.js';

export interface SimulatorSpec {
  protocol: ReaderProtocol;
  port: SimulatorPort;
  wiegand: WiegandOptions;
  ascii: AsciiOptions;
}

export function createSimulator(spec: SimulatorSpec): ReaderSimulator {
  switch (spec.protocol) {
    case 'pn532':
      return new Pn532ChipSimulator({ port: spec.port });
    case 'punchgate':
      return new BridgeDeviceSimulator({ port: spec.port });
    default:
      return new PassiveReaderSimulator({ protocol: spec.protocol, port: spec.port, wiegand: spec.wiegand, ascii: spec.ascii });
  }
}

/** What a person types after `--card`, in the form the protocol's cards take. Throws with a reason. */
export function parseSimulatedCard(protocol: ReaderProtocol, text: string, options: Pick<SimulatorSpec, 'wiegand' | 'ascii'>): CardRead {
  switch (protocol) {
    case 'pn532':
      return parsePn532CardText(text);
    case 'punchgate':
      return parseBridgeCardText(text);
    default:
      return parseCardText(protocol, text, options);
  }
}
