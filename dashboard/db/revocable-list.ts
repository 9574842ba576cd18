import { z } from 'zod';
import type { Database, Row } from '../../platform/sqlite.js';
import { decodeCursor, keysetPage } from './keyset-cursor.js';
import { WhereClause } from './where-clause.js';

/** The query string of a list of revocable secrets: page size, cursor, and whether to show the revoked. */
export const RevocableListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().max(512).optional(),
    includeRevoked: z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true').optional(),
  })
  .strict();

/**
 * One page of a table of revocable secrets (API tokens, integration clients), in creation order
 * (ids are UUIDv7), keyset-paged by id; the revoked ones only when asked.
 */
export async function revocableListPage<R extends Row & { id: string }>(
  db: Database,
  table: 'api_tokens' | 'integration_clients',
  query: { limit: number; cursor?: string; includeRevoked?: boolean },
): Promise<{ page: R[]; nextCursor: string | null }> {
  const where = new WhereClause()
    .add(query.includeRevoked ? '1' : 'revoked_at IS NULL')
    .add('id > ?', query.cursor === undefined ? undefined : decodeCursor(query.cursor, 'string')[0]);
  const rows = await db.all<R>(`SELECT * FROM ${table} ${where.sql} ORDER BY id LIMIT ?`, [...where.params, query.limit + 1]);
  return keysetPage(rows, query.limit, (row) => [row.id]);
}
