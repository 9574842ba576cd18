import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { Punch } from '../../core/punch.js';
import type { Store } from '../store/store.js';
import type { GatewayHealth } from '../health.js';
import { GatewayHealthSchema } from '../health.js';
import type { KioskHub } from '../kiosk/kiosk-hub.js';
import { kioskRoutes } from '../kiosk/kiosk-routes.js';

export interface GatewayHttpOptions {
  store: Store;
  health: () => Promise<GatewayHealth>;
  logger: Logger;
  /** The registry GET /metrics serves (Prometheus text format; see docs/metrics.md). */
  metrics?: Registry;
  /** The kiosk screen's feed: `/kiosk`, its files and its event stream are served when given (docs/kiosk.md). */
  kiosk?: KioskHub;
}

/** The gateway's local HTTP: health for technicians and monitoring, recent punches for the kiosk. */
export function buildGatewayHttp(options: GatewayHttpOptions): FastifyInstance {
  const app = Fastify({ loggerInstance: options.logger.child({ part: 'http' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get('/health', { schema: { response: { 200: GatewayHealthSchema } } }, async () => options.health());

  const metrics = options.metrics;
  if (metrics) {
    // Like /health: on the local HTTP (loopback unless http.host says otherwise), no credentials.
    app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  }

  routes.get(
    '/api/punches',
    {
      schema: {
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) }).strict(),
        response: { 200: z.object({ punches: z.array(Punch) }) },
      },
    },
    async (request) => ({ punches: await options.store.outbox.recent(request.query.limit) }),
  );

  if (options.kiosk) void app.register(kioskRoutes, { hub: options.kiosk });

  return app;
}
