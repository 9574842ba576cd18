import { credentialAliases, credentialKey, type Credential } from '../core/credential.js';
import type { RosterEntry } from '../core/roster.js';

export type Resolution =
  | { status: 'active'; entry: RosterEntry; viaAlias: boolean }
  | { status: 'revoked'; entry: RosterEntry; viaAlias: boolean }
  | { status: 'unknown' };

/**
 * The roster in memory, keyed by canonical credential. Weaker readers (24-bit Wiegand) find EM4100
 * entries through aliases, unless two cards share an alias: then neither is guessed.
 */
export class RosterIndex {
  private readonly direct = new Map<string, RosterEntry>();
  private readonly aliases = new Map<string, RosterEntry | null>();

  constructor(entries: readonly RosterEntry[]) {
    for (const entry of entries) this.direct.set(credentialKey(entry.credential), entry);
    for (const entry of entries) {
      for (const alias of credentialAliases(entry.credential)) {
        const key = credentialKey(alias);
        if (this.direct.has(key)) continue;
        this.aliases.set(key, this.aliases.has(key) ? null : entry);
      }
    }
  }

  get size(): number {
    return this.direct.size;
  }

  entries(): IterableIterator<RosterEntry> {
    return this.direct.values();
  }

  resolve(credential: Credential): Resolution {
    const key = credentialKey(credential);
    const direct = this.direct.get(key);
    const entry = direct ?? this.aliases.get(key) ?? undefined;
    if (!entry) return { status: 'unknown' };
    return { status: entry.status, entry, viaAlias: direct === undefined };
  }
}
