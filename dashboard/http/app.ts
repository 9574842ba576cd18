import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { authPlugin } from '../auth/auth-plugin.js';
import type { Auth } from '../auth/index.js';
import { apiRoutes, type ApiRoutesOptions } from './api-routes.js';
import { attendanceRoutes, type AttendanceRoutesOptions } from './attendance-routes.js';
import { auditRoutes } from './audit-routes.js';
import { leaveRoutes, type LeaveRoutesOptions } from './leave-routes.js';
import { makeupRoutes, type MakeupRoutesOptions } from './makeup-routes.js';
import { reportRoutes, type ReportRoutesOptions } from './report-routes.js';
import { deviceRoutes } from './device-routes.js';
import { departmentRoutes, type DepartmentRoutesOptions } from './department-routes.js';
import { employeeImportRoutes, type EmployeeImportRoutesOptions } from './employee-import-routes.js';
import { hrisRoutes, type HrisRoutesOptions } from './hris-routes.js';
import { enrolmentRoutes, type EnrolmentRoutesOptions } from './enrolment-routes.js';
import { docsRoutes, openApiPlugin } from './docs-plugin.js';
import { employeeRoutes, type EmployeeRoutesOptions } from './employee-routes.js';
import { liveRoutes } from './live-routes.js';
import { mobilePunchRoutes, type MobilePunchRoutesOptions } from './mobile-punch-routes.js';
import { notificationRoutes, type NotificationRoutesOptions } from './notification-routes.js';
import { overviewRoutes } from './overview-routes.js';
import { sessionRoutes } from './session-routes.js';
import { siteRoutes, type SiteRoutesOptions } from './site-routes.js';
import { tokenRoutes } from './token-routes.js';
import { integrationClientRoutes } from './integration-client-routes.js';
import { oauthRoutes } from './oauth-routes.js';
import { userRoutes } from './user-routes.js';
import { webPlugin, type WebPluginOptions } from '../web/web-plugin.js';
import { httpMetricsPlugin, metricsRoutes } from '../metrics/metrics-routes.js';

export interface DashboardHttpOptions extends ApiRoutesOptions, SiteRoutesOptions, MobilePunchRoutesOptions, EmployeeRoutesOptions, NotificationRoutesOptions, AttendanceRoutesOptions, LeaveRoutesOptions, MakeupRoutesOptions, ReportRoutesOptions, DepartmentRoutesOptions, EmployeeImportRoutesOptions, HrisRoutesOptions, EnrolmentRoutesOptions, WebPluginOptions {
  auth: Auth;
  logger: Logger;
  health: () => Promise<Record<string, unknown>>;
  /** The Prometheus registry: GET /metrics serves it, and the HTTP latency histogram goes in it (docs/metrics.md). */
  metrics?: Registry;
}

/**
 * Security headers: a CSP that allows only what this server serves itself (no CDN, no inline
 * script or style, no framing), and HSTS when the deployment is https (secure cookies).
 */
function helmetOptions(secure: boolean): Parameters<typeof fastifyHelmet>[1] {
  return {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
      },
    },
    strictTransportSecurity: secure ? { maxAge: 180 * 24 * 60 * 60, includeSubDomains: false } : false,
    referrerPolicy: { policy: 'no-referrer' },
  };
}

/**
 * The dashboard's HTTP app, built like fastify/demo: external plugins (cookies, security headers,
 * rate limits), then the auth plugin (every route declares its permission; principal from a
 * session cookie or a bearer token), then the routes: /health (public) and /api/v1.
 */
export function buildDashboardHttp(options: DashboardHttpOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ part: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  void app.register(fastifyCookie);
  void app.register(fastifyHelmet, helmetOptions(options.auth.settings.secureCookies));
  // Only routes that ask for it (sign-in); 429 as {error} like every other client error.
  void app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => Object.assign(new Error(`too many requests: try again in ${context.after}`), { statusCode: context.statusCode }),
  });
  void app.register(authPlugin, { users: options.auth.users, sessions: options.auth.sessions, tokens: options.auth.tokens, clients: options.auth.clients, cookie: options.auth.cookie });
  // Before any route, so that its latency hook covers all of them.
  if (options.metrics) void app.register(httpMetricsPlugin, { registry: options.metrics });
  // OpenAPI: collects every route registered after it (with its zod schemas); served at /docs.
  void app.register(openApiPlugin, { secureCookies: options.auth.settings.secureCookies });
  void app.register(docsRoutes);

  void app.register(async (root) => {
    root
      .withTypeProvider<ZodTypeProvider>()
      .get('/health', { config: { permission: 'public' }, schema: { response: { 200: z.record(z.string(), z.unknown()) } } }, () => options.health());
  });
  if (options.metrics) void app.register(metricsRoutes, { registry: options.metrics });

  void app.register(
    async (api) => {
      await api.register(sessionRoutes, options);
      await api.register(userRoutes, options);
      await api.register(tokenRoutes, options);
      // Integration clients (console) and their OAuth 2.0 token endpoint (docs/integrations.md).
      await api.register(integrationClientRoutes, options);
      await api.register(oauthRoutes, options);
      await api.register(auditRoutes, options);
      await api.register(apiRoutes, options);
      await api.register(deviceRoutes, options);
      await api.register(enrolmentRoutes, options);
      await api.register(liveRoutes, options);
      await api.register(overviewRoutes, options);
      await api.register(siteRoutes, options);
      await api.register(mobilePunchRoutes, options);
      await api.register(employeeRoutes, options);
      await api.register(departmentRoutes, options);
      await api.register(employeeImportRoutes, options);
      await api.register(hrisRoutes, options);
      await api.register(notificationRoutes, options);
      await api.register(attendanceRoutes, options);
      await api.register(leaveRoutes, options);
      await api.register(makeupRoutes, options);
      await api.register(reportRoutes, options);
    },
    { prefix: '/api/v1' },
  );
  // The web console: its pages, browser code and Leaflet, all served from here (dashboard/web/).
  void app.register(webPlugin, options);
  return app;
}
