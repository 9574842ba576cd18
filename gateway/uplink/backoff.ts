/**
 * Reconnect delays: exponential from `minMs` to `maxMs`, with "equal jitter" (a random point in
 * the upper half of the step). The jitter spreads a fleet of gateways that lost the same broker at
 * the same moment, so they do not all come back in the same millisecond; the half kept fixed
 * keeps a floor under the delay, so a flapping link is never retried in a busy loop.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const step = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.failures, 30));
    this.failures += 1;
    return step / 2 + this.random() * (step / 2);
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}
