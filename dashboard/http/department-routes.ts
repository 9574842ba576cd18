import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../platform/sqlite.js';
import type { AuditLog } from '../auth/audit.js';
import { principalOf } from '../auth/auth-plugin.js';
import { DepartmentBody, DepartmentCode, DepartmentView, type DepartmentRepository } from '../employees/department-repository.js';
import { ErrorWithIssues, fieldErrorHandler } from './validation.js';

export interface DepartmentRoutesOptions {
  db: Database;
  audit: AuditLog;
  departments: DepartmentRepository;
  now: () => Date;
}

const Params = z.object({ code: DepartmentCode }).strict();

/**
 * /api/v1/departments: the department codes employee imports and HRIS syncs are checked against.
 * While none is defined any department name is taken; once one is, a file naming another is refused.
 */
export const departmentRoutes: FastifyPluginAsync<DepartmentRoutesOptions> = async (app, options) => {
  const { db, audit, departments } = options;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/departments',
    { config: { permission: 'employees:read' }, schema: { summary: 'Department codes, with how many employees each has', response: { 200: z.object({ departments: z.array(DepartmentView) }) } } },
    async () => ({ departments: await departments.list() }),
  );

  routes.put(
    '/departments/:code',
    {
      config: { permission: 'employees:write' },
      schema: {
        summary: 'Create or rename a department code',
        params: Params,
        body: DepartmentBody,
        response: { 200: z.object({ department: DepartmentView, created: z.boolean() }), 400: ErrorWithIssues },
      },
    },
    async (request) => {
      const { code } = request.params;
      return db.transaction(async () => {
        const before = await departments.get(code);
        await departments.put(code, request.body, options.now().toISOString());
        const after = (await departments.get(code)) as DepartmentView;
        await audit.record({ actor: principalOf(request), action: before ? 'department.update' : 'department.create', entity: 'department', entityId: code, before: before ?? null, after });
        return { department: after, created: !before };
      });
    },
  );

  routes.delete(
    '/departments/:code',
    {
      config: { permission: 'employees:write' },
      schema: {
        summary: 'Delete a department code no employee has',
        params: Params,
        response: { 204: z.null(), 400: ErrorWithIssues, 404: z.object({ error: z.string() }), 409: z.object({ error: z.string() }) },
      },
    },
    async (request, reply) => {
      const { code } = request.params;
      const outcome = await db.transaction(async () => {
        const before = await departments.get(code);
        if (!before) return 404 as const;
        if (before.employees > 0) return before.employees;
        await departments.delete(code);
        await audit.record({ actor: principalOf(request), action: 'department.delete', entity: 'department', entityId: code, before, after: null });
        return 204 as const;
      });
      if (outcome === 404) return reply.code(404).send({ error: `department ${code} does not exist` });
      if (outcome === 204) return reply.code(204).send(null);
      return reply.code(409).send({ error: `department ${code} has ${outcome} employee(s): move them to another department first` });
    },
  );
};
