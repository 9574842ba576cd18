import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { zonedInstant, localDateOf } from '../../core/attendance/index.js';
import { DEFAULT_TIME_ZONE } from '../../core/time.js';
import type { Database } from '../../platform/sqlite.js';
import type { ScheduleStore } from '../attendance/schedule-store.js';
import { MakeupError, MakeupRequestBody, MakeupStatus, type MakeupRequests } from '../attendance/makeup-requests.js';
import type { AuditLog } from '../auth/audit.js';
import { principalOf } from '../auth/auth-plugin.js';
import { reachesSite, siteFilter } from '../auth/permissions.js';
import { CursorError } from '../db/keyset-cursor.js';
import type { PunchFeed } from '../live/punch-feed.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

export interface MakeupRoutesOptions {
  db: Database;
  makeup: MakeupRequests;
  scheduleStore: ScheduleStore;
  audit: AuditLog;
  now: () => Date;
  /** The live feed: an approved make-up punch appears there like any other. */
  liveFeed: PunchFeed;
}

const Decision = z.object({ tier: z.enum(['manager', 'hr']), decision: z.enum(['approved', 'rejected']), by: z.string(), byName: z.string(), role: z.string(), at: z.string(), note: z.string().nullable() });
const RequestView = z.object({
  id: z.string(),
  employeeNumber: z.string(),
  siteId: z.string(),
  at: z.string(),
  direction: z.enum(['in', 'out']),
  reason: z.string(),
  status: MakeupStatus,
  needsHr: z.boolean(),
  hrReason: z.string().nullable(),
  requestedBy: z.string(),
  requestedByName: z.string(),
  requestedAt: z.string(),
  decisions: z.array(Decision),
  punchId: z.string().nullable(),
});
const IdParams = z.object({ id: z.string().regex(/^mu-[0-9a-f-]{36}$/, 'is not a make-up request id') }).strict();
const DecisionBody = z.object({ note: z.string().trim().max(500, 'note may be at most 500 characters').nullable().default(null) }).strict();

const STATUS_OF_ERROR: Record<MakeupError['code'], 400 | 403 | 404 | 409> = {
  'not-found': 404,
  'not-pending': 409,
  'own-request': 403,
  'wrong-tier': 403,
  'site-out-of-reach': 403,
  'same-approver': 403,
  'unknown-employee': 400,
  'in-the-future': 400,
};

/**
 * /api/v1/makeup-requests: make-up punch (補卡) requests. Filed with makeup:request, decided with
 * makeup:approve (a store manager for their sites first; HR, or an admin, when the policy sends
 * it on); every step is audited, and the approval that completes a request stores its punch.
 */
export const makeupRoutes: FastifyPluginAsync<MakeupRoutesOptions> = async (app, options) => {
  const { db, makeup, audit } = options;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const monthOf = (at: string, timeZone: string): { from: string; to: string } => {
    const day = localDateOf(Date.parse(at), timeZone);
    const first = `${day.slice(0, 7)}-01`;
    const next = new Date(Date.parse(`${first}T00:00:00Z`));
    next.setUTCMonth(next.getUTCMonth() + 1);
    return { from: new Date(zonedInstant(first, 0, timeZone)).toISOString(), to: new Date(zonedInstant(next.toISOString().slice(0, 10), 0, timeZone)).toISOString() };
  };
  const zoneOf = async (siteId: string): Promise<string> => (await db.get<{ time_zone: string }>('SELECT time_zone FROM sites WHERE id = ?', [siteId]))?.time_zone ?? DEFAULT_TIME_ZONE;

  routes.get(
    '/makeup-requests',
    {
      config: { permission: 'makeup:request' },
      schema: {
        querystring: z.object({ status: MakeupStatus.optional(), employeeNumber: z.string().min(1).max(64).optional(), limit: z.coerce.number().int().min(1).max(500).default(100), cursor: z.string().max(512).optional() }).strict(),
        response: { 200: z.object({ requests: z.array(RequestView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const siteIds = siteFilter(principalOf(request));
        return await makeup.list({ ...request.query, ...(siteIds ? { siteIds } : {}) });
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );

  routes.get('/makeup-requests/:id', { config: { permission: 'makeup:request' }, schema: { params: IdParams, response: { 200: z.object({ request: RequestView }), 400: ErrorWithIssues, 404: ErrorWithIssues } } }, async (request, reply) => {
    const found = await makeup.get(request.params.id);
    if (!found || !reachesSite(principalOf(request), found.siteId)) return reply.code(404).send({ error: `no make-up request has the id ${request.params.id}` });
    return { request: found };
  });

  routes.post('/makeup-requests', { config: { permission: 'makeup:request' }, schema: { body: MakeupRequestBody, response: { 201: z.object({ request: RequestView }), 400: ErrorWithIssues, 403: ErrorWithIssues } } }, async (request, reply) => {
    const principal = principalOf(request);
    if (!reachesSite(principal, request.body.siteId)) return reply.code(403).send({ error: `site ${request.body.siteId} is not one of yours` });
    const site = await db.get('SELECT 1 AS n FROM sites WHERE id = ?', [request.body.siteId]);
    if (!site) return reply.code(400).send(invalid([{ in: 'body', field: 'siteId', message: `no site has the id ${request.body.siteId}` }]));
    const timeZone = await zoneOf(request.body.siteId);
    const policy = (await options.scheduleStore.settings()).makeup;
    try {
      const filed = await db.transaction(async () => {
        const view = await makeup.file(request.body, principal, policy, options.now(), (at) => monthOf(at, timeZone));
        await audit.record({ actor: principal, action: 'makeup.file', entity: 'makeup-request', entityId: view.id, after: view });
        return view;
      });
      return reply.code(201).send({ request: filed });
    } catch (error) {
      if (error instanceof MakeupError) {
        const field = error.code === 'unknown-employee' ? 'employeeNumber' : 'at';
        return reply.code(error.code === 'unknown-employee' || error.code === 'in-the-future' ? 400 : 403).send(invalid([{ in: 'body', field, message: error.message }]));
      }
      throw error;
    }
  });

  for (const decision of ['approved', 'rejected'] as const) {
    routes.post(
      `/makeup-requests/:id/${decision === 'approved' ? 'approve' : 'reject'}`,
      { config: { permission: 'makeup:approve' }, schema: { params: IdParams, body: DecisionBody, response: { 200: z.object({ request: RequestView, punchId: z.string().nullable() }), 400: ErrorWithIssues, 403: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues } } },
      async (request, reply) => {
        const principal = principalOf(request);
        try {
          const before = await makeup.get(request.params.id);
          const outcome = await db.transaction(async () => {
            const result = await makeup.decide(request.params.id, decision, principal, request.body.note, options.now());
            await audit.record({ actor: principal, action: `makeup.${decision === 'approved' ? 'approve' : 'reject'}`, entity: 'makeup-request', entityId: request.params.id, before: before ?? null, after: result.request });
            return result;
          });
          if (outcome.punch) options.liveFeed.committed([outcome.punch]);
          return { request: outcome.request, punchId: outcome.punch?.id ?? null };
        } catch (error) {
          if (error instanceof MakeupError) return reply.code(STATUS_OF_ERROR[error.code]).send({ error: error.message });
          throw error;
        }
      },
    );
  }
};
