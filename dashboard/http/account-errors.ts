import type { FastifyReply } from 'fastify';
import { AccountError } from '../auth/users.js';
import { invalid } from './validation.js';

/** Answers an {@link AccountError} (with its field, when it names one); rethrows anything else. */
export async function sendAccountError(reply: FastifyReply, error: unknown): Promise<FastifyReply> {
  if (!(error instanceof AccountError)) throw error;
  const body = error.field ? { ...invalid([{ in: 'body', field: error.field, message: error.message }]), error: `${error.field}: ${error.message}` } : { error: error.message };
  return reply.code(error.status).send(body);
}

