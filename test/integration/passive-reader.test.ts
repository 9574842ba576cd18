import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { CardRead } from '../../core/credential.js';
import type { StreamDecoder } from '../../firmware-bridge/codec.js';
import { AsciiLineDecoder } from '../../firmware-bridge/codecs/ascii-line.js';
import { Em4100Decoder, encodeEm4100Frame } from '../../firmware-bridge/codecs/em4100.js';
import { WiegandDecoder } from '../../firmware-bridge/codecs/wiegand.js';
import { PassiveReader } from '../../firmware-bridge/drivers/passive-reader.js';
import type { ReaderStatus } from '../../firmware-bridge/reader-driver.js';
import { AsciiOptions, WiegandOptions } from '../../firmware-bridge/reader-protocols.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { PassiveReaderSimulator, type PassiveProtocol } from '../../firmware-bridge/simulators/passive-reader-sim.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

const logger = testLogger();
const retry = { minRetryMs: 20, maxRetryMs: 100 };

interface Rig {
  pair: PtyPair;
  reader: PassiveReader;
  port: SerialLink;
  simulator: PassiveReaderSimulator;
  cards: CardRead[];
  badFrames: { reason: string; bytes: Buffer }[];
  states: ReaderStatus['state'][];
}

let rig: Rig | undefined;

async function build(
  protocol: PassiveProtocol,
  decoder: StreamDecoder,
  options: { wiegand?: WiegandOptions; ascii?: AsciiOptions } = {},
): Promise<Rig> {
  const pair = await PtyPair.create();
  const reader = new PassiveReader({ id: 'door-1', protocol, path: pair.a, baudRate: 9600, decoder, logger, ...retry });
  const port = new SerialLink({ path: pair.b, baudRate: 9600, logger, ...retry });
  const simulator = new PassiveReaderSimulator({ protocol, port, ...options });
  const built: Rig = { pair, reader, port, simulator, cards: [], badFrames: [], states: [] };
  reader.on('card', (card) => built.cards.push(card));
  reader.on('badFrame', (bad) => built.badFrames.push(bad));
  reader.on('state', (status) => built.states.push(status.state));
  rig = built;
  await reader.start();
  await port.start();
  await simulator.start();
  expect(reader.status().state).toBe('ready');
  expect(port.state).toBe('open');
  return built;
}

afterEach(async () => {
  if (!rig) return;
  await rig.simulator.stop();
  await rig.reader.stop();
  await rig.port.stop();
  await rig.pair.close();
  rig = undefined;
});

describe('PassiveReader over a real pty pair, fed by PassiveReaderSimulator', () => {
  const example: CardRead = { kind: 'em4100', uid: '62E3086CED', number: '3808980205' };

  it('RDM6300: a tap becomes a card event, a bad frame a badFrame event, both counted in status()', async () => {
    const r = await build('rdm6300', new Em4100Decoder({ framing: 'stx-etx' }));
    await r.simulator.tap(example);
    await waitFor('the card', () => r.cards.length === 1);
    expect(r.cards).toEqual([example]);

    const corrupt = encodeEm4100Frame('62E3086CED', 'stx-etx');
    corrupt[12] = 0x39;
    await r.port.write(corrupt);
    await waitFor('the bad frame', () => r.badFrames.length === 1);
    expect(r.badFrames[0]).toEqual({ reason: 'checksum mismatch: data XOR is 08, frame says 09', bytes: corrupt });
    expect(r.reader.status()).toMatchObject({ id: 'door-1', protocol: 'rdm6300', path: r.pair.a, state: 'ready', reads: 1, badFrames: 1 });
  });

  it('RDM6300: unplug goes disconnected, replug re-opens by path on its own and reads the next card', async () => {
    const r = await build('rdm6300', new Em4100Decoder({ framing: 'stx-etx' }));
    await r.simulator.tap(example);
    await waitFor('the first card', () => r.cards.length === 1);

    await r.pair.unplug();
    await waitFor('disconnected', () => r.reader.status().state === 'disconnected');
    expect(r.reader.status().detail).toBeTruthy();

    await r.pair.replug();
    await waitFor('ready again', () => r.reader.status().state === 'ready');
    await waitFor('the simulator port back', () => r.port.state === 'open');
    const next: CardRead = { kind: 'em4100', uid: '0012345678', number: em4100NumberOf('12345678') };
    await r.simulator.tap(next);
    await waitFor('the card after replug', () => r.cards.length === 2);
    expect(r.cards[1]).toEqual(next);
    expect(r.states).toEqual(expect.arrayContaining(['disconnected', 'connecting', 'ready']));
    expect(r.reader.status()).toMatchObject({ state: 'ready', reads: 2, badFrames: 0 });
  });

  it('a frame cut by the unplug is not completed by bytes after the replug', async () => {
    const r = await build('rdm6300', new Em4100Decoder({ framing: 'stx-etx' }));
    await r.port.write(encodeEm4100Frame('62E3086CED', 'stx-etx').subarray(0, 8));
    // Half a frame makes no event to wait for; give the pty a moment to deliver it.
    await sleep(100);
    await r.pair.unplug();
    await waitFor('disconnected', () => r.reader.status().state === 'disconnected');
    await r.pair.replug();
    await waitFor('both ends open', () => r.reader.status().state === 'ready' && r.port.state === 'open');
    // The tail of the old frame then a full frame: the tail alone must be refused, not glued on.
    await r.port.write(Buffer.concat([encodeEm4100Frame('62E3086CED', 'stx-etx').subarray(8), encodeEm4100Frame('0012345678', 'stx-etx')]));
    await waitFor('the full frame', () => r.cards.length >= 1);
    expect(r.cards[0]?.uid).toBe('0012345678');
    // The half frame is reported when the port goes away, the orphaned tail when the next frame starts.
    expect(r.badFrames.map((bad) => bad.reason)).toEqual(['frame cut short at end of input after 8 of 14 bytes', '6 bytes outside a frame']);
  });

  it('refuses to tap a card the simulated reader could not send, and writes nothing', async () => {
    const r = await build('rdm6300', new Em4100Decoder({ framing: 'stx-etx' }));
    await expect(r.simulator.tap({ kind: 'mifare', uid: '04A224C2' })).rejects.toThrow(/rdm6300 reader cannot send a mifare card/);
    await r.simulator.tap(example);
    await waitFor('the card', () => r.cards.length === 1);
    expect(r.badFrames).toEqual([]);
  });

  const forms: { name: string; protocol: PassiveProtocol; decoder: () => StreamDecoder; options?: { wiegand?: WiegandOptions; ascii?: AsciiOptions }; card: CardRead; expected: Partial<CardRead> }[] = [
    { name: 'EM-18', protocol: 'em18', decoder: () => new Em4100Decoder({ framing: 'bare' }), card: example, expected: example },
    ...(['bits', 'hex', 'decimal'] as const).map((output) => {
      const wiegand = WiegandOptions.parse({ bits: 26, output });
      return {
        name: `Wiegand 26 ${output}`,
        protocol: 'wiegand' as const,
        decoder: () => new WiegandDecoder(wiegand),
        options: { wiegand },
        card: { kind: 'wiegand26' as const, uid: '5A0144', facility: 90, card: 324 },
        expected: { kind: 'wiegand26' as const, uid: '5A0144', facility: 90, card: 324 },
      };
    }),
    {
      name: 'Wiegand 34 bits, EM card sent as its low 32 bits',
      protocol: 'wiegand',
      decoder: () => new WiegandDecoder(WiegandOptions.parse({ bits: 34 })),
      options: { wiegand: WiegandOptions.parse({ bits: 34 }) },
      card: example,
      expected: { kind: 'wiegand34', uid: 'E3086CED', facility: 0xe308, card: 0x6ced },
    },
    {
      name: 'ASCII mifare hex lsb-first',
      protocol: 'ascii',
      decoder: () => new AsciiLineDecoder(AsciiOptions.parse({ kind: 'mifare', byteOrder: 'lsb-first' })),
      options: { ascii: AsciiOptions.parse({ kind: 'mifare', byteOrder: 'lsb-first' }) },
      card: { kind: 'mifare', uid: '04A224C2B51C80' },
      expected: { kind: 'mifare', uid: '04A224C2B51C80' },
    },
    {
      name: 'ASCII fc-card, EM card printed as its low 24 bits',
      protocol: 'ascii',
      decoder: () => new AsciiLineDecoder(AsciiOptions.parse({ format: 'fc-card' })),
      options: { ascii: AsciiOptions.parse({ format: 'fc-card' }) },
      card: example,
      expected: { kind: 'wiegand26', uid: '086CED', facility: 8, card: 27885 },
    },
  ];

  it.each(forms)('$name: tap three times, three cards', async ({ protocol, decoder, options, card, expected }) => {
    const r = await build(protocol, decoder(), options);
    for (let i = 0; i < 3; i += 1) await r.simulator.tap(card);
    await waitFor('three cards', () => r.cards.length === 3);
    for (const read of r.cards) expect(read).toEqual(expect.objectContaining(expected));
    expect(r.reader.status()).toMatchObject({ state: 'ready', reads: 3, badFrames: 0 });
  });
});

function em4100NumberOf(low32Hex: string): string {
  return Number.parseInt(low32Hex, 16).toString().padStart(10, '0');
}
