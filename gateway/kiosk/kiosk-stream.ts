import type { ServerResponse } from 'node:http';

export interface KioskStreamOptions {
  /** A comment line this often, so that the page can tell a quiet gateway from a dead connection. */
  heartbeatMs: number;
  /** The page's reconnection delay (`retry:`). */
  retryMs: number;
  /**
   * A page that lets this much pile up unread is cut off: it reconnects and gets the whole state
   * again, which is all a screen needs (nothing here must be replayed).
   */
  maxBufferedBytes: number;
  /** Called once when the stream is over, whoever ended it. */
  onClose: () => void;
}

/**
 * One kiosk page's server-sent-events response. Events are written straight to the socket (no
 * queue, no Nagle: the tap must be on the screen within milliseconds of its commit).
 */
export class KioskStream {
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly response: ServerResponse,
    private readonly options: KioskStreamOptions,
  ) {
    response.socket?.setNoDelay(true);
    response.on('close', () => this.finish());
    response.on('error', () => this.finish());
    this.heartbeat = setInterval(() => this.write(`: heartbeat ${new Date().toISOString()}\n\n`), options.heartbeatMs);
    this.heartbeat.unref();
    this.write(`retry: ${options.retryMs}\n: punchgate kiosk\n\n`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(event: string, data: unknown, id?: number): void {
    this.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream (the server is closing): the page reconnects by itself after `retry`. */
  end(): void {
    if (this.closed) return;
    this.finish();
    this.response.end();
    setTimeout(() => this.response.destroy(), 500).unref();
  }

  private write(chunk: string): void {
    if (this.closed) return;
    this.response.write(chunk);
    if (this.response.writableLength > this.options.maxBufferedBytes) {
      this.finish();
      this.response.destroy();
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.options.onClose();
  }
}
