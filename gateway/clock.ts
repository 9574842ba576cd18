import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Where the gateway gets the time of a punch, and whether that time can be trusted. A Pi without
 * a real-time clock boots at a stale time until NTP syncs; punches carry that trust with them.
 */
export interface Clock {
  now(): Date;
  /**
   * Milliseconds of CLOCK_MONOTONIC: immune to wall-clock steps and shared by every process of one
   * boot, so a punch taken before a restart can still be corrected after it.
   */
  monotonicMs(): number;
  /** Identifies this boot; monotonic readings compare only within one boot. */
  bootId(): string;
  synced(): boolean;
}

/** The kernel's boot id, or a per-process one where /proc does not offer it. */
export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return `process-${randomUUID()}`;
  }
}

export class SystemClock implements Clock {
  private readonly boot = readBootId();

  constructor(private readonly assumeSynced = true) {}

  now(): Date {
    return new Date();
  }

  monotonicMs(): number {
    // libuv's hrtime is CLOCK_MONOTONIC on Linux: time since boot, not since this process began.
    return Number(process.hrtime.bigint() / 1000n) / 1000;
  }

  bootId(): string {
    return this.boot;
  }

  synced(): boolean {
    return this.assumeSynced;
  }
}
