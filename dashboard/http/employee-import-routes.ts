import { PassThrough } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { templateCsv } from '../../provisioning/employee-import/columns.js';
import type { PlannedEmployee } from '../../provisioning/employee-import/plan-import.js';
import { ImportFileError } from '../../provisioning/employee-import/decode-file.js';
import { validateEmployeeFile, validateEmployeeText, type ImportValidation } from '../../provisioning/employee-import/validate-rows.js';
import { isXlsx, templateXlsx, xlsxToCsvText } from '../../provisioning/employee-import/xlsx.js';
import { principalOf } from '../auth/auth-plugin.js';
import { can, permissionDescriptions, permissions, rolePermissions, roles } from '../auth/permissions.js';
import { AccountError } from '../auth/users.js';
import type { EmployeeSync, SyncMode, SyncProgress, SyncRequest } from '../employees/employee-sync.js';
import { SyncRefusedError } from '../employees/employee-sync.js';
import { ErrorWithIssues, fieldErrorHandler } from './validation.js';

export interface EmployeeImportRoutesOptions {
  employeeSync: EmployeeSync;
}

/** The largest file taken: about 100,000 rows of the template. */
export const MAX_IMPORT_FILE_BYTES = 32 * 1024 * 1024;

export const ImportErrorView = z.object({ row: z.number().int(), column: z.string(), message: z.string(), messageZh: z.string() });
const FieldValue = z.union([z.string(), z.array(z.string()), z.boolean(), z.null()]);
/** One field's change in a preview or an HRIS answer. */
export const FieldChangeView = z.object({ field: z.string(), before: FieldValue, after: FieldValue });
export const PlannedEmployeeView = z.object({
  employeeNumber: z.string(),
  row: z.number().int().nullable(),
  outcome: z.enum(['create', 'update', 'deactivate', 'unchanged']),
  changes: z.array(FieldChangeView),
});
export const Counts = z.object({ create: z.number().int(), update: z.number().int(), deactivate: z.number().int(), unchanged: z.number().int() });
export const CreatedAccountView = z.object({ employeeNumber: z.string(), username: z.string(), oneTimePassword: z.string() });

const FileView = z.object({
  encoding: z.string(),
  delimiter: z.enum([',', '\t']),
  columns: z.array(z.string()),
  rows: z.number().int(),
});
const Preview = z.object({ file: FileView, counts: Counts, employees: z.array(PlannedEmployeeView), errors: z.array(ImportErrorView) });
const Committed = z.object({ file: FileView, counts: Counts, employees: z.array(PlannedEmployeeView), accounts: z.array(CreatedAccountView) });
const Refused = z.object({ error: z.string(), errorZh: z.string(), errors: z.array(ImportErrorView) });

const ImportQuery = z
  .object({
    /** `full`: also deactivate every active employee (that you reach) the file does not list. */
    mode: z.enum(['upsert', 'full']).default('upsert'),
    /** Shown in the audit log as the import's source. */
    filename: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

const FILE_TYPES = ['text/csv', 'application/csv', 'text/plain', 'text/tab-separated-values', 'application/octet-stream', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'];
const NDJSON = 'application/x-ndjson';

/** Reads an uploaded CSV/TSV (any supported encoding) or XLSX and checks every row. */
async function readUpload(bytes: Buffer, sync: EmployeeSync): Promise<ImportValidation> {
  const context = await sync.context();
  if (isXlsx(bytes)) return { ...validateEmployeeText(await xlsxToCsvText(bytes), context), encoding: 'xlsx' };
  return validateEmployeeFile(bytes, context);
}

const fileView = (validation: ImportValidation) => ({
  encoding: validation.encoding ?? 'xlsx',
  delimiter: validation.delimiter,
  columns: [...validation.columns],
  rows: validation.rows.length + new Set(validation.errors.filter((error) => error.row > 1).map((error) => error.row)).size,
});

const plannedView = (employees: readonly PlannedEmployee[]): Array<z.infer<typeof PlannedEmployeeView>> =>
  employees.map(({ employeeNumber, row, outcome, changes }) => ({ employeeNumber, row, outcome, changes }));

const refusedView = (errors: z.infer<typeof ImportErrorView>[]) => ({
  error: `${errors.length} error(s) in the file: nothing was written; correct them and upload the file again`,
  errorZh: `檔案有 ${errors.length} 個錯誤，沒有寫入任何資料；請更正後重新上載`,
  errors,
});

/**
 * /api/v1/employee-imports: the template (CSV, XLSX with the role matrix), a preview of what a
 * file would change with every error on its row, and the commit (all or nothing). With
 * `Accept: application/x-ndjson` the answer is a stream of progress lines, then the result line,
 * for the CLI's progress bar on large files.
 */
export const employeeImportRoutes: FastifyPluginAsync<EmployeeImportRoutesOptions> = async (app, options) => {
  const sync = options.employeeSync;
  app.setErrorHandler(fieldErrorHandler);
  app.addContentTypeParser(FILE_TYPES, { parseAs: 'buffer', bodyLimit: MAX_IMPORT_FILE_BYTES }, (_request, body, done) => done(null, body));
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/employee-imports/template.csv',
    { config: { permission: 'employees:write' }, schema: { summary: 'The employee import template (CSV, UTF-8 with BOM)' } },
    async (_request, reply) =>
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="punchgate-employees.csv"').send(Buffer.from(templateCsv(), 'utf8')),
  );

  routes.get(
    '/employee-imports/template.xlsx',
    { config: { permission: 'employees:write' }, schema: { summary: 'The employee import template (XLSX, with the role-based access matrix on its second sheet)' } },
    async (_request, reply) => {
      const matrix = permissions.map((permission) => ({
        permission,
        description: permissionDescriptions[permission],
        roles: Object.fromEntries(roles.map((role) => [role, rolePermissions[role].includes(permission)])),
      }));
      return reply
        .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
        .header('content-disposition', 'attachment; filename="punchgate-employees.xlsx"')
        .send(await templateXlsx(roles, matrix));
    },
  );

  /** Reads the upload, answers 400/415 for a file that cannot be read; otherwise the validation. */
  const upload = async (request: FastifyRequest, reply: FastifyReply): Promise<ImportValidation | undefined> => {
    if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
      await reply.code(415).send({ error: 'send the file as the request body (text/csv, or the .xlsx workbook)', errorZh: '請以要求內容傳送檔案（text/csv 或 .xlsx 活頁簿）' });
      return undefined;
    }
    try {
      return await readUpload(request.body, sync);
    } catch (error) {
      if (!(error instanceof ImportFileError)) throw error;
      await reply.code(400).send({ error: error.message, errorZh: error.messageZh });
      return undefined;
    }
  };

  const syncRequest = (request: FastifyRequest, validation: ImportValidation, mode: SyncMode, filename: string | undefined): SyncRequest => {
    const principal = principalOf(request);
    return {
      records: validation.rows,
      errors: validation.errors,
      mode,
      access: { actor: { kind: principal.kind, id: principal.id, name: principal.name }, sites: principal.sites },
      mayGrantRoles: can(principal, 'users:manage'),
      source: `import ${filename ?? 'file'}`,
    };
  };

  /** Runs `work`, streaming progress lines then `{result}` or `{status, error...}` when the client asked for NDJSON. */
  const answer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    work: (onProgress: ((progress: SyncProgress) => void) | undefined) => Promise<{ status: number; body: unknown }>,
  ): Promise<FastifyReply> => {
    if (!(request.headers.accept ?? '').includes(NDJSON)) {
      const { status, body } = await work(undefined);
      return reply.code(status).send(body);
    }
    const stream = new PassThrough();
    const line = (value: unknown) => stream.write(`${JSON.stringify(value)}\n`);
    void work((progress) => line({ progress })).then(
      ({ status, body }) => {
        line(status < 300 ? { result: body } : { status, ...(body as object) });
        stream.end();
      },
      (error: unknown) => {
        request.log.error({ err: error }, 'employee import failed');
        line({ status: 500, error: 'the import failed on the server: nothing was written (see the dashboard log)' });
        stream.end();
      },
    );
    return reply.code(200).header('content-type', NDJSON).send(stream);
  };

  routes.post(
    '/employee-imports/preview',
    {
      config: { permission: 'employees:write' },
      schema: {
        summary: 'What an employee file would change, and every error on its row (writes nothing)',
        description: 'Body: the file (CSV in UTF-8 or UTF-16, or XLSX). `Accept: application/x-ndjson` streams progress lines, then `{result}`.',
        querystring: ImportQuery,
        response: { 200: Preview, 400: ErrorWithIssues.extend({ errorZh: z.string().optional() }), 415: z.object({ error: z.string(), errorZh: z.string() }) },
      },
    },
    async (request, reply) => {
      const validation = await upload(request, reply);
      if (!validation) return reply;
      return answer(request, reply, async (onProgress) => {
        const preview = await sync.preview({ ...syncRequest(request, validation, request.query.mode, request.query.filename), ...(onProgress ? { onProgress } : {}) });
        return { status: 200, body: { file: fileView(validation), counts: preview.counts, employees: plannedView(preview.employees), errors: preview.errors } };
      });
    },
  );

  routes.post(
    '/employee-imports',
    {
      config: { permission: 'employees:write' },
      schema: {
        summary: 'Import an employee file: every row written in one transaction, or none',
        description:
          'Refused (422, nothing written) when any row has an error. Importing the same file again changes nothing. Accounts made for the role column are answered with their one-time passwords, this once. `Accept: application/x-ndjson` streams progress lines, then `{result}` or the refusal.',
        querystring: ImportQuery,
        response: {
          200: Committed,
          400: ErrorWithIssues.extend({ errorZh: z.string().optional() }),
          409: z.object({ error: z.string() }),
          415: z.object({ error: z.string(), errorZh: z.string() }),
          422: Refused,
        },
      },
    },
    async (request, reply) => {
      const validation = await upload(request, reply);
      if (!validation) return reply;
      return answer(request, reply, async (onProgress) => {
        try {
          const result = await sync.commit({ ...syncRequest(request, validation, request.query.mode, request.query.filename), ...(onProgress ? { onProgress } : {}) });
          return { status: 200, body: { file: fileView(validation), counts: result.counts, employees: plannedView(result.employees), accounts: result.accounts } };
        } catch (error) {
          if (error instanceof SyncRefusedError) return { status: 422, body: refusedView(error.errors) };
          if (error instanceof AccountError) return { status: 409, body: { error: error.message } };
          throw error;
        }
      });
    },
  );
};
