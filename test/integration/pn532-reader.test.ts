import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CardRead } from '../../core/credential.js';
import {
  buildPn532Command,
  getFirmwareVersionCommand,
  inListPassiveTargetCommand,
  maxRetriesCommand,
  PN532_ACK,
  PN532_ERROR_FRAME,
  PN532_NACK,
  PN532_WAKE_UP,
  Pn532FrameParser,
  samConfigurationCommand,
  type Pn532Item,
} from '../../firmware-bridge/codecs/pn532-frame.js';
import { Pn532Reader } from '../../firmware-bridge/drivers/pn532-reader.js';
import type { ReaderStatus } from '../../firmware-bridge/reader-driver.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { Pn532ChipSimulator } from '../../firmware-bridge/simulators/pn532-chip.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

const logger = testLogger();
const FOUR: CardRead = { kind: 'mifare', uid: '04A1B2C3' };
const SEVEN: CardRead = { kind: 'mifare', uid: '04112233445566' };
const TEN: CardRead = { kind: 'mifare', uid: '0102030405060708090A' };

describe('Pn532Reader driving the simulated PN532 over a pty pair', () => {
  let pair: PtyPair;
  let chipLink: SerialLink;
  let chip: Pn532ChipSimulator;
  let reader: Pn532Reader;
  let cards: CardRead[];
  let states: ReaderStatus[];

  beforeEach(async () => {
    pair = await PtyPair.create();
    chipLink = new SerialLink({ path: pair.b, baudRate: 115200, logger, minRetryMs: 20, maxRetryMs: 100 });
    await chipLink.start();
    chip = new Pn532ChipSimulator({ port: chipLink, fieldMs: 300 });
    await chip.start();
    reader = new Pn532Reader({
      id: 'door-1',
      path: pair.a,
      baudRate: 115200,
      logger,
      pollIntervalMs: 20,
      responseTimeoutMs: 200,
      minRetryMs: 20,
      maxRetryMs: 160,
    });
    cards = [];
    states = [];
    reader.on('card', (card) => cards.push(card));
    reader.on('state', (status) => states.push(status));
  });

  afterEach(async () => {
    await reader.stop();
    await chip.stop();
    await chipLink.stop();
    await pair.close();
  });

  const ready = (): Promise<ReaderStatus> => waitFor('reader ready', () => (reader.status().state === 'ready' ? reader.status() : undefined));

  it('wakes and configures the chip, then reports its firmware', async () => {
    await reader.start();
    const status = await ready();
    expect(status).toMatchObject({ id: 'door-1', protocol: 'pn532', path: pair.a, state: 'ready', firmware: 'PN532 v1.6', reads: 0, badFrames: 0 });
    const sequence = states.map((s) => s.state).filter((state, i, all) => state !== all[i - 1]);
    expect(sequence).toEqual(['connecting', 'ready']);
    expect(states.some((s) => s.state === 'connecting' && s.detail === 'waking the PN532')).toBe(true);
  });

  it('reads a 4-byte and a 7-byte card once per tap, however many polls see it', async () => {
    await reader.start();
    await ready();
    await chip.tap(FOUR);
    await waitFor('first card', () => cards.length === 1);
    // The card stays ~300 ms under polls every ~30 ms: still one read.
    await sleep(400);
    expect(cards).toEqual([FOUR]);

    await chip.tap(SEVEN);
    await waitFor('second card', () => cards.length === 2);
    await sleep(400);
    await chip.tap(FOUR);
    await waitFor('third card', () => cards.length === 3);
    await sleep(400);
    expect(cards).toEqual([FOUR, SEVEN, FOUR]);
    expect(reader.status()).toMatchObject({ state: 'ready', reads: 3, badFrames: 0 });
  });

  it('reads a 10-byte UID and reports a card swapped for another at once', async () => {
    await reader.start();
    await ready();
    await chip.tap(TEN, { fieldMs: 1000 });
    await waitFor('10-byte card', () => cards.length === 1);
    await chip.tap(SEVEN);
    await waitFor('swapped card', () => cards.length === 2);
    expect(cards).toEqual([TEN, SEVEN]);
  });

  it('goes unresponsive when the chip falls silent, re-wakes it with back-off, and reads again', async () => {
    await reader.start();
    await ready();
    chip.setResponsive(false);
    const down = await waitFor('unresponsive', () => (reader.status().state === 'unresponsive' ? reader.status() : undefined));
    expect(down.detail).toMatch(/PN532 not answering \(no ACK for (InListPassiveTarget|SAMConfiguration) in 200 ms\); \d+ failures in a row/);
    // It keeps trying while silent: details move on with the back-off.
    await waitFor('back-off grows', () => /waking it again in 160 ms/.test(reader.status().detail ?? ''), 10_000);
    expect(reader.status().state).toBe('unresponsive');

    chip.setResponsive(true);
    await ready();
    expect(reader.status().firmware).toBe('PN532 v1.6');
    await chip.tap(SEVEN);
    await waitFor('card after recovery', () => cards.length === 1);
    expect(cards).toEqual([SEVEN]);
    const sequence = states.map((s) => s.state).filter((state, i, all) => state !== all[i - 1]);
    expect(sequence).toEqual(['connecting', 'ready', 'unresponsive', 'ready']);
  });

  it('says so, and keeps trying, when nothing answers from the start', async () => {
    chip.setResponsive(false);
    await reader.start();
    const status = await waitFor('unresponsive', () => (reader.status().state === 'unresponsive' ? reader.status() : undefined));
    expect(status.detail).toMatch(/no ACK for SAMConfiguration/);
    expect(status.firmware).toBeUndefined();
    chip.setResponsive(true);
    await ready();
  });

  it('re-opens, re-initialises and reads again after an unplug and replug', async () => {
    await reader.start();
    await ready();
    const readyCount = (): number => states.filter((s) => s.state === 'ready').length;
    expect(readyCount()).toBe(1);

    // A USB unplug takes the chip's power too: it comes back reset and asleep.
    const notes: string[] = [];
    chip.on('note', (note: string) => notes.push(note));
    chipLink.on('state', (state: string, detail?: string) => notes.push(`link ${state}${detail ? ` (${detail})` : ''}`));
    chip.setResponsive(false);
    await pair.unplug();
    const gone = await waitFor('disconnected', () => (reader.status().state === 'disconnected' ? reader.status() : undefined));
    expect(gone.detail).toBeTruthy();
    await pair.replug();
    // The chip's own end is re-attached too, powered up afresh: its old end of the pty pair can
    // look open for ever (a pty slave whose master went away does not always wake the poller).
    await chipLink.stop();
    await chipLink.start();
    chip.setResponsive(true);
    // Generous: on a loaded two-core box the re-open, wake-up and SAM exchange can take seconds.
    // On failure, the reader's whole state history says where the re-open or re-initialisation stuck.
    await waitFor('ready again', () => readyCount() === 2, 15_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; reader states: ${JSON.stringify(states.map((s) => [s.state, s.detail ?? null]).slice(0, 12))}; now ${JSON.stringify(reader.status())}; chip link ${chipLink.state}; chip notes: ${JSON.stringify(notes.slice(-15))}`);
    });
    expect(reader.status().firmware).toBe('PN532 v1.6');

    await chip.tap(FOUR);
    await waitFor('card after replug', () => cards.length === 1);
    expect(cards).toEqual([FOUR]);
  });

  it('asks again (NACK) for a corrupted answer and resends a command the chip refused', async () => {
    await reader.start();
    await ready();
    await chip.tap(FOUR, { fieldMs: 1500 });
    await waitFor('card', () => cards.length === 1);
    const bad: string[] = [];
    reader.on('badFrame', (frame) => bad.push(frame.reason));

    chip.failNext('corrupt-response');
    await waitFor('corrupted answer refused', () => bad.length === 1);
    expect(bad).toEqual(['data checksum mismatch']);
    chip.failNext('error-frame');
    await sleep(200);
    // Neither fault cost a reading or made the card look newly presented.
    expect(reader.status()).toMatchObject({ state: 'ready', badFrames: 1, reads: 1 });
    expect(cards).toEqual([FOUR]);
    expect(chip.faultsPending()).toBe(0);
  });

  it('stops promptly, leaving no timers behind and emitting nothing more', async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    await reader.start();
    await ready();
    await chip.tap(FOUR, { fieldMs: 50 });
    const started = performance.now();
    await reader.stop();
    expect(performance.now() - started).toBeLessThan(200);
    expect(reader.status().state).toBe('stopped');
    const eventsAtStop = states.length;
    await sleep(150);
    expect(states.length).toBe(eventsAtStop);
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBeLessThanOrEqual(timersBefore);
  });

  it('survives a listener that throws', async () => {
    reader.on('card', () => {
      throw new Error('listener bug');
    });
    await reader.start();
    await ready();
    await chip.tap(FOUR);
    await waitFor('card despite the bad listener', () => cards.length === 1);
    await sleep(400);
    await chip.tap(SEVEN);
    await waitFor('and the next one', () => cards.length === 2);
    expect(reader.status().state).toBe('ready');
  });

  it('never gives feedback: a bare PN532 has no beeper', async () => {
    await reader.start();
    await ready();
    await expect(reader.feedback({ kind: 'accepted' })).resolves.toBe(false);
  });
});

describe('Pn532ChipSimulator speaks like a PN532', () => {
  let pair: PtyPair;
  let chipLink: SerialLink;
  let hostLink: SerialLink;
  let chip: Pn532ChipSimulator;
  let received: Pn532Item[];

  beforeEach(async () => {
    pair = await PtyPair.create();
    chipLink = new SerialLink({ path: pair.b, baudRate: 115200, logger });
    hostLink = new SerialLink({ path: pair.a, baudRate: 115200, logger });
    await chipLink.start();
    await hostLink.start();
    chip = new Pn532ChipSimulator({ port: chipLink, firmware: { ic: 0x32, ver: 1, rev: 4, support: 0x07 } });
    await chip.start();
    const parser = new Pn532FrameParser();
    received = [];
    hostLink.on('data', (chunk) => received.push(...parser.push(chunk)));
  });

  afterEach(async () => {
    await chip.stop();
    await hostLink.stop();
    await chipLink.stop();
    await pair.close();
  });

  const hexOf = (item: Pn532Item | undefined): string => (item ? item.bytes.toString('hex').toUpperCase() : 'nothing');
  async function exchange(bytes: Buffer, count: number, settleMs = 60): Promise<string[]> {
    received.length = 0;
    await hostLink.write(bytes);
    await waitFor(`${count} frames`, () => received.length >= count, 10_000);
    await sleep(settleMs);
    return received.map(hexOf);
  }
  const wake = async (): Promise<void> => {
    await hostLink.write(PN532_WAKE_UP);
    await exchange(samConfigurationCommand(), 2);
  };

  it('ignores everything until woken, then takes only SAMConfiguration while in LowVbat', async () => {
    await hostLink.write(getFirmwareVersionCommand());
    await sleep(60);
    expect(received).toEqual([]);
    await hostLink.write(PN532_WAKE_UP);
    await hostLink.write(getFirmwareVersionCommand());
    await sleep(60);
    expect(received).toEqual([]);
    expect(await exchange(samConfigurationCommand(), 2)).toEqual(['0000FF00FF00', '0000FF02FED5151600']);
    expect(await exchange(getFirmwareVersionCommand(), 2)).toEqual(['0000FF00FF00', '0000FF06FAD50332010407EA00']);
  });

  it('answers a host frame with a bad checksum with an error frame, and resends its last answer on NACK', async () => {
    await wake();
    const bad = Buffer.from(getFirmwareVersionCommand());
    bad[bad.length - 2] = (bad[bad.length - 2] ?? 0) ^ 0xff;
    expect(await exchange(bad, 1)).toEqual([hexOf({ type: 'error-frame', bytes: PN532_ERROR_FRAME })]);
    await exchange(getFirmwareVersionCommand(), 2);
    expect(await exchange(PN532_NACK, 1)).toEqual(['0000FF06FAD50332010407EA00']);
  });

  it('answers an unknown command with ACK then an error frame', async () => {
    await wake();
    expect(await exchange(buildPn532Command(0x7e), 2)).toEqual(['0000FF00FF00', '0000FF01FF7F8100']);
  });

  it('waits for a card on InListPassiveTarget by default, and answers NbTg 0 promptly once retries are limited', async () => {
    await wake();
    expect(await exchange(inListPassiveTargetCommand(), 1, 200)).toEqual(['0000FF00FF00']);
    received.length = 0;
    await chip.tap({ kind: 'mifare', uid: '04A1B2C3' }, { fieldMs: 100 });
    await waitFor('the waiting answer', () => received.length === 1);
    expect(hexOf(received[0])).toBe('0000FF0CF4D54B01010004080404A1B2C3B400');
    await sleep(150);

    expect(await exchange(maxRetriesCommand(), 2)).toEqual(['0000FF00FF00', '0000FF02FED533F800']);
    const started = performance.now();
    expect(await exchange(inListPassiveTargetCommand(), 2, 0)).toEqual(['0000FF00FF00', '0000FF03FDD54B00E000']);
    expect(performance.now() - started).toBeLessThan(150);
  });

  it('takes a host ACK as abort of a waiting InListPassiveTarget', async () => {
    await wake();
    await exchange(inListPassiveTargetCommand(), 1);
    // Wait for the chip to have taken the ACK: on a loaded machine the pty hop can lag the tap.
    const aborted = new Promise<void>((resolve) => chip.on('note', (note) => note === 'host ACK: command aborted' && resolve()));
    await hostLink.write(PN532_ACK);
    await aborted;
    received.length = 0;
    await chip.tap({ kind: 'mifare', uid: '04A1B2C3' }, { fieldMs: 50 });
    await sleep(100);
    expect(received).toEqual([]);
  });

  it('refuses to tap a card a PN532 cannot read', async () => {
    await expect(chip.tap({ kind: 'em4100', uid: '62E3086CED' })).rejects.toThrow(/mifare/);
    await expect(chip.tap({ kind: 'mifare', uid: '04A1B2' })).rejects.toThrow(/4, 7 or 10 bytes/);
  });
});
