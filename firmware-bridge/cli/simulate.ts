import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import type { CardRead } from '../../core/credential.js';
import { ReaderProtocol, defaultBaudRates } from '../reader-protocols.js';
import { SerialLink } from '../serial-link.js';
import { createSimulator, parseSimulatedCard } from '../simulators/simulator-factory.js';
import { readerOptionFlags, readerOptionsFromFlags } from './reader-options.js';

export const simulateUsage = `usage: punchgate simulate reader --protocol PROTOCOL --port PATH [--card UID ...] [options]

Plays a badge reader on a serial port (one end of a pty pair, or a USB-serial cable), speaking the
protocol exactly as the device does. Cards come from --card (tapped in order, --interval ms apart,
for ever with --loop) or, without --card, one per line on stdin. Feedback the gateway sends back
(punchgate protocol) is printed as JSON lines on stdout.

protocols: ${ReaderProtocol.options.join(', ')}
options:   --baud N  --interval MS (default 1000)  --loop  --linger MS (wait after the last tap, default 1500)
           --wiegand-bits 26|34 --wiegand-output bits|hex|decimal
           --ascii-format hex|dec32|dec24|fc-card --ascii-kind em4100|mifare --ascii-byte-order msb-first|lsb-first
cards:     rdm6300/em18: 10 hex (version + 4 bytes) or the 10-digit printed number; wiegand: FC:CN;
           pn532: 4/7/10 bytes of hex; punchgate: kind:HEX (e.g. mifare:04A1B2C3, em4100:62E3086CED)`;

export interface SimulateIo {
  stdin: NodeJS.ReadableStream;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  logger: Logger;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM). */
  stopSignal: Promise<void>;
}

/** `punchgate simulate reader`: returns the process exit code. */
export async function runSimulate(argv: string[], io: SimulateIo): Promise<number> {
  const [what, ...rest] = argv;
  if (what === '--help' || what === '-h') {
    io.stdout(simulateUsage);
    return 0;
  }
  if (what !== 'reader') {
    io.stderr(`punchgate simulate: only "reader" can be simulated${what ? ` (got "${what}")` : ''}\n${simulateUsage}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        protocol: { type: 'string' },
        port: { type: 'string' },
        card: { type: 'string', multiple: true },
        baud: { type: 'string' },
        interval: { type: 'string', default: '1000' },
        linger: { type: 'string', default: '1500' },
        loop: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
        ...readerOptionFlags,
      },
      strict: true,
    }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${simulateUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(simulateUsage);
    return 0;
  }
  const protocol = ReaderProtocol.safeParse(values.protocol);
  if (!protocol.success) {
    io.stderr(`--protocol must be one of ${ReaderProtocol.options.join(', ')}${values.protocol ? ` (got "${values.protocol}")` : ''}`);
    return 2;
  }
  if (!values.port) {
    io.stderr('--port PATH is required (the serial device or pty the gateway does not use)');
    return 2;
  }
  const numbers = { baud: values.baud, interval: values.interval, linger: values.linger };
  for (const [flag, text] of Object.entries(numbers)) {
    if (text !== undefined && !/^\d+$/.test(text)) {
      io.stderr(`--${flag} must be a whole number, got "${text}"`);
      return 2;
    }
  }
  let options: ReturnType<typeof readerOptionsFromFlags>;
  let cards: CardRead[];
  try {
    options = readerOptionsFromFlags(values);
    const parsedOptions = options;
    cards = (values.card ?? []).map((text) => parseSimulatedCard(protocol.data, text, parsedOptions));
  } catch (error) {
    io.stderr((error as Error).message);
    return 2;
  }

  const link = new SerialLink({
    path: values.port,
    baudRate: values.baud ? Number(values.baud) : defaultBaudRates[protocol.data],
    logger: io.logger.child({ part: 'simulator-port' }),
  });
  await link.start();
  if (link.state !== 'open') {
    io.stderr(`cannot open ${values.port}: ${link.detail ?? link.state}`);
    await link.stop();
    return 1;
  }
  const simulator = createSimulator({ protocol: protocol.data, port: link, ...options });
  simulator.on('feedback', (feedback) => io.stdout(JSON.stringify({ event: 'feedback', ...feedback })));
  simulator.on('note', (note) => io.stderr(note));
  await simulator.start();

  let stopped = false;
  void io.stopSignal.then(() => {
    stopped = true;
  });
  const interval = Number(values.interval);
  const tap = async (card: CardRead): Promise<void> => {
    await simulator.tap(card);
    io.stdout(JSON.stringify({ event: 'tap', ...card }));
  };

  let exitCode = 0;
  if (cards.length > 0) {
    do {
      for (const card of cards) {
        if (stopped) break;
        await tap(card);
        await Promise.race([sleep(interval), io.stopSignal]);
      }
    } while (values.loop && !stopped);
  } else {
    const lines = createInterface({ input: io.stdin });
    void io.stopSignal.then(() => lines.close());
    for await (const line of lines) {
      const text = line.trim();
      if (!text) continue;
      try {
        await tap(parseSimulatedCard(protocol.data, text, options));
      } catch (error) {
        io.stderr((error as Error).message);
        exitCode = 1;
      }
    }
  }
  if (!stopped) await Promise.race([sleep(Number(values.linger)), io.stopSignal]);
  await simulator.stop();
  await link.stop();
  return exitCode;
}
