import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Feedback } from '../../core/feedback.js';
import { hex } from '../codec.js';
import {
  BRIDGE_DEFAULTS,
  BridgeFrameParser,
  RecentSeqs,
  bridgeTypeCodes,
  encodeBridgeFrame,
  fitFeedbackText,
  type BridgeMessage,
  type BridgeParseEvent,
  type ReliableBridgeMessage,
} from '../codecs/bridge-frame.js';
import type { ReaderDriver, ReaderEvents, ReaderState, ReaderStatus } from '../reader-driver.js';
import type { ReaderProtocol } from '../reader-protocols.js';
import { SerialLink, type LinkState } from '../serial-link.js';

export interface BridgeReaderOptions {
  id: string;
  path: string;
  baudRate: number;
  logger: Logger;
  /** Wait for an ACK before sending a reliable frame again. */
  ackTimeoutMs?: number;
  /** Retransmissions after the first send; then the frame is given up. */
  maxRetries?: number;
  /** Silence from the device after which it is 'unresponsive'. */
  heartbeatTimeoutMs?: number;
  /** How often the gateway sends its own heartbeat, so a device can tell that the gateway is gone. */
  heartbeatIntervalMs?: number;
  minRetryMs?: number;
  maxRetryMs?: number;
}

interface Outstanding {
  frame: Buffer;
  what: string;
  retriesLeft: number;
  timer: NodeJS.Timeout;
  settle(delivered: boolean): void;
}

const linkToReaderState: Record<LinkState, ReaderState> = {
  idle: 'connecting',
  opening: 'connecting',
  open: 'ready',
  waiting: 'disconnected',
  stopped: 'stopped',
};

/**
 * A microcontroller reader speaking the punchgate bridge protocol (docs/bridge-protocol.md):
 * acknowledged card reads, feedback the device confirms, heartbeats and tamper reports.
 */
export class BridgeReader extends EventEmitter<ReaderEvents> implements ReaderDriver {
  readonly id: string;
  readonly protocol: ReaderProtocol = 'punchgate';
  private readonly link: SerialLink;
  private readonly logger: Logger;
  private readonly ackTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly parser = new BridgeFrameParser();
  /** Seqs of the device's reliable frames already handled: retransmissions are acked, not repeated. */
  private readonly seen = new RecentSeqs();
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly startedAt = performance.now();
  private nextSeq = randomInt(0x10000);
  /** Counts port sessions, so a late answer from a closed session changes nothing. */
  private session = 0;
  private device: 'connecting' | 'ready' | 'unresponsive' = 'connecting';
  private firmware: string | undefined;
  /** The device has acknowledged a hello request that asked it to forget our old seqs. */
  private sessionConfirmed = false;
  private helloOutstanding = false;
  private lastHelloRequestAt = 0;
  private livenessTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reads = 0;
  private badFrames = 0;
  private lastReported = '';

  constructor(private readonly options: BridgeReaderOptions) {
    super();
    this.id = options.id;
    this.logger = options.logger;
    this.ackTimeoutMs = options.ackTimeoutMs ?? BRIDGE_DEFAULTS.ackTimeoutMs;
    this.maxRetries = options.maxRetries ?? BRIDGE_DEFAULTS.maxRetries;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? BRIDGE_DEFAULTS.heartbeatTimeoutMs;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? BRIDGE_DEFAULTS.heartbeatIntervalMs;
    this.link = new SerialLink({
      path: options.path,
      baudRate: options.baudRate,
      logger: options.logger,
      minRetryMs: options.minRetryMs,
      maxRetryMs: options.maxRetryMs,
    });
    this.link.on('data', (chunk) => this.onData(chunk));
    this.link.on('state', (state) => {
      if (state === 'open') this.beginSession();
      else this.endSession();
      this.reportState();
    });
  }

  status(): ReaderStatus {
    const linkState = this.link.state;
    const state = linkState === 'open' ? this.device : linkToReaderState[linkState];
    const detail =
      linkState !== 'open'
        ? this.link.detail
        : this.device === 'connecting'
          ? 'waiting for the device to say hello'
          : this.device === 'unresponsive'
            ? `no frame from the device for ${this.heartbeatTimeoutMs} ms`
            : undefined;
    return {
      id: this.id,
      protocol: this.protocol,
      path: this.options.path,
      state,
      ...(detail ? { detail } : {}),
      reads: this.reads,
      badFrames: this.badFrames,
      ...(this.firmware ? { firmware: this.firmware } : {}),
    };
  }

  start(): Promise<void> {
    return this.link.start();
  }

  async stop(): Promise<void> {
    this.endSession();
    await this.link.stop();
    this.reportState();
  }

  /**
   * The frame is written before this returns its promise (the punch is already durable; the person
   * is waiting). Resolves true when the device acks it, false when it is not connected, refuses it
   * or never acks. Never rejects.
   */
  async feedback(feedback: Feedback): Promise<boolean> {
    try {
      const text = feedback.text === undefined ? '' : fitFeedbackText(feedback.text);
      const fitted: Feedback = text ? { kind: feedback.kind, text } : { kind: feedback.kind };
      return await this.sendReliable(`feedback ${feedback.kind}`, (seq) => ({ type: 'feedback', seq, feedback: fitted }));
    } catch (error) {
      this.logger.error({ err: error }, 'feedback could not be encoded');
      return false;
    }
  }

  private beginSession(): void {
    this.endSession();
    this.session += 1;
    this.parser.reset();
    this.seen.clear();
    this.firmware = undefined;
    this.device = 'connecting';
    this.sessionConfirmed = false;
    this.helloOutstanding = false;
    this.livenessTimer = setTimeout(() => this.onSilence(), this.heartbeatTimeoutMs).unref();
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), this.heartbeatIntervalMs).unref();
    // A lone delimiter ends whatever line noise the device holds from before the port opened.
    this.write(Buffer.from([0]));
    this.requestHello();
  }

  private endSession(): void {
    clearTimeout(this.livenessTimer);
    clearInterval(this.heartbeatTimer);
    this.livenessTimer = undefined;
    this.heartbeatTimer = undefined;
    // A frame cut by an unplug must not be completed by bytes from after the re-plug.
    this.parser.reset();
    for (const entry of [...this.outstanding.values()]) entry.settle(false);
  }

  private onSilence(): void {
    if (this.device === 'unresponsive') return;
    this.device = 'unresponsive';
    this.logger.warn({ silentMs: this.heartbeatTimeoutMs }, 'bridge device stopped answering');
    this.reportState();
  }

  /** Any frame with a good CRC proves the device is alive, even one we refuse. */
  private markAlive(): void {
    this.livenessTimer?.refresh();
    if (this.device !== 'ready') {
      this.device = 'ready';
      this.reportState();
    }
    // Asked again at most once per heartbeat time-out: firmware that NACKs the request must not
    // turn every heartbeat into a request.
    const sinceAsked = performance.now() - this.lastHelloRequestAt;
    if (this.firmware === undefined && !this.helloOutstanding && sinceAsked >= this.heartbeatTimeoutMs) this.requestHello();
  }

  private onData(chunk: Buffer): void {
    for (const event of this.parser.push(chunk)) this.onFrame(event);
  }

  private onFrame(event: BridgeParseEvent): void {
    if (event.type === 'bad-frame') {
      if (event.refusal) this.markAlive();
      this.refuse(event.reason, event.bytes);
      if (event.refusal) this.send({ type: 'nack', ...event.refusal });
      return;
    }
    this.markAlive();
    const message = event.message;
    switch (message.type) {
      case 'ack':
        this.outstanding.get(message.ackSeq)?.settle(true);
        return;
      case 'nack': {
        const entry = this.outstanding.get(message.refusedSeq);
        this.logger.warn({ refused: entry?.what, reason: message.reason, seq: message.refusedSeq }, 'device refused a frame');
        entry?.settle(false);
        return;
      }
      case 'heartbeat':
        return;
      case 'hello':
        // A boot hello comes before any other reliable frame of the new boot, and the device's seqs
        // start again: what we remember of the old boot must not swallow its first card.
        if (message.boot) this.seen.clear();
        this.send({ type: 'ack', ackSeq: message.seq });
        this.seen.accept(message.seq);
        this.firmware = `${message.firmwareName} ${message.firmwareVersion}`.trim();
        this.logger.info({ firmware: this.firmware, boot: message.boot, capabilities: message.capabilities, displayWidth: message.displayWidth }, 'bridge device hello');
        this.reportState();
        return;
      case 'card-read':
        this.send({ type: 'ack', ackSeq: message.seq });
        if (!this.seen.accept(message.seq)) return;
        this.reads += 1;
        this.emit('card', message.read);
        return;
      case 'tamper':
        this.send({ type: 'ack', ackSeq: message.seq });
        if (!this.seen.accept(message.seq)) return;
        this.logger.warn({ active: message.active }, 'bridge device tamper report');
        this.emit('tamper', { active: message.active });
        return;
      case 'hello-request':
      case 'feedback':
        this.refuse(`${message.type} goes from gateway to device, not back`, event.bytes);
        this.send({ type: 'nack', refusedSeq: message.seq, refusedType: bridgeTypeCodes[message.type], reason: 'unsupported-type' });
        return;
    }
  }

  private refuse(reason: string, bytes: Buffer): void {
    this.badFrames += 1;
    this.logger.warn({ reason, bytes: hex(bytes) }, 'bad frame refused');
    this.emit('badFrame', { reason, bytes });
  }

  private requestHello(): void {
    const session = this.session;
    const newSession = !this.sessionConfirmed;
    this.helloOutstanding = true;
    this.lastHelloRequestAt = performance.now();
    void this.sendReliable('hello request', (seq) => ({ type: 'hello-request', seq, newSession })).then((acked) => {
      if (session !== this.session) return;
      this.helloOutstanding = false;
      if (acked && newSession) this.sessionConfirmed = true;
    });
  }

  private sendHeartbeat(): void {
    this.send({ type: 'heartbeat', uptimeMs: Math.floor(performance.now() - this.startedAt) % 2 ** 32 });
  }

  /** Writes a reliable frame now and resends it until acked, at most `maxRetries` times. */
  private sendReliable(what: string, build: (seq: number) => ReliableBridgeMessage): Promise<boolean> {
    if (this.link.state !== 'open') return Promise.resolve(false);
    if (this.outstanding.size >= BRIDGE_DEFAULTS.sendWindow) {
      this.logger.warn({ what }, 'too many unacknowledged frames; not sending');
      return Promise.resolve(false);
    }
    const seq = this.takeSeq();
    const frame = encodeBridgeFrame(build(seq));
    return new Promise<boolean>((resolve) => {
      const entry: Outstanding = {
        frame,
        what,
        retriesLeft: this.maxRetries,
        timer: setTimeout(() => this.onAckTimeout(seq), this.ackTimeoutMs).unref(),
        settle: (delivered) => {
          clearTimeout(entry.timer);
          this.outstanding.delete(seq);
          resolve(delivered);
        },
      };
      this.outstanding.set(seq, entry);
      this.write(frame);
    });
  }

  private onAckTimeout(seq: number): void {
    const entry = this.outstanding.get(seq);
    if (!entry) return;
    if (entry.retriesLeft === 0) {
      this.logger.warn({ what: entry.what, seq, sends: this.maxRetries + 1 }, 'device never acknowledged a frame');
      entry.settle(false);
      return;
    }
    entry.retriesLeft -= 1;
    this.write(entry.frame);
    entry.timer.refresh();
  }

  private takeSeq(): number {
    let seq = this.nextSeq;
    while (this.outstanding.has(seq)) seq = (seq + 1) & 0xffff;
    this.nextSeq = (seq + 1) & 0xffff;
    return seq;
  }

  private send(message: BridgeMessage): void {
    this.write(encodeBridgeFrame(message));
  }

  private write(bytes: Buffer): void {
    this.link.write(bytes).catch((error: unknown) => {
      this.logger.debug({ err: error }, 'write to bridge device failed');
    });
  }

  private reportState(): void {
    const status = this.status();
    const key = `${status.state}|${status.detail ?? ''}|${status.firmware ?? ''}`;
    if (key === this.lastReported) return;
    this.lastReported = key;
    this.emit('state', status);
  }
}
