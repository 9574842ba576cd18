import type { WorkerTimers } from '../../dashboard/notifications/delivery-worker.js';

/**
 * A clock and timers that move only when the test says so: `advance(ms, settle)` moves the clock
 * and fires, in time order, every timer that falls due on the way, each seeing the clock at its
 * own due time. For parts that take `now` and `timers` (the delivery worker's back-off).
 */
export class ManualTimers implements WorkerTimers {
  private ms: number;
  private timers: Array<{ at: number; seq: number; callback: () => void }> = [];
  private seq = 0;

  constructor(start: string) {
    this.ms = Date.parse(start);
  }

  readonly now = (): Date => new Date(this.ms);

  after(ms: number, callback: () => void): () => void {
    const timer = { at: this.ms + Math.max(0, ms), seq: (this.seq += 1), callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((other) => other !== timer);
    };
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Moves the clock by `ms`, firing the timers due on the way in time order; after each one,
   * `settle` (the part's own "wait until idle") runs before the clock moves on, so that what a
   * timer started reads the clock at the timer's time.
   */
  async advance(ms: number, settle: () => Promise<void> = async () => undefined): Promise<void> {
    const until = this.ms + ms;
    for (;;) {
      const next = [...this.timers].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next || next.at > until) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      this.ms = Math.max(this.ms, next.at);
      next.callback();
      await settle();
    }
    this.ms = until;
    await settle();
  }
}
