import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../platform/sqlite.js';
import { checkHrisRecords, HrisPayload } from '../../provisioning/employee-import/hris-records.js';
import type { PlannedEmployee } from '../../provisioning/employee-import/plan-import.js';
import { principalOf } from '../auth/auth-plugin.js';
import { can } from '../auth/permissions.js';
import { AccountError } from '../auth/users.js';
import { SyncRefusedError, type EmployeeSync } from '../employees/employee-sync.js';
import { Counts, FieldChangeView } from './employee-import-routes.js';
import { ErrorWithIssues, fieldErrorHandler } from './validation.js';

export interface HrisRoutesOptions {
  db: Database;
  employeeSync: EmployeeSync;
  now: () => Date;
}

/** An HRIS payload of 50,000 records is about 15 MB of JSON. */
const MAX_HRIS_BODY_BYTES = 32 * 1024 * 1024;
/** How long an Idempotency-Key is remembered, with its answer. */
const IDEMPOTENCY_HOURS = 24;

const RecordResult = z.object({
  /** 1-based position in `records`; null for an employee a full sync deactivated. */
  record: z.number().int().nullable(),
  employeeNumber: z.string(),
  outcome: z.enum(['create', 'update', 'deactivate', 'unchanged']),
  changes: z.array(FieldChangeView),
});
const RecordError = z.object({ record: z.number().int(), field: z.string(), message: z.string(), messageZh: z.string() });
const SyncAnswer = z.object({
  dryRun: z.boolean(),
  mode: z.enum(['upsert', 'full']),
  counts: Counts,
  results: z.array(RecordResult),
  accounts: z.array(z.object({ employeeNumber: z.string(), username: z.string(), oneTimePassword: z.string() })),
});
const Refused = z.object({ error: z.string(), errors: z.array(RecordError) });

const IdempotencyKey = z.string().trim().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be 1-200 visible ASCII characters (a UUID is a good key)');

const resultsOf = (employees: readonly PlannedEmployee[]) =>
  employees.map(({ row, employeeNumber, outcome, changes }) => ({ record: row, employeeNumber, outcome, changes }));

/**
 * /api/v1/hris: bulk upsert by employee number for an HRIS (an integration client's token with the
 * hris:sync scope, or an admin token). The records go through the import's own checks and
 * commit (one transaction, all or nothing); `mode: "full"` also deactivates every active employee
 * absent from the payload, which revokes their badges and tags: the gateways get the new roster
 * within seconds. An `Idempotency-Key` makes a retry answer the first answer without doing it again.
 */
export const hrisRoutes: FastifyPluginAsync<HrisRoutesOptions> = async (app, options) => {
  const { db, employeeSync: sync } = options;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/hris/employees',
    {
      bodyLimit: MAX_HRIS_BODY_BYTES,
      config: { permission: 'hris:sync' },
      schema: {
        summary: 'Create, update and (mode "full") deactivate employees in bulk, by employee number',
        description:
          'Fields left out of a record are left as they are; null clears them. Every record is checked first: one bad record refuses the request (422) with every error by record and field, and nothing is written. `?dryRun=true` answers what would change. Send an `Idempotency-Key` header to make retries safe: the same key with the same body answers the first answer (header `Idempotent-Replayed: true`); with another body it is refused (422).',
        headers: z.object({ 'idempotency-key': IdempotencyKey.optional() }).passthrough(),
        querystring: z.object({ dryRun: z.enum(['true', 'false']).default('false') }).strict(),
        body: HrisPayload,
        response: { 200: SyncAnswer, 400: ErrorWithIssues, 409: z.object({ error: z.string() }), 422: z.union([Refused, z.object({ error: z.string() })]) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const key = request.headers['idempotency-key'];
      const dryRun = request.query.dryRun === 'true';
      const digest = createHash('sha256').update(JSON.stringify(request.body)).update(dryRun ? ' dry' : '').digest('hex');
      const keyId = typeof key === 'string' ? key.trim() : undefined;
      if (keyId !== undefined) {
        const cutoff = new Date(options.now().getTime() - IDEMPOTENCY_HOURS * 3600_000).toISOString();
        await db.write('DELETE FROM hris_requests WHERE created_at < ?', [cutoff]);
        const seen = await db.get<{ request_sha256: string; status_code: number; response: string }>(
          'SELECT request_sha256, status_code, response FROM hris_requests WHERE client_id = ? AND idempotency_key = ?',
          [principal.id, keyId],
        );
        if (seen) {
          if (seen.request_sha256 !== digest) {
            return reply.code(422).send({ error: `Idempotency-Key ${keyId} was used within the last ${IDEMPOTENCY_HOURS} hours for a different request: use a new key for a new request` });
          }
          return reply.code(seen.status_code as 200).header('idempotent-replayed', 'true').send(JSON.parse(seen.response));
        }
      }

      const context = await sync.context();
      const checked = checkHrisRecords(request.body.records, context);
      const syncRequest = {
        records: checked.rows,
        errors: checked.errors,
        mode: request.body.mode,
        access: { actor: { kind: principal.kind, id: principal.id, name: principal.name }, sites: principal.sites },
        mayGrantRoles: can(principal, 'users:manage'),
        source: `hris ${principal.name}`,
      };
      let status: 200 | 422;
      let body: unknown;
      try {
        if (dryRun) {
          const preview = await sync.preview(syncRequest);
          status = preview.errors.length > 0 ? 422 : 200;
          body = status === 422 ? refused(preview.errors) : { dryRun, mode: request.body.mode, counts: preview.counts, results: resultsOf(preview.employees), accounts: [] };
        } else {
          const result = await sync.commit(syncRequest);
          status = 200;
          body = { dryRun, mode: request.body.mode, counts: result.counts, results: resultsOf(result.employees), accounts: result.accounts };
        }
      } catch (error) {
        if (error instanceof SyncRefusedError) {
          status = 422;
          body = refused(error.errors);
        } else if (error instanceof AccountError) {
          return reply.code(409).send({ error: error.message });
        } else {
          throw error;
        }
      }
      if (keyId !== undefined) {
        await db.write('INSERT OR IGNORE INTO hris_requests (client_id, idempotency_key, request_sha256, status_code, response, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
          principal.id,
          keyId,
          digest,
          status,
          // One-time passwords are not kept: a replay says where they were shown.
          JSON.stringify(withoutPasswords(body)),
          options.now().toISOString(),
        ]);
      }
      return reply.code(status).send(body as never);
    },
  );
};

/** The answer as remembered for a replay: a one-time password is never stored. */
function withoutPasswords(body: unknown): unknown {
  if (!body || typeof body !== 'object' || !('accounts' in body)) return body;
  const accounts = (body as { accounts: Array<{ employeeNumber: string; username: string }> }).accounts;
  return { ...body, accounts: accounts.map((account) => ({ ...account, oneTimePassword: '(shown only in the first answer; reset the password in the console if it was lost)' })) };
}

function refused(errors: ReadonlyArray<{ row: number; column: string; message: string; messageZh: string }>) {
  return {
    error: `${errors.length} error(s) in the records: nothing was written`,
    errors: errors.map((error) => ({ record: error.row, field: error.column, message: error.message, messageZh: error.messageZh })),
  };
}
