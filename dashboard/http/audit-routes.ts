import { CursorError } from '../db/keyset-cursor.js';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UtcInstant } from '../../core/time.js';
import { AuditEntry } from '../auth/audit.js';
import type { Auth } from '../auth/index.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

export interface AuditRoutesOptions {
  auth: Auth;
}

const Filter = z.string().trim().min(1, 'must not be empty').max(120, 'may be at most 120 characters');

/** GET /api/v1/audit (audit:read): newest first, paged, filterable by entity, action, actor and time. */
export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (app, options) => {
  app.setErrorHandler(fieldErrorHandler);
  app.withTypeProvider<ZodTypeProvider>().get(
    '/audit',
    {
      config: { permission: 'audit:read' },
      schema: {
        querystring: z
          .object({
            entity: Filter.optional(),
            entityId: Filter.optional(),
            action: Filter.optional(),
            actorId: Filter.optional(),
            actorKind: z.enum(['user', 'token', 'system']).optional(),
            from: UtcInstant.optional(),
            to: UtcInstant.optional(),
            limit: z.coerce.number().int().min(1).max(500).default(100),
            cursor: z.string().max(512).optional(),
          })
          .strict(),
        response: { 200: z.object({ entries: z.array(AuditEntry), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return await options.auth.audit.list(request.query);
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );
};
