import { EventEmitter } from 'node:events';
import { SerialPort, SerialPortMock } from 'serialport';
import type { Logger } from 'pino';
import { isVirtualPath, useVirtualSerial } from './virtual-serial.js';

export type LinkState = 'idle' | 'opening' | 'open' | 'waiting' | 'stopped';

export interface SerialLinkOptions {
  path: string;
  baudRate: number;
  logger: Logger;
  /** First re-open delay after the port vanished or failed to open; doubles up to `maxRetryMs`. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /**
   * A write not taken by the kernel within this long means a dead port (default 5000 ms; a reader's frames
   * take milliseconds even at 9600 baud).
   */
  writeTimeoutMs?: number;
}

interface SerialLinkEvents {
  data: [Buffer];
  state: [LinkState, string | undefined];
}

/**
 * One serial port that keeps itself open: a reader that disappears (USB unplug, a pty pair torn
 * down) is re-opened by path with exponential back-off, never through `SerialPort.list()` (it needs
 * udevadm, which a gateway may lack).
 */
export class SerialLink extends EventEmitter<SerialLinkEvents> {
  private port: SerialPort | SerialPortMock | undefined;
  /**
   * Writes not yet taken by the kernel, failed together when their port closes: one 'close' listener
   * for all of them, not one each (a stalled reader with 11 writes queued tripped Node's
   * MaxListenersExceededWarning).
   */
  private readonly pendingWrites = new Set<{ port: SerialPort | SerialPortMock; fail: (error: Error) => void }>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private currentState: LinkState = 'idle';
  private lastDetail: string | undefined;
  private readonly minRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly writeTimeoutMs: number;
  /** Bumped by stop(): an open still in flight from before it must not take over the link. */
  private generation = 0;

  constructor(private readonly options: SerialLinkOptions) {
    super();
    this.minRetryMs = options.minRetryMs ?? 250;
    this.maxRetryMs = options.maxRetryMs ?? 10_000;
    this.retryMs = this.minRetryMs;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 5000;
  }

  get path(): string {
    return this.options.path;
  }

  get state(): LinkState {
    return this.currentState;
  }

  get detail(): string | undefined {
    return this.lastDetail;
  }

  /** Starts trying to open; resolves after the first attempt, whether or not the port is there. */
  async start(): Promise<void> {
    if (this.currentState !== 'idle' && this.currentState !== 'stopped') return;
    await this.open();
  }

  async stop(): Promise<void> {
    this.generation += 1;
    this.setState('stopped', undefined);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) {
      await new Promise<void>((resolve) => port.close(() => resolve()));
    }
  }

  /**
   * Writes and waits until the bytes have left the process (written to the kernel). Settles when
   * the port closes meanwhile (an unplug) or the write is not taken in time: serialport then
   * never calls back, and a caller that chains its writes would wait for ever.
   */
  async write(bytes: Buffer): Promise<void> {
    const port = this.port;
    if (!port || this.currentState !== 'open') throw new Error(`serial port ${this.options.path} is not open`);
    await new Promise<void>((resolve, reject) => {
      const pending = { port, fail: (error: Error): void => settle(error) };
      const timer = setTimeout(() => settle(new Error(`write to serial port ${this.options.path} not written in ${this.writeTimeoutMs} ms`)), this.writeTimeoutMs);
      const settle = (error?: Error | null): void => {
        clearTimeout(timer);
        this.pendingWrites.delete(pending);
        if (error) reject(error);
        else resolve();
      };
      this.pendingWrites.add(pending);
      // Settled when the bytes are in the kernel's buffer (serialport's write callback), not after a
      // tcdrain: that was one more thread-pool round trip per frame on the tap path (two frames a
      // tap), and nothing here needs the line to have finished sending.
      port.write(bytes, (error) => settle(error));
    }).catch((error: unknown) => {
      // A port that fails a write (EIO from a device that went away without the poller noticing)
      // is dead: drop it and open the path again, as after an unplug.
      if (this.port === port && this.currentState === 'open') {
        this.port = undefined;
        if (port.isOpen) port.close(() => undefined);
        this.scheduleReopen(`lost: ${error instanceof Error ? error.message : String(error)}`);
      }
      throw error;
    });
  }

  private async open(): Promise<void> {
    const generation = this.generation;
    this.setState('opening', undefined);
    const port = isVirtualPath(this.options.path)
      ? (useVirtualSerial(), new SerialPortMock({ path: this.options.path, baudRate: this.options.baudRate, autoOpen: false }))
      : new SerialPort({ path: this.options.path, baudRate: this.options.baudRate, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    } catch (error) {
      if (this.currentState === 'stopped' || generation !== this.generation) return;
      this.scheduleReopen(`cannot open: ${(error as Error).message}`);
      return;
    }
    // Stopped meanwhile, or stopped and started again (a newer open owns the link now).
    if (this.currentState === 'stopped' || generation !== this.generation) {
      port.close();
      return;
    }
    this.port = port;
    this.retryMs = this.minRetryMs;
    port.on('data', (chunk: Buffer) => this.emit('data', chunk));
    port.on('error', (error: Error) => this.options.logger.warn({ err: error, path: this.options.path }, 'serial port error'));
    port.on('close', (error: (Error & { disconnected?: boolean }) | null) => {
      for (const pending of [...this.pendingWrites]) if (pending.port === port) pending.fail(new Error(`serial port ${this.options.path} closed during a write`));
      if (this.port !== port) return;
      this.port = undefined;
      if (this.currentState === 'stopped') return;
      this.scheduleReopen(error ? `lost: ${error.message}` : 'closed');
    });
    this.setState('open', undefined);
  }

  private scheduleReopen(detail: string): void {
    this.setState('waiting', detail);
    clearTimeout(this.retryTimer);
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.maxRetryMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.currentState === 'stopped') return;
      void this.open();
    }, delay);
    this.retryTimer.unref();
  }

  private setState(state: LinkState, detail: string | undefined): void {
    const changed = state !== this.currentState || detail !== this.lastDetail;
    this.currentState = state;
    this.lastDetail = detail;
    if (!changed) return;
    if (state === 'waiting') this.options.logger.warn({ path: this.options.path, detail }, 'serial port unavailable, will retry');
    else this.options.logger.info({ path: this.options.path, state }, 'serial port state');
    this.emit('state', state, detail);
  }
}
