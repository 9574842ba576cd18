import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CardRead } from '../../core/credential.js';
import type { Feedback } from '../../core/feedback.js';
import {
  BridgeFrameParser,
  encodeBridgeFrame,
  type BridgeMessage,
} from '../../firmware-bridge/codecs/bridge-frame.js';
import { cobsEncode } from '../../firmware-bridge/codecs/cobs.js';
import { BridgeReader, type BridgeReaderOptions } from '../../firmware-bridge/drivers/bridge-reader.js';
import type { ReaderState } from '../../firmware-bridge/reader-driver.js';
import { SerialLink } from '../../firmware-bridge/serial-link.js';
import { BridgeDeviceSimulator } from '../../firmware-bridge/simulators/bridge-device.js';
import { testLogger } from '../support/logger.js';
import { PtyPair } from '../support/pty-pair.js';
import { waitFor } from '../support/wait.js';

// Generous for a loaded two-core CI box: a pty hop through socat can take tens of milliseconds.
const ACK_TIMEOUT_MS = 100;
const MAX_RETRIES = 3;
const HEARTBEAT_MS = 50;
const HEARTBEAT_TIMEOUT_MS = 400;

const logger = testLogger();
const mifare: CardRead = { kind: 'mifare', uid: '04A1B2C3D4E5F6' };

interface Rig {
  pair: PtyPair;
  reader: BridgeReader;
  deviceLink: SerialLink;
  cards: CardRead[];
  states: ReaderState[];
  /** Everything the gateway wrote, as the device side received it. */
  wire: Buffer[];
}

async function makeRig(options: Partial<BridgeReaderOptions> = {}): Promise<Rig> {
  const pair = await PtyPair.create();
  const reader = new BridgeReader({
    id: 'door-1',
    path: pair.a,
    baudRate: 115200,
    logger,
    ackTimeoutMs: ACK_TIMEOUT_MS,
    maxRetries: MAX_RETRIES,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    heartbeatIntervalMs: HEARTBEAT_MS,
    minRetryMs: 20,
    maxRetryMs: 100,
    ...options,
  });
  const deviceLink = new SerialLink({ path: pair.b, baudRate: 115200, logger, minRetryMs: 20, maxRetryMs: 100 });
  const rig: Rig = { pair, reader, deviceLink, cards: [], states: [], wire: [] };
  reader.on('card', (card) => rig.cards.push(card));
  reader.on('state', (status) => rig.states.push(status.state));
  deviceLink.on('data', (chunk) => rig.wire.push(chunk));
  await deviceLink.start();
  return rig;
}

async function closeRig(rig: Rig): Promise<void> {
  await rig.reader.stop();
  await rig.deviceLink.stop();
  await rig.pair.close();
}

/** A frame around any body with a correct CRC, for frames our encoder will not make. */
function rawFrame(body: Buffer): Buffer {
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body));
  return Buffer.concat([cobsEncode(Buffer.concat([body, crc])), Buffer.from([0])]);
}

/** The messages the gateway sent, decoded from what the device side received. */
function gatewayMessages(rig: Rig): BridgeMessage[] {
  const parser = new BridgeFrameParser();
  return parser.push(Buffer.concat(rig.wire)).flatMap((event) => (event.type === 'message' ? [event.message] : []));
}

describe('BridgeReader against the simulated device over a real pty pair', () => {
  let rig: Rig;
  let device: BridgeDeviceSimulator;
  let notes: string[];
  let feedbacks: Feedback[];

  beforeEach(async () => {
    rig = await makeRig();
    device = new BridgeDeviceSimulator({ port: rig.deviceLink, firmware: 'pg-test 2.3.4', heartbeatMs: HEARTBEAT_MS, ackTimeoutMs: ACK_TIMEOUT_MS });
    notes = [];
    feedbacks = [];
    device.on('note', (note) => notes.push(note));
    device.on('feedback', (feedback) => feedbacks.push(feedback));
    await rig.reader.start();
    await device.start();
    await waitFor('the reader to be ready with firmware', () => rig.reader.status().firmware && rig.reader.status().state === 'ready');
  });

  afterEach(async () => {
    await device.stop();
    await closeRig(rig);
  });

  it('asks for hello on open and shows the firmware in its status', () => {
    expect(rig.reader.status()).toMatchObject({ id: 'door-1', protocol: 'punchgate', state: 'ready', firmware: 'pg-test 2.3.4', reads: 0, badFrames: 0 });
    const requests = gatewayMessages(rig).filter((message) => message.type === 'hello-request');
    expect(requests[0]).toMatchObject({ type: 'hello-request', newSession: true });
    expect(rig.states).toContain('ready');
  });

  it('reports a tap once even when the gateway acks are lost and the device retransmits', async () => {
    device.dropNextAcks(2);
    await device.tap(mifare);
    await waitFor('the card', () => rig.cards.length > 0);
    await waitFor('the device to get an ack through', () => notes.filter((note) => note.startsWith("lost the gateway's ack")).length === 2);
    await sleep(ACK_TIMEOUT_MS * 4);
    expect(rig.cards).toEqual([mifare]);
    expect(rig.reader.status().reads).toBe(1);
    // Three sends of the card read, three acks: the gateway acked the retransmissions too.
    const acks = gatewayMessages(rig).filter((message) => message.type === 'ack');
    expect(acks.length).toBeGreaterThanOrEqual(3);

    await device.tap({ kind: 'em4100', uid: '62E3086CED' });
    await waitFor('the second card', () => rig.cards.length === 2);
    expect(rig.cards[1]).toEqual({ kind: 'em4100', uid: '62E3086CED', number: '3808980205' });
  });

  it('delivers feedback: true on ack, and the exact frame reaches the device', async () => {
    const feedback: Feedback = { kind: 'accepted', text: 'IN 08:59 Ada' };
    rig.wire.length = 0;
    await expect(rig.reader.feedback(feedback)).resolves.toBe(true);
    expect(feedbacks).toEqual([feedback]);
    const sent = gatewayMessages(rig).find((message) => message.type === 'feedback');
    expect(sent).toMatchObject({ type: 'feedback', feedback });
    const expected = encodeBridgeFrame({ type: 'feedback', seq: sent && 'seq' in sent ? sent.seq : -1, feedback });
    expect(Buffer.concat(rig.wire).includes(expected)).toBe(true);
  });

  it('retransmits feedback whose ack was lost; the device plays it once', async () => {
    device.dropNextAcks(2, 'sent');
    await expect(rig.reader.feedback({ kind: 'duplicate' })).resolves.toBe(true);
    expect(feedbacks).toEqual([{ kind: 'duplicate' }]);
    const sends = gatewayMessages(rig).filter((message) => message.type === 'feedback');
    // Two acks lost: at least three sends (a slow ack under load may cost one more), all the same seq.
    expect(sends.length).toBeGreaterThanOrEqual(3);
    expect(new Set(sends.map((message) => ('seq' in message ? message.seq : -1))).size).toBe(1);
  });

  it('fits long text and strips line breaks before sending', async () => {
    await expect(rig.reader.feedback({ kind: 'unknown', text: 'Unknown badge\nplease see the manager on duty' })).resolves.toBe(true);
    expect(feedbacks).toEqual([{ kind: 'unknown', text: 'Unknown badge please see the man' }]);
  });

  it('gives feedback up after the retries when the device is hung, and never rejects', async () => {
    device.setSilent(true);
    rig.wire.length = 0;
    const started = Date.now();
    await expect(rig.reader.feedback({ kind: 'accepted' })).resolves.toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(ACK_TIMEOUT_MS * (MAX_RETRIES + 1) - 5);
    const sends = (): number => gatewayMessages(rig).filter((message) => message.type === 'feedback').length;
    await waitFor('every send to cross the pty', () => sends() === MAX_RETRIES + 1);
    await sleep(ACK_TIMEOUT_MS * 2);
    expect(sends()).toBe(MAX_RETRIES + 1);
    expect(feedbacks).toEqual([]);
  });

  it('marks the device unresponsive when its heartbeats stop, and ready again when it talks', async () => {
    device.setSilent(true);
    await waitFor('unresponsive', () => rig.reader.status().state === 'unresponsive', 10_000);
    expect(rig.reader.status().detail).toBe(`no frame from the device for ${HEARTBEAT_TIMEOUT_MS} ms`);
    device.setSilent(false);
    await waitFor('ready again', () => rig.reader.status().state === 'ready', 10_000);
    expect(rig.states.slice(-2)).toEqual(['unresponsive', 'ready']);
  });

  it('reports tamper changes once each, even with lost acks', async () => {
    const tampers: boolean[] = [];
    rig.reader.on('tamper', ({ active }) => tampers.push(active));
    device.dropNextAcks(1);
    device.setTamper(true);
    await waitFor('tamper active', () => tampers.length === 1);
    device.setTamper(false);
    await waitFor('tamper cleared', () => tampers.length === 2);
    await sleep(ACK_TIMEOUT_MS * 3);
    expect(tampers).toEqual([true, false]);
  });

  it('re-opens an unplugged port, says hello again and keeps working', async () => {
    await rig.pair.unplug();
    await waitFor('disconnected', () => rig.reader.status().state === 'disconnected', 10_000);
    expect(rig.reader.status().firmware).toBe('pg-test 2.3.4');
    await expect(rig.reader.feedback({ kind: 'accepted' })).resolves.toBe(false);
    rig.wire.length = 0;
    await rig.pair.replug();
    await waitFor('ready after re-plug', () => rig.reader.status().state === 'ready' && rig.deviceLink.state === 'open', 10_000);
    await waitFor('a new hello', () => gatewayMessages(rig).some((message) => message.type === 'hello-request' && message.newSession), 10_000);
    await waitFor('firmware again', () => rig.reader.status().firmware === 'pg-test 2.3.4', 10_000);
    await device.tap(mifare);
    await waitFor('a card after re-plug', () => rig.cards.length === 1, 10_000);
    await expect(rig.reader.feedback({ kind: 'accepted' })).resolves.toBe(true);
  });
});

describe('the simulated device follows the start-up rules', () => {
  it('holds a tap until its boot hello is acked, then sends it once the gateway is there', async () => {
    const rig = await makeRig();
    const device = new BridgeDeviceSimulator({ port: rig.deviceLink, heartbeatMs: HEARTBEAT_MS, ackTimeoutMs: ACK_TIMEOUT_MS });
    try {
      await device.start();
      let tapped = false;
      const tap = device.tap(mifare).then(() => {
        tapped = true;
      });
      await sleep(ACK_TIMEOUT_MS * 2);
      expect(tapped).toBe(false);
      await rig.reader.start();
      await tap;
      await waitFor('the held card', () => rig.cards.length === 1);
      expect(rig.reader.status().firmware).toBe('punchgate-sim 1.0.0');
    } finally {
      await device.stop();
      await closeRig(rig);
    }
  });

  it('gives a card read up when nobody acks it within its lifetime', async () => {
    const rig = await makeRig();
    const device = new BridgeDeviceSimulator({ port: rig.deviceLink, heartbeatMs: HEARTBEAT_MS, ackTimeoutMs: ACK_TIMEOUT_MS, cardReadLifetimeMs: 300 });
    const notes: string[] = [];
    device.on('note', (note) => notes.push(note));
    try {
      await device.start();
      const started = Date.now();
      await device.tap(mifare);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(notes).toContain(`card read mifare:04A1B2C3D4E5F6 given up: no ack within 300 ms (firmware plays 'error')`);
      await expect(device.tap({ kind: 'ble-tag', uid: '0102' })).rejects.toThrow('credential kind ble-tag has no bridge code');
    } finally {
      await device.stop();
      await closeRig(rig);
    }
  });
});

describe('BridgeReader against raw frames over a real pty pair', () => {
  let rig: Rig;
  const badFrames: Array<{ reason: string; bytes: Buffer }> = [];

  beforeEach(async () => {
    badFrames.length = 0;
    rig = await makeRig();
    rig.reader.on('badFrame', (bad) => badFrames.push(bad));
    await rig.reader.start();
  });

  afterEach(async () => {
    await closeRig(rig);
  });

  const hello = (seq: number, boot: boolean): BridgeMessage => ({
    type: 'hello',
    seq,
    boot,
    firmwareName: 'raw',
    firmwareVersion: '0.1',
    capabilities: { beeper: true, leds: false, display: false, tamperSwitch: false },
    displayWidth: 0,
  });
  const card = (seq: number): BridgeMessage => ({ type: 'card-read', seq, read: mifare, readAtMs: 1 });
  const acksFor = (seq: number): number => gatewayMessages(rig).filter((m) => m.type === 'ack' && m.ackSeq === seq).length;

  it('is connecting until the device talks, and unresponsive when nothing ever answers', async () => {
    expect(rig.reader.status()).toMatchObject({ state: 'connecting', detail: 'waiting for the device to say hello' });
    await waitFor('unresponsive', () => rig.reader.status().state === 'unresponsive', 10_000);
    // It asked for hello with new_session, then gave that request up after the retries.
    const helloRequests = (): BridgeMessage[] => gatewayMessages(rig).filter((m) => m.type === 'hello-request');
    await waitFor('every hello request to cross the pty', () => helloRequests().length === MAX_RETRIES + 1);
    await sleep(ACK_TIMEOUT_MS * 2);
    const requests = helloRequests();
    expect(requests).toHaveLength(MAX_RETRIES + 1);
    expect(requests.every((m) => m.type === 'hello-request' && m.newSession)).toBe(true);
  });

  it('acks every copy of a card read but reports it once; a boot hello makes the same seq new again', async () => {
    await rig.deviceLink.write(Buffer.concat([encodeBridgeFrame(hello(100, true)), encodeBridgeFrame(card(5)), encodeBridgeFrame(card(5))]));
    await waitFor('two acks of seq 5', () => acksFor(5) === 2);
    expect(rig.cards).toEqual([mifare]);
    expect(rig.reader.status().firmware).toBe('raw 0.1');

    // The device rebooted and numbers from 5 again: that read is new.
    await rig.deviceLink.write(Buffer.concat([encodeBridgeFrame(hello(4, true)), encodeBridgeFrame(card(5))]));
    await waitFor('the read after reboot', () => rig.cards.length === 2);
    // A hello that is not a boot hello keeps the memory: seq 5 again is a retransmission.
    await rig.deviceLink.write(Buffer.concat([encodeBridgeFrame(hello(6, false)), encodeBridgeFrame(card(5))]));
    await waitFor('four acks of seq 5', () => acksFor(5) === 4);
    await sleep(50);
    expect(rig.cards).toHaveLength(2);
  });

  it('counts and reports bad frames, and NACKs good frames it cannot handle', async () => {
    await rig.deviceLink.write(Buffer.from([0x13, 0x37, 0x00]));
    const corrupted = Buffer.from(encodeBridgeFrame(card(8)));
    corrupted[8] = (corrupted[8] as number) ^ 0x01;
    await rig.deviceLink.write(corrupted);
    // A feedback frame travelling the wrong way, and a type from the future.
    await rig.deviceLink.write(encodeBridgeFrame({ type: 'feedback', seq: 21, feedback: { kind: 'accepted' } }));
    await rig.deviceLink.write(rawFrame(Buffer.from('01FE16000001', 'hex')));
    await waitFor('four bad frames', () => rig.reader.status().badFrames === 4);
    expect(badFrames.map((bad) => bad.reason)).toEqual([
      'COBS: block at offset 0 runs past the end of the frame',
      expect.stringMatching(/^CRC mismatch/),
      'feedback goes from gateway to device, not back',
      'unsupported message type 0xfe',
    ]);
    await waitFor('two NACKs', () => gatewayMessages(rig).filter((m) => m.type === 'nack').length === 2);
    expect(gatewayMessages(rig).filter((m) => m.type === 'nack')).toEqual([
      { type: 'nack', refusedSeq: 21, refusedType: 0x30, reason: 'unsupported-type' },
      { type: 'nack', refusedSeq: 22, refusedType: 0xfe, reason: 'unsupported-type' },
    ]);
    expect(rig.cards).toEqual([]);
  });

  it('resolves feedback false at once on a NACK, without waiting for retries', async () => {
    const patient = await makeRig({ ackTimeoutMs: 5000, heartbeatTimeoutMs: 10_000 });
    try {
      await patient.reader.start();
      await patient.deviceLink.write(encodeBridgeFrame(hello(1, true)));
      await waitFor('ready', () => patient.reader.status().state === 'ready');
      patient.wire.length = 0;
      const result = patient.reader.feedback({ kind: 'revoked' });
      const sent = await waitFor('the feedback frame', () => gatewayMessages(patient).find((m) => m.type === 'feedback'));
      const seq = 'seq' in sent ? sent.seq : -1;
      const started = Date.now();
      await patient.deviceLink.write(encodeBridgeFrame({ type: 'nack', refusedSeq: seq, refusedType: 0x30, reason: 'unsupported-value' }));
      await expect(result).resolves.toBe(false);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(gatewayMessages(patient).filter((m) => m.type === 'feedback')).toHaveLength(1);
    } finally {
      await closeRig(patient);
    }
  });

  it('stops promptly: a pending feedback resolves false and no timer keeps running', async () => {
    const slow = await makeRig({ ackTimeoutMs: 10_000, heartbeatTimeoutMs: 10_000 });
    try {
      await slow.reader.start();
      await waitFor('open', () => slow.reader.status().state === 'connecting' && slow.wire.length > 0);
      const pending = slow.reader.feedback({ kind: 'identify' });
      const started = Date.now();
      await slow.reader.stop();
      await expect(pending).resolves.toBe(false);
      expect(Date.now() - started).toBeLessThan(500);
      expect(slow.reader.status().state).toBe('stopped');
      await expect(slow.reader.feedback({ kind: 'accepted' })).resolves.toBe(false);
      // Let bytes written before stop() finish crossing the pty, then expect silence.
      await sleep(30);
      slow.wire.length = 0;
      await sleep(HEARTBEAT_MS * 3);
      expect(slow.wire).toEqual([]);
    } finally {
      await closeRig(slow);
    }
  });
});
