import type { ServerResponse } from 'node:http';

/**
 * One server-sent-events response, written with backpressure: while the socket takes what is
 * written, events go straight out; once `write()` says the socket buffer is full, events wait in a
 * bounded queue until 'drain', and when that queue is full the OLDEST waiting events are dropped
 * (counted, and announced to the client with an `event: dropped` once it catches up, so that it
 * can reload). A client that has not taken anything for `stallTimeoutMs` is closed. So a slow or
 * stuck client holds at most the socket's high-water mark plus `maxQueued` events in memory.
 *
 * Comment lines (`: heartbeat ...`) go out every `heartbeatMs` while the client keeps up, so that
 * proxies and the client can tell a quiet feed from a dead connection.
 */

export interface SseStreamOptions {
  heartbeatMs: number;
  /** Events waiting for a slow client at most; older ones are dropped first. */
  maxQueued: number;
  /** A client that takes nothing for this long is closed. */
  stallTimeoutMs: number;
  /** The stream ends after this long (the client reconnects with Last-Event-ID); 0: never. */
  maxLifetimeMs: number;
  /** The client's reconnection delay (`retry:`). */
  retryMs: number;
  /** Called once when the stream is over, whoever ended it. */
  onClose: (why: SseCloseReason) => void;
}

export type SseCloseReason = 'client-closed' | 'stalled' | 'lifetime' | 'server-closing' | 'access-changed' | 'error';

export interface SseCounters {
  sent: number;
  dropped: number;
  heartbeats: number;
}

export class SseStream {
  readonly counters: SseCounters = { sent: 0, dropped: 0, heartbeats: 0 };
  private readonly queue: string[] = [];
  private blocked = false;
  private blockedSince = 0;
  private droppedSinceNotice = 0;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly watchdog: NodeJS.Timeout | undefined;
  private readonly lifetime: NodeJS.Timeout | undefined;

  constructor(
    private readonly response: ServerResponse,
    private readonly options: SseStreamOptions,
  ) {
    response.on('drain', () => this.flush());
    response.on('close', () => this.finish('client-closed'));
    response.on('error', () => this.finish('error'));
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs);
    this.heartbeat.unref();
    if (options.stallTimeoutMs > 0) {
      this.watchdog = setInterval(() => this.checkStall(), Math.max(50, Math.min(options.stallTimeoutMs / 4, 5000)));
      this.watchdog.unref();
    }
    if (options.maxLifetimeMs > 0) {
      this.lifetime = setTimeout(() => this.end('lifetime', 'the stream reached its maximum lifetime; reconnect with Last-Event-ID'), options.maxLifetimeMs);
      this.lifetime.unref();
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Events waiting for the client now. */
  get queued(): number {
    return this.queue.length;
  }

  /** The first bytes: the reconnection delay and a comment, so that the client sees the stream open at once. */
  open(comment: string): void {
    this.write(`retry: ${this.options.retryMs}\n: ${comment}\n\n`);
  }

  /** Sends one event (`id:`, `event:`, `data:`), or queues it while the client is slow. */
  send(event: { id?: string; event: string; data: string }): void {
    if (this.closed) return;
    const chunk = `${event.id === undefined ? '' : `id: ${event.id}\n`}event: ${event.event}\ndata: ${event.data}\n\n`;
    if (this.blocked) {
      this.queue.push(chunk);
      if (this.queue.length > this.options.maxQueued) {
        const excess = this.queue.length - this.options.maxQueued;
        this.queue.splice(0, excess);
        this.counters.dropped += excess;
        this.droppedSinceNotice += excess;
      }
      return;
    }
    this.counters.sent += 1;
    this.write(chunk);
  }

  /** Ends the stream, telling the client why (an `event: close`), if it still takes anything. */
  end(why: SseCloseReason, message: string): void {
    if (this.closed) return;
    const farewell = `event: close\ndata: ${JSON.stringify({ reason: why, message })}\n\n`;
    this.finish(why);
    // One last small write, bounded even for a stuck client. A stalled client would never take
    // it: its socket goes now; any other gets a moment to, then its socket goes too (a server
    // that is closing must not wait for a client that does not read).
    this.response.end(farewell);
    if (why === 'stalled') this.response.destroy();
    else setTimeout(() => this.response.destroy(), 1000).unref();
  }

  private write(chunk: string): void {
    if (this.closed) return;
    if (!this.response.write(chunk)) {
      this.blocked = true;
      this.blockedSince = performance.now();
    }
  }

  private flush(): void {
    if (this.closed) return;
    this.blocked = false;
    if (this.droppedSinceNotice > 0) {
      const dropped = this.droppedSinceNotice;
      this.droppedSinceNotice = 0;
      this.write(`event: dropped\ndata: ${JSON.stringify({ dropped, message: `${dropped} events were dropped because this client read too slowly; reload the punch list` })}\n\n`);
    }
    while (this.queue.length > 0 && !this.blocked) {
      const chunk = this.queue.shift() as string;
      this.counters.sent += 1;
      this.write(chunk);
    }
  }

  private beat(): void {
    // A client that is behind gets its events first; a heartbeat would only add to its buffer.
    if (this.closed || this.blocked) return;
    this.counters.heartbeats += 1;
    this.write(`: heartbeat ${new Date().toISOString()}\n\n`);
  }

  private checkStall(): void {
    if (!this.closed && this.blocked && performance.now() - this.blockedSince > this.options.stallTimeoutMs) {
      this.end('stalled', `the client took nothing for ${Math.round(this.options.stallTimeoutMs / 1000)} s`);
    }
  }

  private finish(why: SseCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearInterval(this.watchdog);
    clearTimeout(this.lifetime);
    this.queue.length = 0;
    this.options.onClose(why);
  }
}
