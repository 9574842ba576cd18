import { CursorError } from '../db/keyset-cursor.js';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/auth-plugin.js';
import type { Auth } from '../auth/index.js';
import { Role } from '../auth/permissions.js';
import { SiteScope, Username, UserView } from '../auth/users.js';
import { sendAccountError } from './account-errors.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

export interface UserRoutesOptions {
  auth: Auth;
}

const UserParams = z.object({ id: z.string().uuid('is not a user id') }).strict();
const WithPassword = z.object({
  user: UserView,
  /** Shown this once; the user must change it at first sign-in. */
  oneTimePassword: z.string(),
});

/** /api/v1/users (users:manage): list, create, read, change role/sites/disabled, reset password. */
export const userRoutes: FastifyPluginAsync<UserRoutesOptions> = async (app, options) => {
  const { users } = options.auth;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const manage = { permission: 'users:manage' } as const;

  routes.get(
    '/users',
    {
      config: manage,
      schema: {
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), cursor: z.string().max(512).optional() }).strict(),
        response: { 200: z.object({ users: z.array(UserView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return await users.list(request.query);
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );

  routes.post(
    '/users',
    {
      config: manage,
      schema: {
        body: z.object({ username: Username, role: Role, sites: SiteScope.optional() }).strict(),
        response: { 201: WithPassword, 400: ErrorWithIssues, 409: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const { user, password } = await users.create(request.body, principalOf(request));
        return reply.code(201).send({ user, oneTimePassword: password });
      } catch (error) {
        return sendAccountError(reply, error);
      }
    },
  );

  routes.get('/users/:id', { config: manage, schema: { params: UserParams, response: { 200: z.object({ user: UserView }), 400: ErrorWithIssues, 404: ErrorWithIssues } } }, async (request, reply) => {
    const user = await users.get(request.params.id);
    if (!user) return reply.code(404).send({ error: `user ${request.params.id} does not exist` });
    const { passwordHash: _secret, ...view } = user;
    return { user: view };
  });

  routes.patch(
    '/users/:id',
    {
      config: manage,
      schema: {
        params: UserParams,
        body: z
          .object({ role: Role.optional(), sites: SiteScope.optional(), disabled: z.boolean({ error: 'must be true or false' }).optional() })
          .strict()
          .refine((body) => Object.keys(body).length > 0, 'send at least one of role, sites, disabled'),
        response: { 200: z.object({ user: UserView }), 400: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return { user: await users.update(request.params.id, request.body, principalOf(request)) };
      } catch (error) {
        return sendAccountError(reply, error);
      }
    },
  );

  routes.post(
    '/users/:id/password-reset',
    { config: manage, schema: { params: UserParams, response: { 200: WithPassword, 400: ErrorWithIssues, 404: ErrorWithIssues } } },
    async (request, reply) => {
      try {
        const { user, password } = await users.resetPassword(request.params.id, principalOf(request));
        return { user, oneTimePassword: password };
      } catch (error) {
        return sendAccountError(reply, error);
      }
    },
  );
};
