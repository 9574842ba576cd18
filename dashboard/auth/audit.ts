import { decodeCursor, encodeCursor, keysetPage } from '../db/keyset-cursor.js';
import { WhereClause } from '../db/where-clause.js';
import { z } from 'zod';
import type { Database, SqlValue } from '../../platform/sqlite.js';
import type { Principal } from './permissions.js';

/**
 * The audit log: one row per change (who, when, what, before and after), append-only (a trigger
 * refuses UPDATE), written in the SAME transaction as the change it records, so that a change is
 * never without its row and a row never without its change.
 *
 * Route authors:
 * ```ts
 * await db.transaction(async () => {
 *   const before = await repo.get(id);
 *   await repo.update(id, change);
 *   await audit.record({ actor: request.principal, action: 'employee.update', entity: 'employee', entityId: id, before, after: await repo.get(id) });
 * });
 * ```
 * Never put secrets in `before`/`after` (password hashes, token hashes, beacon keys): record the
 * API's view of the thing, not its row.
 */

/** Who made a change: a user, an API token, or the system itself (first start, the CLI). */
export type AuditActor = Pick<Principal, 'kind' | 'id' | 'name'> | { kind: 'system'; id: string; name: string };

export const SYSTEM_ACTOR: AuditActor = { kind: 'system', id: 'system', name: 'punchgate' };

export interface AuditInput {
  actor: AuditActor | undefined;
  /** `entity.verb`, e.g. `user.create`, `token.revoke`, `site.put`, `device.register`, `device.config`. */
  action: string;
  entity: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
}

export const AuditEntry = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.object({ kind: z.enum(['user', 'token', 'system']), id: z.string(), name: z.string() }),
  action: z.string(),
  entity: z.string(),
  entityId: z.string(),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export interface AuditQuery {
  entity?: string;
  entityId?: string;
  action?: string;
  actorId?: string;
  actorKind?: 'user' | 'token' | 'system';
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}


interface AuditRow {
  id: number;
  at: string;
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  action: string;
  entity: string;
  entity_id: string;
  before: string | null;
  after: string | null;
  [column: string]: SqlValue;
}

function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

export class AuditLog {
  constructor(
    private readonly db: Database,
    private readonly now: () => Date,
  ) {}

  /**
   * Writes one audit row. Call it INSIDE the `db.transaction(...)` that makes the change (the
   * central database has one connection, so the statement joins that transaction); a change made
   * without one should be wrapped in one together with this call.
   */
  async record(entry: AuditInput): Promise<void> {
    const actor = entry.actor ?? SYSTEM_ACTOR;
    await this.db.run(
      'INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, action, entity, entity_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [this.now().toISOString(), actor.kind, actor.id, actor.name, entry.action, entry.entity, entry.entityId, json(entry.before), json(entry.after)],
    );
  }

  /** Newest first, keyset-paged by id; every filter optional. */
  async list(query: AuditQuery): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
    const where = new WhereClause()
      .add('entity = ?', query.entity)
      .add('entity_id = ?', query.entityId)
      .add('action = ?', query.action)
      .add('actor_id = ?', query.actorId)
      .add('actor_kind = ?', query.actorKind)
      .add('at >= ?', query.from)
      .add('at < ?', query.to);
    if (query.cursor !== undefined) where.add('id < ?', decodeCursor(query.cursor, 'number')[0]);
    const rows = await this.db.all<AuditRow>(`SELECT * FROM audit_log ${where.sql} ORDER BY id DESC LIMIT ?`, [...where.params, query.limit + 1]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.id]);
    return {
      entries: page.map((row) => ({
        id: row.id,
        at: row.at,
        actor: { kind: row.actor_kind as 'user' | 'token' | 'system', id: row.actor_id, name: row.actor_name },
        action: row.action,
        entity: row.entity,
        entityId: row.entity_id,
        before: row.before === null ? null : (JSON.parse(row.before) as unknown),
        after: row.after === null ? null : (JSON.parse(row.after) as unknown),
      })),
      nextCursor,
    };
  }
}

