import { timingSafeEqual } from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { ApiTokenService } from './api-tokens.js';
import { ACCESS_TOKEN_PREFIX, type IntegrationClientService } from './integration-clients.js';
import { allows, RoutePermission, type Principal } from './permissions.js';
import type { SessionStore } from './sessions.js';
import { userPrincipal, type UserService } from './users.js';

/**
 * Who is asking, and may they: resolves `request.principal` from a bearer API token, an
 * integration client's access token (scoped: see `can` in permissions.ts) or a session cookie,
 * then answers
 * - 401 when the route needs someone and nobody (valid) is asking,
 * - 403 `CSRF` for a cookie-authenticated state-changing request without the session's CSRF token,
 * - 403 `PASSWORD_CHANGE_REQUIRED` for a user who must first change a one-time password,
 * - 403 `FORBIDDEN` when the principal's role (or a client token's scopes) lacks the route's permission.
 *
 * Every route must declare `config.permission` (see permissions.ts): a route without one makes
 * the app refuse to start (the onRoute check below), and should one slip past that (a route added
 * before this plugin), the request hook refuses it with 403. Registered without encapsulation
 * (like fastify-plugin does), so its hooks cover every route of the app.
 */

export interface AuthPluginOptions {
  users: UserService;
  sessions: SessionStore;
  tokens: ApiTokenService;
  /** Integration clients' access tokens (`pga_…`), scoped principals; left out, such tokens are refused. */
  clients?: IntegrationClientService;
  cookie: SessionCookie;
}

/** What the auth plugin knows about a cookie session, for the session routes (sign out, CSRF token). */
export interface AuthSession {
  idHash: string;
  csrfToken: string;
  mustChangePassword: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin when the principal came from a session cookie. */
    authSession?: AuthSession;
  }
  interface FastifyInstance {
    /**
     * The request's principal as its credential stands now (signed out, revoked, disabled or
     * waiting for a password change: undefined). For answers that outlive their request.
     */
    principalNow(request: FastifyRequest): Promise<Principal | undefined>;
  }
}

/** The header a cookie-authenticated state-changing request must carry: the session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';

export interface SessionCookie {
  name: string;
  options: CookieSerializeOptions;
}

/**
 * The session cookie: http-only, SameSite=Strict, path /. With `secure` (the default; turn it off
 * only for plain http on localhost or in development) also Secure and named with the `__Host-`
 * prefix, which browsers accept only from a secure origin, without Domain, for path /.
 */
export function sessionCookie(secure: boolean, lifetimeMs: number): SessionCookie {
  return {
    name: secure ? '__Host-punchgate_session' : 'punchgate_session',
    options: { httpOnly: true, secure, sameSite: 'strict', path: '/', maxAge: Math.floor(lifetimeMs / 1000) },
  };
}

export class RoutePermissionError extends Error {
  override name = 'RoutePermissionError';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function checkDeclared(route: RouteOptions): void {
  const declared: unknown = route.config?.permission;
  if (!RoutePermission.safeParse(declared).success) {
    const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
    throw new RoutePermissionError(
      declared === undefined
        ? `route ${methods} ${route.url} declares no permission: add config: { permission: '<resource>:<action>' } (or 'authenticated' / 'public'); see dashboard/auth/permissions.ts`
        : `route ${methods} ${route.url} declares an unknown permission ${JSON.stringify(declared)}; see dashboard/auth/permissions.ts`,
    );
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function deny(reply: FastifyReply, status: 401 | 403, code: string, error: string): Promise<FastifyReply> {
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  // Serialised here, not by the route's response schema (which may not know `code`, or 401 at all).
  return reply.code(status).type('application/json; charset=utf-8').serializer(JSON.stringify).send({ error, code });
}

const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app, options) => {
  if (!app.hasRequestDecorator('cookies')) throw new Error('register @fastify/cookie before the auth plugin');
  app.decorateRequest('principal', undefined);
  app.decorateRequest('authSession', undefined);

  app.addHook('onRoute', checkDeclared);

  /** Bearer token first (an integration), else the session cookie (a browser); reads only. */
  async function credentialsOf(request: FastifyRequest): Promise<{ principal: Principal; session?: AuthSession } | 'bad-token' | 'stale-cookie' | 'none'> {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer +([^\s]+) *$/i.exec(header);
      const secret = match?.[1];
      const principal = !secret
        ? undefined
        : secret.startsWith(ACCESS_TOKEN_PREFIX)
          ? await options.clients?.resolveAccessToken(secret)
          : await options.tokens.resolve(secret);
      return principal ? { principal } : 'bad-token';
    }
    const cookie = request.cookies[options.cookie.name];
    if (cookie === undefined) return 'none';
    const session = await options.sessions.resolve(cookie);
    const user = session ? await options.users.get(session.userId) : undefined;
    if (!session || !user || user.disabled) return 'stale-cookie';
    return { principal: userPrincipal(user), session: { idHash: session.idHash, csrfToken: session.csrfToken, mustChangePassword: user.mustChangePassword } };
  }

  async function identify(request: FastifyRequest, reply: FastifyReply): Promise<'ok' | 'bad-token' | 'none'> {
    const found = await credentialsOf(request);
    if (found === 'stale-cookie') {
      // An expired or unknown session: tell the browser to forget it.
      void reply.clearCookie(options.cookie.name, { path: '/', secure: options.cookie.options.secure, httpOnly: true, sameSite: 'strict' });
      return 'none';
    }
    if (typeof found === 'string') return found;
    request.principal = found.principal;
    if (found.session) request.authSession = found.session;
    return 'ok';
  }

  // For responses that outlive the request (the live feed): is the credential still good, and for whom?
  app.decorate('principalNow', async (request: FastifyRequest): Promise<Principal | undefined> => {
    const found = await credentialsOf(request);
    if (typeof found === 'string' || found.session?.mustChangePassword) return undefined;
    return found.principal;
  });

  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return;
    const declared = RoutePermission.safeParse(request.routeOptions.config.permission);
    if (!declared.success) return deny(reply, 403, 'NO_PERMISSION_DECLARED', 'this route declares no permission, so nobody may call it');
    const permission = declared.data;
    if (permission === 'public') return;

    const identified = await identify(request, reply);
    if (identified === 'bad-token') return deny(reply, 401, 'INVALID_TOKEN', 'the API token is not valid (unknown, expired or revoked)');
    const principal: Principal | undefined = request.principal;
    if (!principal) return deny(reply, 401, 'UNAUTHENTICATED', 'sign in (POST /api/v1/session) or send an API token (Authorization: Bearer TOKEN)');

    const session = request.authSession;
    if (session) {
      if (!SAFE_METHODS.has(request.method)) {
        const given = request.headers[CSRF_HEADER];
        if (typeof given !== 'string' || !sameSecret(given, session.csrfToken)) {
          return deny(reply, 403, 'CSRF', `a signed-in browser must send the session's CSRF token in the ${CSRF_HEADER} header (from POST or GET /api/v1/session)`);
        }
      }
      if (session.mustChangePassword && request.routeOptions.config.allowedBeforePasswordChange !== true) {
        return deny(reply, 403, 'PASSWORD_CHANGE_REQUIRED', 'change the one-time password first (POST /api/v1/session/password)');
      }
    }
    if (!allows(principal, permission)) {
      const lacking = principal.scopes ? `which this token's scopes (${principal.scopes.join(' ') || 'none'}) do not include` : `which the ${principal.role} role does not have`;
      return deny(reply, 403, 'FORBIDDEN', `this needs the ${permission} permission, ${lacking}`);
    }
    return undefined;
  });
};

// Like fastify-plugin: the hooks belong to the parent (the whole app), not to a child context.
Object.assign(authPlugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'punchgate-auth' });

export { authPlugin };

/** The principal of a request that passed the auth hook on a protected route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`no principal on ${request.method} ${request.url}: is the route public?`);
  return request.principal;
}
