import { PassThrough } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import { addDays, LocalDate } from '../../core/attendance/index.js';
import { EntityId } from '../../core/punch.js';
import type { Database } from '../../platform/sqlite.js';
import type { AttendanceQuery, AttendanceService } from '../attendance/attendance-service.js';
import { principalOf } from '../auth/auth-plugin.js';
import { siteFilter } from '../auth/permissions.js';
import { arrivalHotspots, dailyReport, MONTHLY_TOTALS, PAYROLL_DEFAULT, TOTAL_COLUMNS, totalsReport, type ReportLanguage } from '../reports/attendance-reports.js';
import { EXPORT_FORMATS, type ExportFormat } from '../reports/export/index.js';
import type { ReportRow, ReportTable } from '../reports/report-table.js';
import { rangeIssues } from './attendance-routes.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

export interface ReportRoutesOptions {
  db: Database;
  attendance: AttendanceService;
  logger: Logger;
}

const Format = z.enum(['json', 'csv', 'xlsx', 'pdf'], { error: 'format must be json, csv, xlsx or pdf' }).default('json');
const Lang = z.enum(['en', 'zh-HK', 'both'], { error: 'lang must be en, zh-HK or both' }).default('both');
const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'month must be written YYYY-MM');
const Scope = { siteId: EntityId.optional(), department: z.string().min(1).max(80).optional(), employeeNumber: EntityId.optional() };
const TableJson = z.object({ title: z.object({ en: z.string(), zh: z.string() }), columns: z.array(z.object({ key: z.string(), header: z.object({ en: z.string(), zh: z.string() }), kind: z.string() })), rows: z.array(z.object({ cells: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])), emphasis: z.string().optional() })) });

function monthRange(month: string): { from: string; to: string } {
  const from = `${month}-01`;
  const next = new Date(Date.parse(`${from}T00:00:00Z`));
  next.setUTCMonth(next.getUTCMonth() + 1);
  return { from, to: addDays(next.toISOString().slice(0, 10), -1) };
}

/**
 * /api/v1/reports (attendance:read): daily and monthly attendance, the payroll export with the
 * columns payroll asks for, and late-arrival hotspots; as JSON for payroll systems, or as CSV,
 * XLSX and PDF files that stream (a month for thousands of people is never held whole).
 */
export const reportRoutes: FastifyPluginAsync<ReportRoutesOptions> = async (app, options) => {
  const { attendance, db } = options;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const read = { permission: 'attendance:read' } as const;
  const source = (query: AttendanceQuery) => attendance.days(query);

  /** The query for the principal: a store manager's reports cover only their sites. */
  const scoped = (request: FastifyRequest, base: { from: string; to: string; siteId?: string | undefined; department?: string | undefined; employeeNumber?: string | undefined }): AttendanceQuery | 'forbidden' => {
    const scope = siteFilter(principalOf(request));
    if (scope && base.siteId && !scope.includes(base.siteId)) return 'forbidden';
    const siteIds = base.siteId ? [base.siteId] : scope;
    return { from: base.from, to: base.to, ...(siteIds ? { siteIds } : {}), ...(base.department ? { department: base.department } : {}), ...(base.employeeNumber ? { employeeNumbers: [base.employeeNumber] } : {}) };
  };

  const send = async (reply: FastifyReply, table: ReportTable, format: z.infer<typeof Format>, language: ReportLanguage, name: string) => {
    if (format === 'json') {
      const rows: ReportRow[] = [];
      for await (const row of table.rows) rows.push(row);
      return reply.send({ title: table.title, columns: table.columns.map(({ key, header, kind }) => ({ key, header, kind })), rows });
    }
    const info = EXPORT_FORMATS[format as ExportFormat];
    const body = new PassThrough();
    // Headers go first; a failure while streaming ends the download early (never a whole-looking file).
    void info.write(table, body, { language, logger: options.logger }).catch((error: unknown) => options.logger.error({ err: error, report: name }, 'report export failed'));
    return reply.type(info.contentType).header('content-disposition', `attachment; filename="${name}.${info.extension}"`).send(body);
  };

  routes.get(
    '/reports/daily',
    { config: read, schema: { querystring: z.object({ from: LocalDate, to: LocalDate, ...Scope, format: Format, lang: Lang }).strict(), response: { 200: TableJson, 400: ErrorWithIssues, 403: ErrorWithIssues } } },
    async (request, reply) => {
      const issues = rangeIssues(request.query);
      if (issues.length > 0) return reply.code(400).send(invalid(issues));
      const query = scoped(request, request.query);
      if (query === 'forbidden') return reply.code(403).send({ error: `site ${request.query.siteId} is not one of yours` });
      const table = dailyReport(source, query, request.query.lang, { en: 'Daily attendance', zh: '每日考勤' });
      return send(reply, table, request.query.format, request.query.lang, `attendance-daily-${request.query.from}-${request.query.to}`);
    },
  );

  routes.get(
    '/reports/monthly',
    { config: read, schema: { querystring: z.object({ month: Month, ...Scope, format: Format, lang: Lang }).strict(), response: { 200: TableJson, 400: ErrorWithIssues, 403: ErrorWithIssues } } },
    async (request, reply) => {
      const query = scoped(request, { ...monthRange(request.query.month), siteId: request.query.siteId, department: request.query.department, employeeNumber: request.query.employeeNumber });
      if (query === 'forbidden') return reply.code(403).send({ error: `site ${request.query.siteId} is not one of yours` });
      const table = totalsReport(source, query, MONTHLY_TOTALS, { en: `Monthly attendance ${request.query.month}`, zh: `${request.query.month} 每月考勤` });
      return send(reply, table, request.query.format, request.query.lang, `attendance-monthly-${request.query.month}`);
    },
  );

  routes.get(
    '/reports/payroll',
    {
      config: read,
      schema: {
        querystring: z
          .object({
            month: Month,
            ...Scope,
            columns: z
              .string()
              .transform((text) => text.split(',').map((part) => part.trim()).filter(Boolean))
              .refine((keys) => keys.length > 0, 'name at least one column')
              .refine((keys) => keys.every((key) => key in TOTAL_COLUMNS), { message: `columns are a comma-separated list of: ${Object.keys(TOTAL_COLUMNS).join(', ')}` })
              .optional(),
            format: Format,
            lang: Lang,
          })
          .strict(),
        response: { 200: TableJson, 400: ErrorWithIssues, 403: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const query = scoped(request, { ...monthRange(request.query.month), siteId: request.query.siteId, department: request.query.department, employeeNumber: request.query.employeeNumber });
      if (query === 'forbidden') return reply.code(403).send({ error: `site ${request.query.siteId} is not one of yours` });
      const table = totalsReport(source, query, request.query.columns ?? PAYROLL_DEFAULT, { en: `Payroll ${request.query.month}`, zh: `${request.query.month} 薪酬資料` });
      return send(reply, table, request.query.format, request.query.lang, `payroll-${request.query.month}`);
    },
  );

  routes.get(
    '/reports/hotspots',
    {
      config: read,
      schema: {
        querystring: z.object({ from: LocalDate, to: LocalDate, siteId: EntityId.optional(), department: Scope.department, bucketMinutes: z.coerce.number().int().min(1).max(30).default(5), format: z.enum(['json', 'pdf', 'xlsx'], { error: 'format must be json, pdf or xlsx' }).default('json'), lang: Lang }).strict(),
        response: { 200: z.object({ hotspots: z.array(z.object({ siteId: z.string(), shiftStart: z.string(), arrivals: z.number(), late: z.number(), histogram: z.object({ title: z.object({ en: z.string(), zh: z.string() }), bucketMinutes: z.number(), buckets: z.array(z.object({ label: z.string(), count: z.number(), offsetMinutes: z.number() })) }) })) }), 400: ErrorWithIssues, 403: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const issues = rangeIssues(request.query);
      if (issues.length > 0) return reply.code(400).send(invalid(issues));
      const query = scoped(request, request.query);
      if (query === 'forbidden') return reply.code(403).send({ error: `site ${request.query.siteId} is not one of yours` });
      const names = new Map((await db.all<{ id: string; name: string }>('SELECT id, name FROM sites')).map((row) => [row.id, row.name]));
      const hotspots = await arrivalHotspots(source, query, request.query.bucketMinutes, names);
      if (request.query.format === 'json') return { hotspots };
      async function* rows(): AsyncGenerator<ReportRow> {
        for (const hotspot of hotspots) {
          yield { cells: { site: names.get(hotspot.siteId) ?? hotspot.siteId, shiftStart: hotspot.shiftStart, arrivals: hotspot.arrivals, late: hotspot.late, latePercent: hotspot.arrivals ? Math.round((hotspot.late / hotspot.arrivals) * 1000) / 10 : 0 } };
        }
      }
      const table: ReportTable = {
        title: { en: 'Late-arrival hotspots', zh: '遲到熱點' },
        subtitle: { en: `${request.query.from} to ${request.query.to}`, zh: `${request.query.from} 至 ${request.query.to}` },
        columns: [
          { key: 'site', header: { en: 'Site', zh: '地點' }, kind: 'text', width: 16 },
          { key: 'shiftStart', header: { en: 'Shift start', zh: '班次開始' }, kind: 'time', width: 8 },
          { key: 'arrivals', header: { en: 'Arrivals', zh: '到達人次' }, kind: 'number', width: 8 },
          { key: 'late', header: { en: 'Late', zh: '遲到' }, kind: 'number', width: 8 },
          { key: 'latePercent', header: { en: 'Late %', zh: '遲到 %' }, kind: 'number', width: 8 },
        ],
        rows: rows(),
        charts: hotspots.map((hotspot) => hotspot.histogram),
      };
      return send(reply, table, request.query.format, request.query.lang, `hotspots-${request.query.from}-${request.query.to}`);
    },
  );
};
