import fastifySwagger, { type SwaggerTransform } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyPluginAsync, RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { RoutePermission } from '../auth/permissions.js';

/**
 * OpenAPI for the dashboard: `@fastify/swagger` collects every route registered after it, with its
 * zod schemas turned into JSON Schema by fastify-type-provider-zod's `jsonSchemaTransform`, and
 * `@fastify/swagger-ui` serves the document and a browsable UI at /docs (JSON at /docs/json, YAML
 * at /docs/yaml). The UI's assets come from the npm package, served by this server (no CDN), under
 * the app's CSP (scripts and styles from 'self', images from 'self' and data:) plus, on /docs
 * alone, one inline style allowed by its hash.
 *
 * Each operation says which permission it needs (`x-permission`, and in its description) and
 * the tag of its resource; /docs itself needs a signed-in user or an API token, any role
 * ('authenticated').
 */

/**
 * The hash of the only inline style Swagger UI renders (a `<style>` in its logo SVG, which the
 * fastify logo then replaces); allowed by hash on /docs alone, so that the CSP needs no
 * 'unsafe-inline'. Without it the browser logs a CSP error and nothing visible changes.
 */
const SWAGGER_UI_LOGO_STYLE = 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w=';

/** The permission every /docs route declares: any signed-in user or valid API token. */
export const DOCS_PERMISSION = 'authenticated' as const satisfies RoutePermission;

/** `/api/v1/devices/:id/commands` -> `devices`; `/health` -> `health`. */
function tagOf(url: string): string {
  const parts = url.replace(/^\/api\/v1\//, '/').split('/').filter(Boolean);
  return parts[0] ?? 'root';
}

const transform: SwaggerTransform = (document) => {
  const transformed = jsonSchemaTransform(document);
  // A route without a schema has none to transform.
  const schema = (transformed.schema ?? {}) as Record<string, unknown>;
  if (schema.hide === true) return transformed;
  const permission = document.route.config?.permission;
  const needs =
    permission === 'public' ? 'No sign-in needed.' : permission === 'authenticated' ? 'Needs a signed-in user or an API token (any role).' : `Needs the \`${String(permission)}\` permission.`;
  const description = typeof schema.description === 'string' ? `${schema.description}\n\n${needs}` : needs;
  return {
    url: transformed.url,
    schema: {
      ...schema,
      tags: Array.isArray(schema.tags) ? schema.tags : [tagOf(document.url)],
      description,
      'x-permission': permission ?? null,
      ...(permission === 'public' ? { security: [] } : {}),
    },
  };
};

/**
 * Registers `@fastify/swagger` on the app itself (not encapsulated, like the auth plugin), so that
 * it sees the routes of every plugin registered after it.
 */
const openApiPlugin: FastifyPluginAsync<{ secureCookies: boolean }> = async (app, options) => {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'punchgate dashboard API',
        description:
          'Sites, devices, employees and badges, punches (search and a live feed), accounts and API tokens. Send an API token as `Authorization: Bearer TOKEN`, or sign in (POST /api/v1/session) and send the session cookie and, on changes, its CSRF token in `x-csrf-token`. Every route says which permission it needs; roles are in docs/roles.md.',
        version: 'v1',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API token (created in the console or with POST /api/v1/tokens).' },
          session: { type: 'apiKey', in: 'cookie', name: options.secureCookies ? '__Host-punchgate_session' : 'punchgate_session', description: 'The session cookie from POST /api/v1/session.' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform,
  });
};
Object.assign(openApiPlugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'punchgate-openapi' });

export { openApiPlugin };

/**
 * /docs: the UI, its assets and the document. `@fastify/swagger-ui` adds its routes itself, without
 * a permission, and the app refuses a route without one; so its routes, and only its (this
 * plugin's context), get {@link DOCS_PERMISSION} as they are added. A route that the package adds
 * some other way would still make the app refuse to start, naming it: nothing slips through unguarded.
 */
export const docsRoutes: FastifyPluginAsync = async (app) => {
  const route = app.route;
  // `this` is the context adding the route (the package's own, with its /docs prefix and hooks).
  function routeWithPermission(this: FastifyInstance, options: RouteOptions): FastifyInstance {
    return route.call(this, { ...options, config: { ...options.config, permission: DOCS_PERMISSION } });
  }
  Object.defineProperty(app, 'route', { configurable: true, writable: true, value: routeWithPermission });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true, docExpansion: 'list', persistAuthorization: false, withCredentials: true },
    // No request to validator.swagger.io (no CDN, nothing outside this server).
    validatorUrl: false,
    // For /docs only: the one inline <style> Swagger UI renders (inside its own logo SVG), by hash.
    transformStaticCSP: (header) => header.replace(/(^|;)\s*style-src ([^;]*)/, `$1style-src $2 '${SWAGGER_UI_LOGO_STYLE}'`),
  });
};
