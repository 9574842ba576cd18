import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

/**
 * Field-level errors for the routes that take structured documents (sites, mobile punches):
 * `400 {error, issues: [{in, field, message}]}`, where `field` is a path such as
 * `policy.geofence.points[2]` within the part of the request named by `in`.
 */

export const RequestPart = z.enum(['body', 'params', 'querystring', 'headers']);
export type RequestPart = z.infer<typeof RequestPart>;

export const FieldIssue = z.object({ in: RequestPart, field: z.string(), message: z.string() });
export type FieldIssue = z.infer<typeof FieldIssue>;

export const ErrorWithIssues = z.object({ error: z.string(), issues: z.array(FieldIssue).optional() });
export type ErrorWithIssues = z.infer<typeof ErrorWithIssues>;

/** `['policy', 'geofence', 'points', 2]` to `policy.geofence.points[2]`; the empty path is the part itself. */
export function fieldOf(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`))
    .join('');
}

function fieldOfPointer(pointer: string): string {
  const parts = pointer.split('/').slice(1).filter((part) => part !== '');
  return fieldOf(parts.map((part) => (/^\d+$/.test(part) ? Number(part) : part)));
}

export function issuesOf(error: z.ZodError, where: RequestPart, prefix: ReadonlyArray<PropertyKey> = []): FieldIssue[] {
  return error.issues.map((issue) => ({ in: where, field: fieldOf([...prefix, ...issue.path]), message: issue.message }));
}

export function invalid(issues: FieldIssue[]): ErrorWithIssues {
  const where = [...new Set(issues.map((issue) => issue.in))].join(' and ');
  const list = issues.map((issue) => `${issue.field || `(${issue.in})`}: ${issue.message}`).join('; ');
  return { error: `invalid ${where}: ${list}`, issues };
}

/**
 * Error handler for a plugin whose routes answer 4xx with {@link ErrorWithIssues}: schema
 * validation failures become field issues, other client errors (malformed JSON, too large) keep
 * their status with `{error}`; server errors go to the parent handler.
 */
export async function fieldErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = RequestPart.catch('body').parse(error.validationContext);
    const issues = error.validation.flatMap((issue): FieldIssue[] => {
      const field = fieldOfPointer(issue.instancePath);
      const message = issue.message ?? 'is not valid';
      // An unknown key is named as the field itself, one issue per key.
      const keys = issue.keyword === 'unrecognized_keys' ? (issue.params as { keys?: unknown }).keys : undefined;
      if (Array.isArray(keys) && keys.length > 0) {
        return keys.map((key) => ({ in: where, field: [field, String(key)].filter(Boolean).join('.'), message: 'is not a known field' }));
      }
      return [{ in: where, field, message }];
    });
    await reply.code(400).send(invalid(issues));
    return;
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    await reply.code(status).send({ error: error.message });
    return;
  }
  throw error;
}
