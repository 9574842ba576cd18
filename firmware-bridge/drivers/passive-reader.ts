import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Feedback } from '../../core/feedback.js';
import { hex, type DecodeEvent, type StreamDecoder } from '../codec.js';
import type { ReaderDriver, ReaderEvents, ReaderState, ReaderStatus } from '../reader-driver.js';
import type { ReaderProtocol } from '../reader-protocols.js';
import { SerialLink, type LinkState } from '../serial-link.js';

export interface PassiveReaderOptions {
  id: string;
  protocol: ReaderProtocol;
  path: string;
  baudRate: number;
  decoder: StreamDecoder;
  logger: Logger;
  minRetryMs?: number;
  maxRetryMs?: number;
}

const linkToReaderState: Record<LinkState, ReaderState> = {
  idle: 'connecting',
  opening: 'connecting',
  open: 'ready',
  waiting: 'disconnected',
  stopped: 'stopped',
};

/**
 * A reader that only talks: it sends card frames and cannot beep on command (RDM6300, EM-18,
 * Wiegand converters, ASCII readers). Feedback goes to the kiosk screen instead.
 */
export class PassiveReader extends EventEmitter<ReaderEvents> implements ReaderDriver {
  readonly id: string;
  readonly protocol: ReaderProtocol;
  private readonly link: SerialLink;
  private readonly logger: Logger;
  private reads = 0;
  private badFrames = 0;

  constructor(private readonly options: PassiveReaderOptions) {
    super();
    this.id = options.id;
    this.protocol = options.protocol;
    this.logger = options.logger;
    this.link = new SerialLink({
      path: options.path,
      baudRate: options.baudRate,
      logger: options.logger,
      minRetryMs: options.minRetryMs,
      maxRetryMs: options.maxRetryMs,
    });
    this.link.on('data', (chunk) => this.onData(chunk));
    this.link.on('state', (state) => {
      // A frame cut by an unplug must not be completed by bytes from after the re-plug.
      if (state !== 'open') this.report(this.options.decoder.end());
      this.emit('state', this.status());
    });
  }

  status(): ReaderStatus {
    const detail = this.link.detail;
    return {
      id: this.id,
      protocol: this.protocol,
      path: this.options.path,
      state: linkToReaderState[this.link.state],
      ...(detail ? { detail } : {}),
      reads: this.reads,
      badFrames: this.badFrames,
    };
  }

  start(): Promise<void> {
    return this.link.start();
  }

  stop(): Promise<void> {
    return this.link.stop();
  }

  async feedback(_feedback: Feedback): Promise<boolean> {
    return false;
  }

  private onData(chunk: Buffer): void {
    this.report(this.options.decoder.push(chunk));
  }

  private report(events: DecodeEvent[]): void {
    for (const event of events) {
      if (event.type === 'card') {
        this.reads += 1;
        this.emit('card', event.read);
      } else {
        this.badFrames += 1;
        this.logger.warn({ reason: event.reason, bytes: hex(event.bytes) }, 'bad frame refused');
        this.emit('badFrame', { reason: event.reason, bytes: event.bytes });
      }
    }
  }
}
