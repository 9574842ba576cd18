/**
 * Where the gateway gets the time of a punch, and whether that time can be trusted. A Pi without
 * a real-time clock boots at a stale time until NTP syncs; punches carry that trust with them.
 * (The synchronisation watch and the correction of unsynced punches arrive with the uplink.)
 */
export interface Clock {
  now(): Date;
  /** Milliseconds from a monotonic source: immune to wall-clock steps, for windows and time-outs. */
  monotonicMs(): number;
  synced(): boolean;
}

export class SystemClock implements Clock {
  constructor(private readonly assumeSynced = true) {}

  now(): Date {
    return new Date();
  }

  monotonicMs(): number {
    return performance.now();
  }

  synced(): boolean {
    return this.assumeSynced;
  }
}
