import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { CredentialError, type CardRead } from '../../core/credential.js';
import {
  BRIDGE_DEFAULTS,
  BridgeFrameParser,
  RecentSeqs,
  bridgeTypeCodes,
  cardReadFromBytes,
  encodeBridgeFrame,
  isBridgeCardKind,
  type BridgeMessage,
  type BridgeParseEvent,
  type ReliableBridgeMessage,
} from '../codecs/bridge-frame.js';
import type { ReaderSimulator, SimulatorEvents, SimulatorPort } from './simulator.js';

export interface BridgeDeviceSimulatorOptions {
  port: SimulatorPort;
  /** "name version", as the device reports it in its hello. */
  firmware?: string;
  heartbeatMs?: number;
  ackTimeoutMs?: number;
  displayWidth?: number;
  /** A card read nobody acknowledged in this time is given up (the firmware would play 'error'). */
  cardReadLifetimeMs?: number;
}

/** A reliable frame the device wants to send, queued until the window has room. */
interface Outgoing {
  what: string;
  bootHello?: boolean;
  build(seq: number): ReliableBridgeMessage;
  /** Called once: the frame was first written, or it was given up. */
  done(): void;
  seq?: number;
  frame?: Buffer;
  retryTimer?: NodeJS.Timeout;
  expiryTimer?: NodeJS.Timeout;
}

/** "mifare:04A1B2C3D4E5F6", "em4100:62E3086CED", "wiegand26:5A0144", or bare hex (a MIFARE UID). */
export function parseBridgeCardText(text: string): CardRead {
  const trimmed = text.trim();
  const at = trimmed.indexOf(':');
  const kind = at < 0 ? 'mifare' : trimmed.slice(0, at).toLowerCase();
  const uid = at < 0 ? trimmed : trimmed.slice(at + 1);
  if (!isBridgeCardKind(kind)) {
    throw new CredentialError(`card "${text}": kind "${kind}" is not one of em4100, mifare, wiegand26, wiegand34`);
  }
  if (!/^(?:[0-9A-Fa-f]{2})+$/.test(uid)) {
    throw new CredentialError(`card "${text}": the uid must be whole bytes of hex, like mifare:04A1B2C3`);
  }
  try {
    return cardReadFromBytes(kind, Buffer.from(uid, 'hex'));
  } catch (error) {
    throw new CredentialError(`card "${text}": ${(error as Error).message}`);
  }
}

/**
 * Plays an ESP32/RP2040 reader running punchgate bridge firmware, by the rules of
 * docs/bridge-protocol.md, so that the gateway's BridgeReader is tested against the spec rather
 * than against itself. Test hooks play a hung MCU and a lossy line.
 */
export class BridgeDeviceSimulator extends EventEmitter<SimulatorEvents> implements ReaderSimulator {
  private readonly port: SimulatorPort;
  private readonly firmwareName: string;
  private readonly firmwareVersion: string;
  private readonly heartbeatMs: number;
  private readonly ackTimeoutMs: number;
  private readonly displayWidth: number;
  private readonly cardReadLifetimeMs: number;
  private readonly parser = new BridgeFrameParser();
  private readonly seenFromGateway = new RecentSeqs();
  /** Uptime counts from boot (start), as on the MCU. */
  private bootedAt = performance.now();
  private readonly queue: Outgoing[] = [];
  private readonly outstanding = new Map<number, Outgoing>();
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private nextSeq = randomInt(0x10000);
  private started = false;
  private bootHelloAcked = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private tamper = false;
  private silent = false;
  private dropReceivedAcks = 0;
  private dropSentAcks = 0;

  constructor(options: BridgeDeviceSimulatorOptions) {
    super();
    this.port = options.port;
    const firmware = (options.firmware ?? 'punchgate-sim 1.0.0').trim();
    const space = firmware.indexOf(' ');
    this.firmwareName = space < 0 ? firmware : firmware.slice(0, space);
    this.firmwareVersion = space < 0 ? '' : firmware.slice(space + 1).trim();
    this.heartbeatMs = options.heartbeatMs ?? BRIDGE_DEFAULTS.heartbeatIntervalMs;
    this.ackTimeoutMs = options.ackTimeoutMs ?? BRIDGE_DEFAULTS.ackTimeoutMs;
    this.displayWidth = options.displayWidth ?? 16;
    this.cardReadLifetimeMs = options.cardReadLifetimeMs ?? BRIDGE_DEFAULTS.cardReadLifetimeMs;
  }

  /** Boots: flushes the line, says hello (boot) and starts heartbeats. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.bootedAt = performance.now();
    this.bootHelloAcked = false;
    this.seenFromGateway.clear();
    this.parser.reset();
    this.port.on('data', this.onData);
    this.heartbeatTimer = setInterval(() => this.send({ type: 'heartbeat', uptimeMs: this.uptimeMs() }), this.heartbeatMs).unref();
    this.write(Buffer.from([0]));
    // The boot hello jumps the queue: nothing else may be sent before the gateway has acked it.
    this.transmit(this.helloItem(true));
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.port.off('data', this.onData);
    clearInterval(this.heartbeatTimer);
    for (const item of [...this.queue, ...this.outstanding.values()]) this.drop(item);
  }

  /** Presents a card: resolves once its card-read frame is on the wire, or when it is given up. */
  tap(card: CardRead): Promise<void> {
    const readAtMs = this.uptimeMs();
    const build = (seq: number): ReliableBridgeMessage => ({ type: 'card-read', seq, read: card, readAtMs });
    try {
      encodeBridgeFrame(build(0));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise<void>((resolve) => {
      const item: Outgoing = { what: `card read ${card.kind}:${card.uid}`, build, done: once(resolve) };
      item.expiryTimer = setTimeout(() => {
        this.emit('note', `${item.what} given up: no ack within ${this.cardReadLifetimeMs} ms (firmware plays 'error')`);
        this.drop(item);
        this.pump();
      }, this.cardReadLifetimeMs).unref();
      this.enqueue(item);
    });
  }

  /** Opens (true) or closes (false) the enclosure; reported once per change. */
  setTamper(active: boolean): void {
    if (active === this.tamper) return;
    this.tamper = active;
    this.enqueue({ what: `tamper ${active ? 'active' : 'cleared'}`, build: (seq) => ({ type: 'tamper', seq, active }), done: () => undefined });
  }

  /** A hung MCU: while silent it neither sends nor hears anything; timers keep running. */
  setSilent(silent: boolean): void {
    if (this.silent && !silent) this.parser.reset();
    this.silent = silent;
  }

  /** Loses the next `count` ACKs on the line: those the gateway sends ('received'), or those this device sends ('sent'). */
  dropNextAcks(count: number, direction: 'received' | 'sent' = 'received'): void {
    if (direction === 'received') this.dropReceivedAcks = count;
    else this.dropSentAcks = count;
  }

  private receive(chunk: Buffer): void {
    if (this.silent) return;
    for (const event of this.parser.push(chunk)) this.handle(event);
  }

  private handle(event: BridgeParseEvent): void {
    if (event.type === 'bad-frame') {
      this.emit('note', `bad frame from gateway: ${event.reason}`);
      if (event.refusal) this.send({ type: 'nack', ...event.refusal });
      return;
    }
    const message = event.message;
    switch (message.type) {
      case 'ack': {
        if (this.dropReceivedAcks > 0) {
          this.dropReceivedAcks -= 1;
          this.emit('note', `lost the gateway's ack of seq ${message.ackSeq}`);
          return;
        }
        const item = this.outstanding.get(message.ackSeq);
        if (!item) return;
        this.finish(item);
        if (item.bootHello) this.bootHelloAcked = true;
        this.pump();
        return;
      }
      case 'nack': {
        const item = this.outstanding.get(message.refusedSeq);
        this.emit('note', `gateway refused ${item?.what ?? `seq ${message.refusedSeq}`}: ${message.reason}`);
        if (item) this.finish(item);
        this.pump();
        return;
      }
      case 'heartbeat':
        return;
      case 'hello-request':
        this.ack(message.seq);
        // A new gateway session numbers its frames afresh: forget the old ones before remembering this.
        if (message.newSession) this.seenFromGateway.clear();
        if (!this.seenFromGateway.accept(message.seq)) return;
        // Until the boot hello is acked it is still being resent, and it answers this request too.
        if (this.bootHelloAcked) this.enqueue(this.helloItem(false));
        return;
      case 'feedback':
        this.ack(message.seq);
        if (this.seenFromGateway.accept(message.seq)) this.emit('feedback', message.feedback);
        return;
      case 'hello':
      case 'card-read':
      case 'tamper':
        this.emit('note', `gateway sent ${message.type}, which only a device sends`);
        this.send({ type: 'nack', refusedSeq: message.seq, refusedType: bridgeTypeCodes[message.type], reason: 'unsupported-type' });
        return;
    }
  }

  private helloItem(boot: boolean): Outgoing {
    return {
      what: boot ? 'boot hello' : 'hello',
      bootHello: boot,
      build: (seq) => ({
        type: 'hello',
        seq,
        boot,
        firmwareName: this.firmwareName,
        firmwareVersion: this.firmwareVersion,
        capabilities: { beeper: true, leds: true, display: this.displayWidth > 0, tamperSwitch: true },
        displayWidth: this.displayWidth,
      }),
      done: () => undefined,
    };
  }

  private enqueue(item: Outgoing): void {
    this.queue.push(item);
    this.pump();
  }

  private pump(): void {
    while (this.started && this.bootHelloAcked && this.outstanding.size < BRIDGE_DEFAULTS.sendWindow) {
      const item = this.queue.shift();
      if (!item) return;
      this.transmit(item);
    }
  }

  /** Sends a reliable frame and resends it every ack time-out until it is acked or given up. */
  private transmit(item: Outgoing): void {
    let seq = this.nextSeq;
    while (this.outstanding.has(seq)) seq = (seq + 1) & 0xffff;
    this.nextSeq = (seq + 1) & 0xffff;
    const frame = encodeBridgeFrame(item.build(seq));
    item.seq = seq;
    item.frame = frame;
    this.outstanding.set(seq, item);
    const attempt = (): void => {
      if (!this.silent) {
        this.port.write(frame).then(
          () => item.done(),
          () => undefined,
        );
      }
    };
    item.retryTimer = setInterval(attempt, this.ackTimeoutMs).unref();
    attempt();
  }

  private finish(item: Outgoing): void {
    clearInterval(item.retryTimer);
    clearTimeout(item.expiryTimer);
    if (item.seq !== undefined) this.outstanding.delete(item.seq);
    item.done();
  }

  private drop(item: Outgoing): void {
    const queued = this.queue.indexOf(item);
    if (queued >= 0) this.queue.splice(queued, 1);
    this.finish(item);
  }

  private ack(seq: number): void {
    if (this.dropSentAcks > 0) {
      this.dropSentAcks -= 1;
      this.emit('note', `lost this device's ack of seq ${seq}`);
      return;
    }
    this.send({ type: 'ack', ackSeq: seq });
  }

  private send(message: BridgeMessage): void {
    if (!this.silent) this.write(encodeBridgeFrame(message));
  }

  private write(bytes: Buffer): void {
    // A port that is re-opening loses the bytes, as a real line would; reliable frames are resent.
    this.port.write(bytes).catch(() => undefined);
  }

  private uptimeMs(): number {
    return Math.floor(performance.now() - this.bootedAt) % 2 ** 32;
  }
}

function once(callback: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    callback();
  };
}
