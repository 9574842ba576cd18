/**
 * Lockout with back-off for sign-in, per (client IP, username): after `maxFailures` wrong
 * passwords in a row the pair is locked for `lockoutMs`; every further failure once the lock has
 * lifted locks it again for twice as long as the previous lock, up to `maxLockoutMs`. A success
 * forgets the pair; so does `forgetAfterMs` without a failure. While locked, the password is not
 * even checked (no scrypt work for a guesser). Kept in memory, bounded to `maxEntries` pairs (the
 * oldest are dropped first); @fastify/rate-limit on the route caps the raw request rate as well.
 */

export interface LoginThrottleSettings {
  maxFailures: number;
  lockoutMs: number;
  maxLockoutMs: number;
  forgetAfterMs: number;
  maxEntries: number;
}

export const defaultLoginThrottleSettings: LoginThrottleSettings = {
  maxFailures: 5,
  lockoutMs: 60_000,
  maxLockoutMs: 60 * 60_000,
  forgetAfterMs: 24 * 60 * 60_000,
  maxEntries: 10_000,
};

interface Entry {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly settings: LoginThrottleSettings,
    private readonly now: () => Date,
  ) {}

  static key(ip: string, username: string): string {
    return `${ip}\u0000${username.trim().toLowerCase()}`;
  }

  /** Milliseconds until the pair may try again; 0 when it may now. */
  lockedFor(key: string): number {
    const entry = this.live(key);
    return entry ? Math.max(0, entry.lockedUntil - this.now().getTime()) : 0;
  }

  /** Records a wrong password; returns the lock it caused, in milliseconds (0 for none). */
  failure(key: string): number {
    const now = this.now().getTime();
    const entry = this.live(key) ?? { failures: 0, lastFailureAt: now, lockedUntil: 0 };
    entry.failures += 1;
    entry.lastFailureAt = now;
    const over = entry.failures - this.settings.maxFailures;
    let lock = 0;
    if (over >= 0) {
      lock = Math.min(this.settings.maxLockoutMs, this.settings.lockoutMs * 2 ** Math.min(over, 30));
      entry.lockedUntil = now + lock;
    }
    // Re-inserted last: the map's order is the eviction order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.settings.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return lock;
  }

  success(key: string): void {
    this.entries.delete(key);
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now().getTime();
    if (now >= entry.lockedUntil && now - entry.lastFailureAt >= this.settings.forgetAfterMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
