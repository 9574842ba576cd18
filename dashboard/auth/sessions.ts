import type { Database, SqlValue } from '../../platform/sqlite.js';
import { randomSecret, sha256Hex } from './passwords.js';

/**
 * Sign-in sessions, kept server-side: the browser holds a random 256-bit id in an http-only
 * cookie; the database holds only its SHA-256, the user, a CSRF token, and two clocks: an absolute
 * expiry (`lifetimeMs` after sign-in) and the last time it was used (idle after `idleMs`).
 */

export interface SessionSettings {
  /** Absolute lifetime from sign-in. */
  lifetimeMs: number;
  /** Signed out after this long without a request. */
  idleMs: number;
}

export interface Session {
  idHash: string;
  userId: string;
  csrfToken: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

interface SessionRow {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  [column: string]: SqlValue;
}

/** How stale `last_seen_at` may get before a request writes it again: one write a minute, not one per request. */
const TOUCH_EVERY_MS = 60_000;

function toSession(row: SessionRow): Session {
  return { idHash: row.id_hash, userId: row.user_id, csrfToken: row.csrf_token, createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at };
}

export class SessionStore {
  constructor(
    private readonly db: Database,
    readonly settings: SessionSettings,
    private readonly now: () => Date,
  ) {}

  /** A new session for the user: returns the raw id (for the cookie; not stored) and the session. */
  async create(userId: string): Promise<{ id: string; session: Session }> {
    const id = randomSecret();
    const now = this.now();
    const session: Session = {
      idHash: sha256Hex(id),
      userId,
      csrfToken: randomSecret(),
      createdAt: now.toISOString(),
      lastSeenAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.settings.lifetimeMs).toISOString(),
    };
    await this.db.write('INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
      session.idHash,
      session.userId,
      session.csrfToken,
      session.createdAt,
      session.lastSeenAt,
      session.expiresAt,
    ]);
    return { id, session };
  }

  /** The live session with this raw id, marked as used now; undefined (and deleted) when expired or idle. */
  async resolve(id: string): Promise<Session | undefined> {
    if (id.length === 0 || id.length > 128) return undefined;
    const idHash = sha256Hex(id);
    const row = await this.db.get<SessionRow>('SELECT * FROM sessions WHERE id_hash = ?', [idHash]);
    if (!row) return undefined;
    const now = this.now().getTime();
    const lastSeen = Date.parse(row.last_seen_at);
    if (now >= Date.parse(row.expires_at) || now >= lastSeen + this.settings.idleMs) {
      await this.db.write('DELETE FROM sessions WHERE id_hash = ?', [idHash]);
      return undefined;
    }
    if (now - lastSeen >= TOUCH_EVERY_MS) {
      row.last_seen_at = new Date(now).toISOString();
      await this.db.write('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?', [row.last_seen_at, idHash]);
    }
    return toSession(row);
  }

  async delete(idHash: string): Promise<void> {
    await this.db.write('DELETE FROM sessions WHERE id_hash = ?', [idHash]);
  }

  /** Forgets expired and idle sessions; returns how many. */
  async pruneExpired(): Promise<number> {
    const now = this.now();
    const idleSince = new Date(now.getTime() - this.settings.idleMs).toISOString();
    return (await this.db.write('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?', [now.toISOString(), idleSince])).changes;
  }
}
