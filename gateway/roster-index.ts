import { credentialAliases, credentialKey, type Credential } from '../core/credential.js';
import type { RosterEntry } from '../core/roster.js';

export type Resolution =
  | { status: 'active'; entry: RosterEntry; viaAlias: boolean }
  | { status: 'revoked'; entry: RosterEntry; viaAlias: boolean }
  | { status: 'unknown' };

/**
 * The roster in memory, keyed by canonical credential. Weaker readers (24-bit Wiegand) find EM4100
 * entries through aliases, unless two cards share an alias: then neither is guessed. Nor is a
 * wiegand26 entry whose 24 bits are another person's EM4100 card's (the dashboard refuses such
 * pairs; a roster file or an integration's roster may still hold one): the read could be either.
 */
export class RosterIndex {
  private readonly direct = new Map<string, RosterEntry>();
  private readonly aliases = new Map<string, RosterEntry | null>();
  /** Direct keys another person's card is also read as: resolved as unknown. */
  private readonly contested = new Set<string>();

  constructor(entries: readonly RosterEntry[]) {
    for (const entry of entries) this.direct.set(credentialKey(entry.credential), entry);
    for (const entry of entries) {
      for (const alias of credentialAliases(entry.credential)) {
        const key = credentialKey(alias);
        const holder = this.direct.get(key);
        if (holder) {
          if (holder.employeeId !== entry.employeeId) this.contested.add(key);
          continue;
        }
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
    if (this.contested.has(key)) return { status: 'unknown' };
    const direct = this.direct.get(key);
    const entry = direct ?? this.aliases.get(key) ?? undefined;
    if (!entry) return { status: 'unknown' };
    return { status: entry.status, entry, viaAlias: direct === undefined };
  }
}
