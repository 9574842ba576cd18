import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { daysBetween, DayResult, emptyTotals, addDay, LocalDate, ScheduleAssignment, ScheduleOverride, Shift, type AttendanceTotals } from '../../core/attendance/index.js';
import { EntityId } from '../../core/punch.js';
import { AttendanceSettings } from '../attendance/attendance-settings.js';
import type { AttendanceService } from '../attendance/attendance-service.js';
import { ShiftInUseError, UnknownShiftError, type ScheduleStore } from '../attendance/schedule-store.js';
import type { AuditLog } from '../auth/audit.js';
import type { ConfigPush } from '../config-push/config-push.js';
import { principalOf } from '../auth/auth-plugin.js';
import { siteFilter } from '../auth/permissions.js';
import { CursorError, decodeCursor, encodeCursor } from '../db/keyset-cursor.js';
import type { Database } from '../../platform/sqlite.js';
import { ErrorWithIssues, fieldErrorHandler, invalid, type FieldIssue } from './validation.js';

export interface AttendanceRoutesOptions {
  db: Database;
  scheduleStore: ScheduleStore;
  attendance: AttendanceService;
  audit: AuditLog;
  now: () => Date;
  /** Gateways carry the schedules (for "late by 4 min" at the door): told after every change. */
  configPush?: ConfigPush;
}

/** The longest range one attendance request may ask for: two months and a bit. */
export const MAX_ATTENDANCE_DAYS = 62;

const IdParams = z.object({ id: EntityId }).strict();
const OverrideParams = z.object({ employeeNumber: EntityId, date: LocalDate }).strict();

export const AttendanceTotalsView = z.object({
  employeeNumber: z.string(),
  days: z.number(),
  scheduledDays: z.number(),
  scheduledMinutes: z.number(),
  workedMinutes: z.number(),
  overtimeMinutes: z.number(),
  lateCount: z.number(),
  lateMinutes: z.number(),
  seriousLateCount: z.number(),
  earlyLeaveCount: z.number(),
  earlyLeaveMinutes: z.number(),
  absenceDays: z.number(),
  notSignedCount: z.number(),
  leaveDays: z.number(),
  leaveDaysByType: z.record(z.string(), z.number()),
  holidayDays: z.number(),
  restDays: z.number(),
  offDayWorkedMinutes: z.number(),
  flaggedDays: z.number(),
});

const EmployeeAttendance = z.object({
  employee: z.object({ employeeNumber: z.string(), name: z.string(), nameZh: z.string().nullable(), department: z.string().nullable(), rank: z.string().nullable(), sites: z.array(z.string()) }),
  days: z.array(DayResult),
  totals: AttendanceTotalsView,
});

export const AttendanceRangeQuery = z
  .object({
    from: LocalDate,
    to: LocalDate,
    employeeNumber: EntityId.optional(),
    siteId: EntityId.optional(),
    department: z.string().min(1).max(80).optional(),
  })
  .strict();

/** The range checks every attendance and report query shares: to after from, and not too long. */
export function rangeIssues(query: { from: string; to: string }, where: 'querystring' = 'querystring'): FieldIssue[] {
  if (query.to < query.from) return [{ in: where, field: 'to', message: 'must not be before from' }];
  if (daysBetween(query.from, query.to) + 1 > MAX_ATTENDANCE_DAYS) return [{ in: where, field: 'to', message: `a range may be at most ${MAX_ATTENDANCE_DAYS} days` }];
  return [];
}

/**
 * /api/v1: shifts, schedules, per-day overrides and the company's attendance settings
 * (schedules:write to change, attendance:read to see), and the attendance results themselves,
 * per person per work day with totals (`GET /attendance`), scoped to a store manager's sites.
 */
export const attendanceRoutes: FastifyPluginAsync<AttendanceRoutesOptions> = async (app, options) => {
  const { db, scheduleStore: store, attendance, audit } = options;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const read = { permission: 'attendance:read' } as const;
  const write = { permission: 'schedules:write' } as const;
  const now = (): string => options.now().toISOString();
  // Every change here (settings, shifts, schedules, overrides) reaches every gateway's config.
  app.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && reply.statusCode < 300) options.configPush?.everythingChanged();
  });

  const unknownShift = (reply: FastifyReply, error: unknown, part: 'body' = 'body') => {
    if (error instanceof UnknownShiftError) return reply.code(400).send(invalid([{ in: part, field: error.path.join('.'), message: error.message }]));
    throw error;
  };

  routes.get('/attendance/settings', { config: read, schema: { response: { 200: z.object({ settings: AttendanceSettings }) } } }, async () => ({ settings: await store.settings() }));

  routes.put('/attendance/settings', { config: write, schema: { body: AttendanceSettings, response: { 200: z.object({ settings: AttendanceSettings }), 400: ErrorWithIssues } } }, async (request) => {
    const before = await store.settings();
    await db.transaction(async () => {
      await store.putSettings(request.body, now());
      await audit.record({ actor: principalOf(request), action: 'attendance-settings.put', entity: 'attendance-settings', entityId: 'company', before, after: request.body });
    });
    return { settings: await store.settings() };
  });

  routes.get('/shifts', { config: read, schema: { response: { 200: z.object({ shifts: z.array(Shift) }) } } }, async () => ({ shifts: await store.shifts() }));

  routes.put(
    '/shifts/:id',
    { config: write, schema: { params: IdParams, body: z.unknown(), response: { 200: z.object({ shift: Shift }), 400: ErrorWithIssues } } },
    async (request, reply) => {
      // The id is the path's: the body may leave it out.
      const parsed = Shift.safeParse(typeof request.body === 'object' && request.body !== null ? { ...request.body, id: request.params.id } : request.body);
      if (!parsed.success) return reply.code(400).send(invalid(parsed.error.issues.map((issue) => ({ in: 'body', field: issue.path.join('.'), message: issue.message }))));
      const before = await store.shift(request.params.id);
      await db.transaction(async () => {
        await store.putShift(parsed.data, now());
        await audit.record({ actor: principalOf(request), action: 'shift.put', entity: 'shift', entityId: parsed.data.id, before: before ?? null, after: parsed.data });
      });
      return { shift: parsed.data };
    },
  );

  routes.delete('/shifts/:id', { config: write, schema: { params: IdParams, response: { 200: z.object({ deleted: z.literal(true) }), 404: ErrorWithIssues, 409: ErrorWithIssues } } }, async (request, reply) => {
    const before = await store.shift(request.params.id);
    if (!before) return reply.code(404).send({ error: `no shift has the id ${request.params.id}` });
    try {
      await db.transaction(async () => {
        await store.deleteShift(request.params.id);
        await audit.record({ actor: principalOf(request), action: 'shift.delete', entity: 'shift', entityId: request.params.id, before, after: null });
      });
    } catch (error) {
      if (error instanceof ShiftInUseError) return reply.code(409).send({ error: error.message });
      throw error;
    }
    return { deleted: true as const };
  });

  routes.get('/schedules', { config: read, schema: { response: { 200: z.object({ schedules: z.array(ScheduleAssignment) }) } } }, async () => ({ schedules: await store.schedules() }));

  routes.put(
    '/schedules/:id',
    { config: write, schema: { params: IdParams, body: z.unknown(), response: { 200: z.object({ schedule: ScheduleAssignment }), 400: ErrorWithIssues } } },
    async (request, reply) => {
      const parsed = ScheduleAssignment.safeParse(typeof request.body === 'object' && request.body !== null ? { ...request.body, id: request.params.id } : request.body);
      if (!parsed.success) return reply.code(400).send(invalid(parsed.error.issues.map((issue) => ({ in: 'body', field: issue.path.join('.'), message: issue.message }))));
      const before = await store.schedule(request.params.id);
      try {
        await db.transaction(async () => {
          await store.putSchedule(parsed.data, now());
          await audit.record({ actor: principalOf(request), action: 'schedule.put', entity: 'schedule', entityId: parsed.data.id, before: before ?? null, after: parsed.data });
        });
      } catch (error) {
        return unknownShift(reply, error);
      }
      return { schedule: parsed.data };
    },
  );

  routes.delete('/schedules/:id', { config: write, schema: { params: IdParams, response: { 200: z.object({ deleted: z.literal(true) }), 404: ErrorWithIssues } } }, async (request, reply) => {
    const before = await store.schedule(request.params.id);
    if (!before) return reply.code(404).send({ error: `no schedule has the id ${request.params.id}` });
    await db.transaction(async () => {
      await store.deleteSchedule(request.params.id);
      await audit.record({ actor: principalOf(request), action: 'schedule.delete', entity: 'schedule', entityId: request.params.id, before, after: null });
    });
    return { deleted: true as const };
  });

  routes.get(
    '/schedule-overrides',
    {
      config: read,
      schema: {
        querystring: z.object({ employeeNumber: EntityId.optional(), from: LocalDate.optional(), to: LocalDate.optional(), limit: z.coerce.number().int().min(1).max(1000).default(200), cursor: z.string().max(512).optional() }).strict(),
        response: { 200: z.object({ overrides: z.array(ScheduleOverride), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return await store.overrides(request.query);
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );

  routes.put(
    '/schedule-overrides/:employeeNumber/:date',
    {
      config: write,
      schema: {
        params: OverrideParams,
        body: z.object({ shiftId: EntityId.nullable(), siteId: EntityId.nullable().default(null) }).strict(),
        response: { 200: z.object({ override: ScheduleOverride }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const override: ScheduleOverride = { ...request.params, ...request.body };
      const before = await store.override(request.params.employeeNumber, request.params.date);
      try {
        await db.transaction(async () => {
          await store.putOverride(override, now());
          await audit.record({ actor: principalOf(request), action: 'schedule-override.put', entity: 'schedule-override', entityId: `${override.employeeNumber}/${override.date}`, before: before ?? null, after: override });
        });
      } catch (error) {
        return unknownShift(reply, error);
      }
      return { override };
    },
  );

  routes.delete('/schedule-overrides/:employeeNumber/:date', { config: write, schema: { params: OverrideParams, response: { 200: z.object({ deleted: z.literal(true) }), 400: ErrorWithIssues, 404: ErrorWithIssues } } }, async (request, reply) => {
    const before = await store.override(request.params.employeeNumber, request.params.date);
    if (!before) return reply.code(404).send({ error: `${request.params.employeeNumber} has no override on ${request.params.date}` });
    await db.transaction(async () => {
      await store.deleteOverride(request.params.employeeNumber, request.params.date);
      await audit.record({ actor: principalOf(request), action: 'schedule-override.delete', entity: 'schedule-override', entityId: `${before.employeeNumber}/${before.date}`, before, after: null });
    });
    return { deleted: true as const };
  });

  routes.get(
    '/attendance',
    {
      config: read,
      schema: {
        querystring: AttendanceRangeQuery.extend({ limit: z.coerce.number().int().min(1).max(500).default(50), cursor: z.string().max(512).optional() }).strict(),
        response: { 200: z.object({ employees: z.array(EmployeeAttendance), nextCursor: z.string().nullable() }), 400: ErrorWithIssues, 403: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const { from, to, employeeNumber, siteId, department, limit, cursor } = request.query;
      const issues = rangeIssues({ from, to });
      if (issues.length > 0) return reply.code(400).send(invalid(issues));
      let after: string | undefined;
      try {
        after = cursor ? decodeCursor(cursor, 'string')[0] : undefined;
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
      const scope = siteFilter(principalOf(request));
      if (scope && siteId && !scope.includes(siteId)) return reply.code(403).send({ error: `site ${siteId} is not one of yours` });
      const siteIds = siteId ? [siteId] : scope;
      const employees: Array<z.infer<typeof EmployeeAttendance>> = [];
      let nextCursor: string | null = null;
      for await (const { employee, days } of attendance.days({ from, to, ...(employeeNumber ? { employeeNumbers: [employeeNumber] } : {}), ...(siteIds ? { siteIds } : {}), ...(department ? { department } : {}), ...(after ? { after } : {}), limit: limit + 1 })) {
        if (employees.length === limit) {
          nextCursor = encodeCursor(employees[employees.length - 1]?.employee.employeeNumber ?? '');
          break;
        }
        employees.push({ employee, days, totals: days.reduce<AttendanceTotals>(addDay, emptyTotals(employee.employeeNumber)) });
      }
      return { employees, nextCursor };
    },
  );
};
