import { CursorError } from '../db/keyset-cursor.js';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EntityId, Punch, PunchMethod } from '../../core/punch.js';
import { UtcInstant } from '../../core/time.js';
import { principalOf } from '../auth/auth-plugin.js';
import { siteFilter } from '../auth/permissions.js';
import { type PunchRepository } from '../db/punch-repository.js';
import type { DeviceRoutesOptions } from './device-routes.js';
import type { LiveRoutesOptions } from './live-routes.js';
import type { OverviewRoutesOptions } from './overview-routes.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

/** What the punch, device, live-feed and overview routes need (the app passes one options object to all). */
export interface ApiRoutesOptions extends DeviceRoutesOptions, LiveRoutesOptions, OverviewRoutesOptions {
  punches: PunchRepository;
}

/** `true`/`false` in a query string (z.coerce.boolean would take "false" for true). */
const QueryBoolean = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true');

export const PunchSearch = z
  .object({
    deviceId: EntityId.optional(),
    siteId: EntityId.optional(),
    employeeId: EntityId.optional(),
    method: PunchMethod.optional(),
    /** true: only punches of unknown badges (no employee); false: only punches of known employees. */
    unknown: QueryBoolean.optional(),
    from: UtcInstant.optional(),
    to: UtcInstant.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(512).optional(),
  })
  .strict();

/**
 * /api/v1/punches: search, newest first, keyset-paged (`nextCursor`). A site-scoped principal
 * sees only its sites' punches. The live feed is in live-routes.ts, devices in device-routes.ts.
 */
export const apiRoutes: FastifyPluginAsync<ApiRoutesOptions> = async (app, options) => {
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/punches',
    {
      config: { permission: 'punches:read' },
      schema: {
        summary: 'Search punches (newest first, keyset-paged)',
        description: 'Filters combine (AND). `unknown=true` finds the punches of badges no employee held (employeeId null); `from` is inclusive, `to` exclusive.',
        querystring: PunchSearch,
        response: { 200: z.object({ punches: z.array(Punch), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const query = request.query;
      if (query.unknown === true && query.employeeId !== undefined) {
        return reply.code(400).send(invalid([{ in: 'querystring', field: 'unknown', message: 'unknown=true finds punches without an employee: leave out employeeId' }]));
      }
      if (query.from !== undefined && query.to !== undefined && query.to <= query.from) {
        return reply.code(400).send(invalid([{ in: 'querystring', field: 'to', message: `must be after from (${query.from})` }]));
      }
      try {
        const siteIds = siteFilter(principalOf(request));
        return await options.punches.query(siteIds ? { ...query, siteIds } : query);
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );
};
