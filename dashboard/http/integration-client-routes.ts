import type { FastifyPluginAsync } from 'fastify';
import { RevocableListQuery } from '../db/revocable-list.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EntityId } from '../../core/punch.js';
import { principalOf } from '../auth/auth-plugin.js';
import type { Auth } from '../auth/index.js';
import { IntegrationClientView, MAX_TOKEN_LIFETIME_SECONDS, MIN_TOKEN_LIFETIME_SECONDS } from '../auth/integration-clients.js';
import { integrationScopes } from '../auth/permissions.js';
import { CursorError } from '../db/keyset-cursor.js';
import { sendAccountError } from './account-errors.js';
import { ErrorWithIssues, fieldErrorHandler, invalid } from './validation.js';

export interface IntegrationClientRoutesOptions {
  auth: Auth;
}

const ClientParams = z.object({ id: z.string().uuid('is not an integration client id') }).strict();

const Scope = z.enum(integrationScopes, { error: `is not a scope an integration client may have (${integrationScopes.join(', ')})` });

const ClientName = z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(80, 'may be at most 80 characters');
/** What the client's tokens may be granted: permissions from the integration list. */
const ClientScopes = z.array(Scope, { error: 'must be a list of scopes' }).min(1, 'give at least one scope').max(integrationScopes.length);
const ClientSites = z.array(EntityId).min(1, 'give at least one site id, or leave sites out').max(1000);
/** How long its access tokens live (default 3600). */
const TokenLifetime = z
  .number({ error: 'must be a number of seconds' })
  .int('must be a whole number of seconds')
  .min(MIN_TOKEN_LIFETIME_SECONDS, `must be at least ${MIN_TOKEN_LIFETIME_SECONDS}`)
  .max(MAX_TOKEN_LIFETIME_SECONDS, `may be at most ${MAX_TOKEN_LIFETIME_SECONDS}`);

const NewClient = z
  .object({
    name: ClientName,
    scopes: ClientScopes,
    /** Limit the client to these sites; left out: every site. */
    sites: ClientSites.optional(),
    tokenLifetimeSeconds: TokenLifetime.optional(),
  })
  .strict();

const ClientChange = z
  .object({
    name: ClientName.optional(),
    scopes: ClientScopes.optional(),
    /** These sites only, or "all". */
    sites: z.union([z.literal('all'), ClientSites], { error: 'must be "all" or a list of site ids' }).optional(),
    tokenLifetimeSeconds: TokenLifetime.optional(),
  })
  .strict()
  .refine((change) => Object.keys(change).length > 0, 'give at least one of name, scopes, sites, tokenLifetimeSeconds');

const Rotation = z
  .object({
    /** Also revoke the tokens issued with the old secret (default true); false lets them run out. */
    revokeTokens: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .strict()
  .optional();

/**
 * /api/v1/integration-clients (tokens:manage): make an OAuth client (its secret shown once), list
 * (no secrets), read, change (name, scopes, sites, token lifetime), revoke (its tokens stop at once), rotate the secret. Clients get their
 * tokens at POST /api/v1/oauth/token (oauth-routes.ts).
 */
export const integrationClientRoutes: FastifyPluginAsync<IntegrationClientRoutesOptions> = async (app, options) => {
  const { clients } = options.auth;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const manage = { permission: 'tokens:manage' } as const;
  const One = z.object({ client: IntegrationClientView });
  const WithSecret = z.object({ client: IntegrationClientView, clientSecret: z.string() });

  routes.get(
    '/integration-clients',
    {
      config: manage,
      schema: {
        querystring: RevocableListQuery,
        response: { 200: z.object({ clients: z.array(IntegrationClientView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return await clients.list(request.query);
      } catch (error) {
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );

  routes.post('/integration-clients', { config: manage, schema: { body: NewClient, response: { 201: WithSecret, 400: ErrorWithIssues } } }, async (request, reply) => {
    try {
      const { client, clientSecret } = await clients.create(request.body, principalOf(request));
      // The secret is shown once, here; only its SHA-256 is stored.
      return reply.code(201).send({ client, clientSecret });
    } catch (error) {
      return sendAccountError(reply, error);
    }
  });

  routes.get('/integration-clients/:id', { config: manage, schema: { params: ClientParams, response: { 200: One, 400: ErrorWithIssues, 404: ErrorWithIssues } } }, async (request, reply) => {
    const client = await clients.get(request.params.id);
    if (!client) return reply.code(404).send({ error: `integration client ${request.params.id} does not exist` });
    return { client };
  });

  routes.patch(
    '/integration-clients/:id',
    {
      config: manage,
      schema: {
        summary: "Change an integration client's name, scopes, sites or token lifetime",
        description:
          'Its live access tokens keep working with what is left: a scope taken away stops being granted by them at once, new sites apply at once, a new lifetime applies to tokens issued from now on. A revoked client cannot be changed (409).',
        params: ClientParams,
        body: ClientChange,
        response: { 200: One, 400: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return { client: await clients.update(request.params.id, request.body, principalOf(request)) };
      } catch (error) {
        return sendAccountError(reply, error);
      }
    },
  );

  routes.delete('/integration-clients/:id', { config: manage, schema: { params: ClientParams, response: { 200: One, 400: ErrorWithIssues, 404: ErrorWithIssues } } }, async (request, reply) => {
    try {
      return { client: await clients.revoke(request.params.id, principalOf(request)) };
    } catch (error) {
      return sendAccountError(reply, error);
    }
  });

  routes.post(
    '/integration-clients/:id/secret',
    {
      config: manage,
      schema: {
        params: ClientParams,
        body: Rotation,
        response: { 200: WithSecret.extend({ tokensRevoked: z.number().int() }), 400: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        return await clients.rotateSecret(request.params.id, { revokeTokens: request.body?.revokeTokens ?? true }, principalOf(request));
      } catch (error) {
        return sendAccountError(reply, error);
      }
    },
  );
};
