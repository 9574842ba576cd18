import { CursorError } from '../db/keyset-cursor.js';
import { RevocableListQuery } from '../db/revocable-list.js';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EntityId } from '../../core/punch.js';
import { TokenView } from '../auth/api-tokens.js';
import { principalOf } from '../auth/auth-plugin.js';
import type { Auth } from '../auth/index.js';
import { Role } from '../auth/permissions.js';
import { sendAccountError } from './account-errors.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

export interface TokenRoutesOptions {
  auth: Auth;
}

const TokenParams = z.object({ id: z.string().uuid('is not a token id') }).strict();

/** /api/v1/tokens (tokens:manage): make (the secret is shown once), list (no secrets), revoke. */
export const tokenRoutes: FastifyPluginAsync<TokenRoutesOptions> = async (app, options) => {
  const { tokens } = options.auth;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const manage = { permission: 'tokens:manage' } as const;

  routes.get(
    '/tokens',
    {
      config: manage,
      schema: {
        querystring: RevocableListQuery,
        response: { 200: z.object({ tokens: z.array(TokenView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return await tokens.list(request.query);
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );

  routes.post(
    '/tokens',
    {
      config: manage,
      schema: {
        body: z
          .object({
            name: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(80, 'may be at most 80 characters'),
            role: Role,
            /** Limit the token to these sites (required for site-scoped roles); left out: every site. */
            sites: z.array(EntityId).min(1, 'give at least one site id, or leave sites out').max(1000).optional(),
          })
          .strict(),
        response: { 201: z.object({ token: TokenView, secret: z.string() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const { token, secret } = await tokens.create(request.body, principalOf(request));
        // The secret is shown once, here; only its SHA-256 is stored.
        return reply.code(201).send({ token, secret });
      } catch (error) {
        return sendAccountError(reply, error);
      }
    },
  );

  routes.get('/tokens/:id', { config: manage, schema: { params: TokenParams, response: { 200: z.object({ token: TokenView }), 400: ErrorWithIssues, 404: ErrorWithIssues } } }, async (request, reply) => {
    const token = await tokens.get(request.params.id);
    if (!token) return reply.code(404).send({ error: `token ${request.params.id} does not exist` });
    return { token };
  });

  routes.delete('/tokens/:id', { config: manage, schema: { params: TokenParams, response: { 200: z.object({ token: TokenView }), 400: ErrorWithIssues, 404: ErrorWithIssues } } }, async (request, reply) => {
    try {
      return { token: await tokens.revoke(request.params.id, principalOf(request)) };
    } catch (error) {
      return sendAccountError(reply, error);
    }
  });
};
