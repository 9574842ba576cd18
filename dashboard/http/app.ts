import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import { apiRoutes, type ApiRoutesOptions } from './api-routes.js';
import { mobilePunchRoutes, type MobilePunchRoutesOptions } from './mobile-punch-routes.js';
import { siteRoutes, type SiteRoutesOptions } from './site-routes.js';

export interface DashboardHttpOptions extends ApiRoutesOptions, SiteRoutesOptions, MobilePunchRoutesOptions {
  apiToken: string;
  logger: Logger;
  health: () => Promise<Record<string, unknown>>;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The dashboard's HTTP app: /health for monitoring, /api/v1 behind a bearer token. */
export function buildDashboardHttp(options: DashboardHttpOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ part: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.withTypeProvider<ZodTypeProvider>().get('/health', { schema: { response: { 200: z.record(z.string(), z.unknown()) } } }, () => options.health());

  void app.register(
    async (api) => {
      api.addHook('onRequest', async (request, reply) => {
        if (!tokenMatches(request.headers.authorization, options.apiToken)) {
          await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'a valid API token is required (Authorization: Bearer TOKEN)' });
        }
      });
      await api.register(apiRoutes, options);
      await api.register(siteRoutes, options);
      await api.register(mobilePunchRoutes, options);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
