import type { Clock } from '../../gateway/clock.js';

/** A clock the test moves by hand: wall time and monotonic time advance together. */
export class ManualClock implements Clock {
  private wallMs: number;
  private monoMs = 1_000_000;
  isSynced = true;
  /** The boot id it reports; a test "reboots" by changing it. */
  boot = 'test-boot';

  constructor(start: string) {
    this.wallMs = Date.parse(start);
  }

  now(): Date {
    return new Date(this.wallMs);
  }

  monotonicMs(): number {
    return this.monoMs;
  }

  bootId(): string {
    return this.boot;
  }

  synced(): boolean {
    return this.isSynced;
  }

  advance(ms: number): void {
    this.wallMs += ms;
    this.monoMs += ms;
  }

  /** Steps the wall clock alone, as NTP does when it first syncs a clock that booted wrong. */
  setWall(iso: string): void {
    this.wallMs = Date.parse(iso);
  }
}
