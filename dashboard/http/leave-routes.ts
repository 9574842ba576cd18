import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LeaveRecord, LeaveType, LocalDate } from '../../core/attendance/index.js';
import { newPunchId } from '../../core/ids.js';
import { EntityId } from '../../core/punch.js';
import type { Database } from '../../platform/sqlite.js';
import { LeaveFileError, parseLeaveCsv } from '../attendance/leave-import.js';
import type { LeaveRepository } from '../attendance/leave-repository.js';
import type { AuditLog } from '../auth/audit.js';
import { principalOf } from '../auth/auth-plugin.js';
import { siteFilter } from '../auth/permissions.js';
import { CursorError } from '../db/keyset-cursor.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

export interface LeaveRoutesOptions {
  db: Database;
  leave: LeaveRepository;
  audit: AuditLog;
  now: () => Date;
}

const LeaveView = z.object({
  id: z.string(),
  employeeNumber: z.string(),
  type: LeaveType,
  from: z.string(),
  to: z.string(),
  portion: z.enum(['full', 'am', 'pm']),
  status: z.enum(['approved', 'cancelled']),
  note: z.string().nullable(),
  source: z.enum(['api', 'csv', 'console']),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  cancelledAt: z.string().nullable(),
  cancelledBy: z.string().nullable(),
});

const ImportError = z.object({ row: z.number(), column: z.string(), message: z.string(), messageZh: z.string() });

/** The largest leave file accepted: about 50,000 rows. */
const MAX_LEAVE_FILE_BYTES = 4 * 1024 * 1024;

/**
 * /api/v1/leave: approved leave, read with attendance:read (a store manager sees the people of
 * their sites), entered one at a time or imported from CSV with leave:write. An import checks
 * every row first and writes all of them in one transaction or none; `?dryRun=true` only checks.
 */
export const leaveRoutes: FastifyPluginAsync<LeaveRoutesOptions> = async (app, options) => {
  const { db, leave, audit } = options;
  app.setErrorHandler(fieldErrorHandler);
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'buffer', bodyLimit: MAX_LEAVE_FILE_BYTES }, (_request, body, done) => done(null, body));
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const scopedEmployees = async (sites: readonly string[] | undefined): Promise<string[] | undefined> =>
    sites === undefined ? undefined : sites.length === 0 ? [] : (await db.all<{ employee_number: string }>(`SELECT DISTINCT employee_number FROM employee_sites WHERE site_id IN (${sites.map(() => '?').join(', ')})`, [...sites])).map((row) => row.employee_number);

  routes.get(
    '/leave',
    {
      config: { permission: 'attendance:read' },
      schema: {
        querystring: z
          .object({ employeeNumber: EntityId.optional(), from: LocalDate.optional(), to: LocalDate.optional(), status: z.enum(['approved', 'cancelled']).optional(), limit: z.coerce.number().int().min(1).max(500).default(100), cursor: z.string().max(512).optional() })
          .strict(),
        response: { 200: z.object({ leave: z.array(LeaveView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const employeeNumbers = await scopedEmployees(siteFilter(principalOf(request)));
        return await leave.list({ ...request.query, ...(employeeNumbers ? { employeeNumbers } : {}) });
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );

  routes.post(
    '/leave',
    {
      config: { permission: 'leave:write' },
      schema: {
        body: z.object({ id: z.string().min(1).max(64).optional(), employeeNumber: EntityId, type: LeaveType, from: LocalDate, to: LocalDate, portion: z.enum(['full', 'am', 'pm']).default('full'), note: z.string().trim().max(500).nullable().default(null) }).strict(),
        response: { 201: z.object({ leave: LeaveView }), 200: z.object({ leave: LeaveView }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const { note, ...fields } = request.body;
      const parsed = LeaveRecord.safeParse({ ...fields, id: fields.id ?? `lv-${newPunchId()}` });
      if (!parsed.success) return reply.code(400).send(invalid(parsed.error.issues.map((issue) => ({ in: 'body', field: issue.path.join('.'), message: issue.message }))));
      const known = await db.get('SELECT 1 AS n FROM employees WHERE employee_number = ?', [parsed.data.employeeNumber]);
      if (!known) return reply.code(400).send(invalid([{ in: 'body', field: 'employeeNumber', message: `no employee has the number ${parsed.data.employeeNumber}` }]));
      const principal = principalOf(request);
      const created = await db.transaction(async () => {
        const isNew = await leave.insert(parsed.data, { note, source: 'api', at: options.now().toISOString(), by: principal.name });
        if (isNew) await audit.record({ actor: principal, action: 'leave.create', entity: 'leave', entityId: parsed.data.id, after: { ...parsed.data, note } });
        return isNew;
      });
      const stored = await leave.get(parsed.data.id);
      if (!stored) throw new Error(`leave ${parsed.data.id} vanished`);
      // The same id again is answered with what is stored (an idempotent retry), 200 not 201.
      return reply.code(created ? 201 : 200).send({ leave: stored });
    },
  );

  routes.post(
    '/leave/import',
    {
      config: { permission: 'leave:write' },
      schema: {
        querystring: z.object({ dryRun: z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true').default(false) }).strict(),
        response: {
          200: z.object({ dryRun: z.boolean(), rows: z.number(), created: z.number(), unchanged: z.number() }),
          400: z.object({ error: z.string(), errorZh: z.string().optional(), errors: z.array(ImportError).optional(), issues: ErrorWithIssues.shape.issues }),
          415: ErrorWithIssues,
        },
      },
    },
    async (request, reply) => {
      if (!Buffer.isBuffer(request.body)) return reply.code(415).send({ error: 'send the file as text/csv' });
      const file = request.body;
      const employees = new Set((await db.all<{ employee_number: string }>('SELECT employee_number FROM employees')).map((row) => row.employee_number));
      let parsed: ReturnType<typeof parseLeaveCsv>;
      try {
        parsed = parseLeaveCsv(file, (number) => employees.has(number));
      } catch (error) {
        if (error instanceof LeaveFileError) return reply.code(400).send({ error: error.message, errorZh: error.messageZh });
        throw error;
      }
      if (parsed.errors.length > 0) {
        return reply.code(400).send({ error: `the file has ${parsed.errors.length} error(s); nothing was imported`, errorZh: `檔案有 ${parsed.errors.length} 項錯誤，沒有匯入任何資料`, errors: parsed.errors });
      }
      const existing = new Set<string>();
      for (const item of parsed.leave) if (await leave.get(item.record.id)) existing.add(item.record.id);
      if (request.query.dryRun) return { dryRun: true, rows: parsed.leave.length, created: parsed.leave.length - existing.size, unchanged: existing.size };
      const principal = principalOf(request);
      const at = options.now().toISOString();
      const created = await db.transaction(async () => {
        let count = 0;
        for (const item of parsed.leave) if (await leave.insert(item.record, { note: item.note, source: 'csv', at, by: principal.name })) count += 1;
        await audit.record({ actor: principal, action: 'leave.import', entity: 'leave', entityId: `import-${at}`, after: { rows: parsed.leave.length, created: count } });
        return count;
      });
      return { dryRun: false, rows: parsed.leave.length, created, unchanged: parsed.leave.length - created };
    },
  );

  routes.post(
    '/leave/:id/cancel',
    { config: { permission: 'leave:write' }, schema: { params: z.object({ id: z.string().min(1).max(64) }).strict(), response: { 200: z.object({ leave: LeaveView }), 404: ErrorWithIssues, 409: ErrorWithIssues } } },
    async (request, reply) => {
      const before = await leave.get(request.params.id);
      if (!before) return reply.code(404).send({ error: `no leave has the id ${request.params.id}` });
      if (before.status === 'cancelled') return reply.code(409).send({ error: `leave ${request.params.id} is already cancelled` });
      const principal = principalOf(request);
      await db.transaction(async () => {
        await leave.cancel(request.params.id, options.now().toISOString(), principal.name);
        await audit.record({ actor: principal, action: 'leave.cancel', entity: 'leave', entityId: request.params.id, before, after: await leave.get(request.params.id) });
      });
      const after = await leave.get(request.params.id);
      if (!after) throw new Error(`leave ${request.params.id} vanished`);
      return { leave: after };
    },
  );
};
