import { CursorError } from '../db/keyset-cursor.js';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CredentialError, CredentialKind } from '../../core/credential.js';
import { EntityId } from '../../core/punch.js';
import { isValidDeviceId } from '../../core/topics.js';
import { UtcInstant } from '../../core/time.js';
import { reachesSite } from '../auth/permissions.js';
import type { ConfigPush } from '../config-push/config-push.js';
import {
  BadgeHeldError,
  BadgeNotAssignedError,
  BadgeView,
  ConsentView,
  EmployeeBody,
  EmployeeNotFoundError,
  EmployeeNumber,
  EmployeeStatus,
  EmployeeView,
  OutOfReachError,
  UnknownSitesError,
  type Access,
} from '../employees/employee-model.js';
import type { EmployeeService } from '../employees/employee-service.js';
import { ErrorWithIssues, fieldErrorHandler, invalid, type RequestPart } from './validation.js';

export interface EmployeeRoutesOptions {
  employees: EmployeeService;
  /** For `GET /devices/:id/config-status` (not registered without it). */
  configPush?: ConfigPush;
}

const EmployeeParams = z.object({ employeeNumber: EmployeeNumber }).strict();
const Paging = {
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(512).optional(),
};
const PageQuery = z.object(Paging).strict();
const BadgeBody = z
  .object({
    kind: CredentialKind,
    uid: z.string({ error: 'uid must be a string' }).trim().min(2, 'uid must be at least one byte of hex').max(64, 'uid may be at most 64 characters'),
  })
  .strict();

const BadgeHeldBody = ErrorWithIssues.extend({ holder: z.string() });
const EmployeeWritten = z.object({ employee: EmployeeView, created: z.boolean() });
const BadgeWritten = z.object({ badge: BadgeView, created: z.boolean() });
const ConfigStatusView = z.object({
  deviceId: z.string(),
  siteId: z.string(),
  published: z.number().int().nullable(),
  publishedAt: z.string().nullable(),
  applied: z.number().int().nullable(),
  pending: z.boolean(),
  queued: z.boolean(),
  configError: z.string().nullable(),
});

class NoPrincipalError extends Error {
  override name = 'NoPrincipalError';
}

/** Who asks, as the employee service sees it. The auth plugin sets `request.principal`. */
function accessOf(request: FastifyRequest): Access {
  const principal = request.principal;
  if (!principal) throw new NoPrincipalError('no principal on the request: is the auth plugin registered?');
  return { actor: { kind: principal.kind, id: principal.id, name: principal.name }, sites: principal.sites };
}

/**
 * Answers the service's refusals; rethrows anything else. `uidField` names where a bad uid or a
 * held badge was given (`uid` in the body, or the path's `uid`).
 */
async function refuse(reply: FastifyReply, error: unknown, uidField: { in: RequestPart; field: string } = { in: 'body', field: 'uid' }): Promise<FastifyReply> {
  if (error instanceof NoPrincipalError) return reply.code(401).send({ error: 'sign in or use an API token' });
  if (error instanceof EmployeeNotFoundError || error instanceof BadgeNotAssignedError) return reply.code(404).send({ error: error.message });
  if (error instanceof OutOfReachError) return reply.code(403).send({ error: error.message });
  if (error instanceof UnknownSitesError) {
    return reply.code(400).send(invalid(error.unknown.map((u) => ({ in: 'body', field: `sites[${u.index}]`, message: `site ${u.siteId} does not exist` }))));
  }
  if (error instanceof BadgeHeldError) {
    return reply.code(409).send({ ...invalid([{ ...uidField, message: error.message }]), error: error.message, holder: error.holder });
  }
  if (error instanceof CredentialError) return reply.code(400).send(invalid([{ ...uidField, message: error.message }]));
  if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
  throw error;
}

/**
 * /api/v1 employees, badges (with history), BLE consent, assigning an unknown badge's punches,
 * and each device's config status. Every route declares its permission; the auth plugin checks
 * it and sets `request.principal`, whose site scope limits what store managers see.
 */
export const employeeRoutes: FastifyPluginAsync<EmployeeRoutesOptions> = async (app, options) => {
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { employees } = options;

  routes.get(
    '/employees',
    {
      config: { permission: 'employees:read' },
      schema: {
        querystring: z
          .object({
            site: EntityId.optional(),
            department: z.string().min(1).max(80).optional(),
            status: EmployeeStatus.optional(),
            q: z.string().trim().max(120).optional(),
            ...Paging,
          })
          .strict(),
        response: { 200: z.object({ employees: z.array(EmployeeView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues, 401: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const { site, ...query } = request.query;
        const page = await employees.list({ ...query, ...(site === undefined ? {} : { siteId: site }) }, accessOf(request));
        return { employees: page.items, nextCursor: page.nextCursor };
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  routes.get(
    '/employees/:employeeNumber',
    {
      config: { permission: 'employees:read' },
      schema: { params: EmployeeParams, response: { 200: z.object({ employee: EmployeeView }), 400: ErrorWithIssues, 401: ErrorWithIssues, 404: ErrorWithIssues } },
    },
    async (request, reply) => {
      try {
        const employee = await employees.get(request.params.employeeNumber, accessOf(request));
        if (!employee) return reply.code(404).send({ error: `employee ${request.params.employeeNumber} does not exist` });
        return { employee };
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  routes.put(
    '/employees/:employeeNumber',
    {
      config: { permission: 'employees:write' },
      schema: {
        params: EmployeeParams,
        body: EmployeeBody,
        response: { 200: EmployeeWritten, 201: EmployeeWritten, 400: ErrorWithIssues, 401: ErrorWithIssues, 403: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const written = await employees.put(request.params.employeeNumber, request.body, accessOf(request));
        return reply.code(written.created ? 201 : 200).send(written);
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  routes.get(
    '/employees/:employeeNumber/badges',
    {
      config: { permission: 'employees:read' },
      schema: {
        params: EmployeeParams,
        querystring: PageQuery,
        response: { 200: z.object({ badges: z.array(BadgeView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues, 401: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const page = await employees.badgeHistory(request.params.employeeNumber, request.query, accessOf(request));
        return { badges: page.items, nextCursor: page.nextCursor };
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  routes.post(
    '/employees/:employeeNumber/badges',
    {
      config: { permission: 'employees:write' },
      schema: {
        params: EmployeeParams,
        body: BadgeBody,
        response: { 200: BadgeWritten, 201: BadgeWritten, 400: ErrorWithIssues, 401: ErrorWithIssues, 404: ErrorWithIssues, 409: BadgeHeldBody },
      },
    },
    async (request, reply) => {
      try {
        const assigned = await employees.assignBadge(request.params.employeeNumber, request.body, accessOf(request));
        return reply.code(assigned.created ? 201 : 200).send(assigned);
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  routes.post(
    '/employees/:employeeNumber/badges/:kind/:uid/revoke',
    {
      config: { permission: 'employees:write' },
      schema: {
        params: z.object({ employeeNumber: EmployeeNumber, kind: CredentialKind, uid: z.string().min(2).max(64) }).strict(),
        body: z.object({ reason: z.string().trim().min(1).max(200).optional() }).strict().nullish(),
        response: { 200: z.object({ badge: BadgeView }), 400: ErrorWithIssues, 401: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const { employeeNumber, kind, uid } = request.params;
        const badge = await employees.revokeBadge(employeeNumber, { kind, uid }, accessOf(request), request.body?.reason);
        return { badge };
      } catch (error) {
        return refuse(reply, error, { in: 'params', field: 'uid' });
      }
    },
  );

  routes.get(
    '/employees/:employeeNumber/ble-consent',
    {
      config: { permission: 'employees:read' },
      schema: {
        params: EmployeeParams,
        querystring: PageQuery,
        response: {
          200: z.object({ consent: ConsentView.nullable(), history: z.array(ConsentView), nextCursor: z.string().nullable() }),
          400: ErrorWithIssues,
          401: ErrorWithIssues,
          404: ErrorWithIssues,
        },
      },
    },
    async (request, reply) => {
      try {
        const access = accessOf(request);
        const page = await employees.consentHistory(request.params.employeeNumber, request.query, access);
        const current = (await employees.repository.currentConsent(request.params.employeeNumber)) ?? null;
        return { consent: current, history: page.items, nextCursor: page.nextCursor };
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  routes.put(
    '/employees/:employeeNumber/ble-consent',
    {
      config: { permission: 'employees:write' },
      schema: {
        params: EmployeeParams,
        body: z.object({ consent: z.boolean({ error: 'consent must be true (record) or false (withdraw)' }) }).strict(),
        response: { 200: z.object({ consent: ConsentView.nullable(), changed: z.boolean() }), 400: ErrorWithIssues, 401: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return await employees.setBleConsent(request.params.employeeNumber, request.body.consent, accessOf(request));
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  routes.post(
    '/punches/assign-unknown',
    {
      config: { permission: 'punches:write' },
      schema: {
        body: z
          .object({
            credential: BadgeBody,
            employeeNumber: EmployeeNumber,
            from: UtcInstant.optional(),
            to: UtcInstant.optional(),
          })
          .strict()
          .superRefine((body, ctx) => {
            if (body.from && body.to && body.to <= body.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
          }),
        response: { 200: z.object({ updated: z.number().int() }), 400: ErrorWithIssues, 401: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const { credential, employeeNumber, from, to } = request.body;
        const updated = await employees.assignUnknown(
          { credential, employeeNumber, ...(from ? { from } : {}), ...(to ? { to } : {}) },
          accessOf(request),
        );
        return { updated };
      } catch (error) {
        return refuse(reply, error, { in: 'body', field: 'credential.uid' });
      }
    },
  );

  const configPush = options.configPush;
  if (!configPush) return;
  routes.get(
    '/devices/:id/config-status',
    {
      config: { permission: 'devices:read' },
      schema: {
        params: z.object({ id: EntityId.refine(isValidDeviceId, 'is not a valid device id') }).strict(),
        response: { 200: ConfigStatusView, 400: ErrorWithIssues, 401: ErrorWithIssues, 404: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) return reply.code(401).send({ error: 'sign in or use an API token' });
      const status = await configPush.status(request.params.id);
      // A device at a site the caller does not reach does not exist for it.
      if (!status || !reachesSite(principal, status.siteId)) return reply.code(404).send({ error: `device ${request.params.id} is not registered` });
      return status;
    },
  );
};
