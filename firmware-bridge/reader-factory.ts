import type { Logger } from 'pino';
import { Em4100Decoder } from './codecs/em4100.js';
import { WiegandDecoder } from './codecs/wiegand.js';
import { AsciiLineDecoder } from './codecs/ascii-line.js';
import { Pn532ResponseDecoder } from './codecs/pn532-frame.js';
import { BridgeStreamDecoder } from './codecs/bridge-frame.js';
import type { StreamDecoder } from './codec.js';
import { PassiveReader } from './drivers/passive-reader.js';
import { Pn532Reader } from './drivers/pn532-reader.js';
import { BridgeReader } from './drivers/bridge-reader.js';
import type { ReaderDriver } from './reader-driver.js';
import { AsciiOptions, WiegandOptions, defaultBaudRates, type ReaderProtocol } from './reader-protocols.js';

export interface ReaderSpec {
  id: string;
  path: string;
  protocol: ReaderProtocol;
  baudRate?: number;
  wiegand?: Partial<WiegandOptions>;
  ascii?: Partial<AsciiOptions>;
  minRetryMs?: number;
  maxRetryMs?: number;
}

/** A stream decoder for a protocol: what the drivers of passive readers and `punchgate decode` use. */
export function createDecoder(protocol: ReaderProtocol, options: Pick<ReaderSpec, 'wiegand' | 'ascii'> = {}): StreamDecoder {
  switch (protocol) {
    case 'rdm6300':
      return new Em4100Decoder({ framing: 'stx-etx' });
    case 'em18':
      return new Em4100Decoder({ framing: 'bare' });
    case 'wiegand':
      return new WiegandDecoder(WiegandOptions.parse(options.wiegand ?? {}));
    case 'ascii':
      return new AsciiLineDecoder(AsciiOptions.parse(options.ascii ?? {}));
    case 'pn532':
      return new Pn532ResponseDecoder();
    case 'punchgate':
      return new BridgeStreamDecoder();
  }
}

export function createReaderDriver(spec: ReaderSpec, logger: Logger): ReaderDriver {
  const common = {
    id: spec.id,
    path: spec.path,
    baudRate: spec.baudRate ?? defaultBaudRates[spec.protocol],
    logger: logger.child({ reader: spec.id, protocol: spec.protocol }),
    ...(spec.minRetryMs !== undefined ? { minRetryMs: spec.minRetryMs } : {}),
    ...(spec.maxRetryMs !== undefined ? { maxRetryMs: spec.maxRetryMs } : {}),
  };
  switch (spec.protocol) {
    case 'pn532':
      return new Pn532Reader(common);
    case 'punchgate':
      return new BridgeReader(common);
    default:
      return new PassiveReader({ ...common, protocol: spec.protocol, decoder: createDecoder(spec.protocol, spec) });
  }
}
