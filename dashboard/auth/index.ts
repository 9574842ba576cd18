import type { Database } from '../../platform/sqlite.js';
import { ApiTokenService } from './api-tokens.js';
import { AuditLog } from './audit.js';
import { sessionCookie, type SessionCookie } from './auth-plugin.js';
import { IntegrationClientService } from './integration-clients.js';
import { defaultLoginThrottleSettings, LoginThrottle, type LoginThrottleSettings } from './login-throttle.js';
import { SessionStore } from './sessions.js';
import { UserService } from './users.js';

/** Accounts and access, built from the central database: what server.ts wires and the routes use. */
export interface Auth {
  audit: AuditLog;
  users: UserService;
  sessions: SessionStore;
  tokens: ApiTokenService;
  /** OAuth 2.0 client-credentials clients and their access tokens (docs/integrations.md). */
  clients: IntegrationClientService;
  throttle: LoginThrottle;
  cookie: SessionCookie;
  settings: AuthSettings;
}

export interface AuthSettings {
  /** Secure (https-only) session cookies; off only for plain http on localhost or in development. */
  secureCookies: boolean;
  sessionLifetimeMs: number;
  sessionIdleMs: number;
  throttle: LoginThrottleSettings;
  /** Raw sign-in attempts per (IP, username) per minute, whatever their outcome (@fastify/rate-limit). */
  loginAttemptsPerMinute: number;
}

export const defaultAuthSettings: AuthSettings = {
  secureCookies: true,
  sessionLifetimeMs: 12 * 60 * 60_000,
  sessionIdleMs: 30 * 60_000,
  throttle: defaultLoginThrottleSettings,
  loginAttemptsPerMinute: 20,
};

export function createAuth(db: Database, options: { now: () => Date; bootstrapToken?: string; settings?: AuthSettings }): Auth {
  const settings = options.settings ?? defaultAuthSettings;
  const audit = new AuditLog(db, options.now);
  return {
    audit,
    users: new UserService(db, audit, options.now),
    sessions: new SessionStore(db, { lifetimeMs: settings.sessionLifetimeMs, idleMs: settings.sessionIdleMs }, options.now),
    tokens: new ApiTokenService(db, audit, options.now, options.bootstrapToken),
    clients: new IntegrationClientService(db, audit, options.now),
    throttle: new LoginThrottle(settings.throttle, options.now),
    cookie: sessionCookie(settings.secureCookies, settings.sessionLifetimeMs),
    settings,
  };
}

export { authPlugin, principalOf, CSRF_HEADER } from './auth-plugin.js';
export type { AuditActor, AuditInput } from './audit.js';
export { SYSTEM_ACTOR } from './audit.js';
