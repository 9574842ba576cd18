import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../auth/index.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import { MAX_PASSWORD_LENGTH, NewPassword } from '../auth/passwords.js';
import { Permission, permissionsOf, Role } from '../auth/permissions.js';
import { SiteScope, toUserView, UserView } from '../auth/users.js';
import { principalOf } from '../auth/auth-plugin.js';
import { sendAccountError } from './account-errors.js';
import { ErrorWithIssues, fieldErrorHandler } from './validation.js';

export interface SessionRoutesOptions {
  auth: Auth;
}

const Credentials = z
  .object({
    username: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(64, 'may be at most 64 characters'),
    password: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(MAX_PASSWORD_LENGTH, `may be at most ${MAX_PASSWORD_LENGTH} characters`),
  })
  .strict();

const SignedIn = z.object({
  user: UserView,
  /** Send it back in the X-CSRF-Token header of every state-changing request made with the cookie. */
  csrfToken: z.string(),
  mustChangePassword: z.boolean(),
  expiresAt: z.string(),
  idleTimeoutSeconds: z.number().int(),
});

const Me = z.object({
  principal: z.object({ kind: z.enum(['user', 'token']), id: z.string(), name: z.string(), role: Role, sites: SiteScope }),
  permissions: z.array(Permission),
  user: UserView.nullable(),
  csrfToken: z.string().nullable(),
  mustChangePassword: z.boolean(),
});

const TooMany = z.object({ error: z.string(), retryAfterSeconds: z.number().int().optional() });

/**
 * /api/v1/session: sign in (a session cookie), who am I, sign out, change my password.
 * See docs/roles.md for the cookie, CSRF and lockout rules.
 */
export const sessionRoutes: FastifyPluginAsync<SessionRoutesOptions> = async (app, options) => {
  const { auth } = options;
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/session',
    {
      config: {
        permission: 'public',
        // Raw attempts per (IP, username), whatever their outcome; the lockout below counts failures.
        rateLimit: {
          max: auth.settings.loginAttemptsPerMinute,
          timeWindow: 60_000,
          hook: 'preHandler',
          keyGenerator: (request) => LoginThrottle.key(request.ip, String((request.body as { username?: unknown } | undefined)?.username ?? '')),
        },
      },
      schema: { body: Credentials, response: { 200: SignedIn, 400: ErrorWithIssues, 401: ErrorWithIssues, 429: TooMany } },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const key = LoginThrottle.key(request.ip, username);
      const locked = auth.throttle.lockedFor(key);
      if (locked > 0) {
        const retryAfterSeconds = Math.ceil(locked / 1000);
        return reply
          .code(429)
          .header('retry-after', String(retryAfterSeconds))
          .send({ error: `too many wrong passwords for ${username} from this address: try again in ${retryAfterSeconds} s`, retryAfterSeconds });
      }
      const user = await auth.users.authenticate(username, password);
      if (!user) {
        const lock = auth.throttle.failure(key);
        request.log.warn({ username, ip: request.ip, lockedForSeconds: Math.ceil(lock / 1000) }, lock > 0 ? 'sign-in failed; locked' : 'sign-in failed');
        return reply.code(401).send({ error: 'wrong username or password' });
      }
      auth.throttle.success(key);
      // Sessions abandoned without signing out go here (and at start), not one by one.
      await auth.sessions.pruneExpired();
      const { id, session } = await auth.sessions.create(user.id);
      await auth.users.recordLogin(user.id);
      request.log.info({ username: user.username, ip: request.ip }, 'signed in');
      void reply.setCookie(auth.cookie.name, id, auth.cookie.options);
      const fresh = (await auth.users.get(user.id)) ?? user;
      return {
        user: toUserView(fresh),
        csrfToken: session.csrfToken,
        mustChangePassword: fresh.mustChangePassword,
        expiresAt: session.expiresAt,
        idleTimeoutSeconds: Math.floor(auth.sessions.settings.idleMs / 1000),
      };
    },
  );

  routes.get(
    '/session',
    { config: { permission: 'authenticated', allowedBeforePasswordChange: true }, schema: { response: { 200: Me } } },
    async (request) => {
      const principal = principalOf(request);
      const user = principal.kind === 'user' ? await auth.users.get(principal.id) : undefined;
      return {
        principal: { kind: principal.kind, id: principal.id, name: principal.name, role: principal.role, sites: principal.sites === 'all' ? ('all' as const) : [...principal.sites] },
        // A client token's scopes narrow its role: tell it what it may really do.
        permissions: permissionsOf(principal),
        user: user ? toUserView(user) : null,
        csrfToken: request.authSession?.csrfToken ?? null,
        mustChangePassword: request.authSession?.mustChangePassword ?? false,
      };
    },
  );

  routes.delete('/session', { config: { permission: 'authenticated', allowedBeforePasswordChange: true } }, async (request, reply) => {
    // A token has no session: nothing to end (revoke the token to stop it).
    if (request.authSession) {
      await auth.sessions.delete(request.authSession.idHash);
      void reply.clearCookie(auth.cookie.name, { path: '/', secure: auth.cookie.options.secure, httpOnly: true, sameSite: 'strict' });
      request.log.info({ username: principalOf(request).name }, 'signed out');
    }
    return reply.code(204).send();
  });

  routes.post(
    '/session/password',
    {
      config: { permission: 'authenticated', allowedBeforePasswordChange: true },
      schema: {
        body: z.object({ currentPassword: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(MAX_PASSWORD_LENGTH), newPassword: NewPassword }).strict(),
        response: { 200: z.object({ user: UserView }), 400: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.kind !== 'user') return reply.code(400).send({ error: 'an API token has no password; sign in as a user to change one' });
      try {
        const user = await auth.users.changePassword(principal.id, request.body.currentPassword, request.body.newPassword, request.authSession?.idHash, principal);
        return { user };
      } catch (error) {
        return sendAccountError(reply, error);
      }
    },
  );
};
