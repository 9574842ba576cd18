import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Histogram, type Registry } from 'prom-client';
import { z } from 'zod';

/**
 * The dashboard's HTTP side of its metrics (docs/metrics.md): a request latency histogram over
 * every route of the app, and GET /metrics serving the registry.
 */

export interface MetricsHttpOptions {
  registry: Registry;
}

/** The methods Fastify routes; anything else (a 404 for an odd verb) is counted as `other`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Label of requests that matched no route: the raw URL would let any client make new series. */
export const UNMATCHED_ROUTE = 'unmatched';

/** From a quick 200 to a large export or a report; a live feed's stream counts when it ends. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * `punchgate_dashboard_http_request_duration_seconds{method, route, status_code}`: observed at
 * onResponse for every request of the app. `route` is the route's pattern (`/api/v1/devices/:id`),
 * never the URL, so the series are bounded by the route table times the status codes answered.
 * Registered without encapsulation (like the auth plugin), so its hook covers every route.
 */
const httpMetricsPlugin: FastifyPluginAsync<MetricsHttpOptions> = async (app, options) => {
  const duration = new Histogram({
    name: 'punchgate_dashboard_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern (unmatched: no route) and status code, with the time from receiving the request to the end of the response',
    labelNames: ['method', 'route', 'status_code'],
    buckets: BUCKETS,
    registers: [options.registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: METHODS.has(request.method) ? request.method : 'other',
        route: request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE),
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
};
Object.assign(httpMetricsPlugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'punchgate-http-metrics' });

/**
 * GET /metrics: the registry in Prometheus' text format. Not public: it names every device and
 * site and shows the traffic of every route, so it needs `metrics:read` (admin and facilities,
 * and an integration client given only that scope: a Prometheus server's `oauth2` scrape config).
 */
const metricsRoutes: FastifyPluginAsync<MetricsHttpOptions> = async (app, options) => {
  const { registry } = options;
  app.withTypeProvider<ZodTypeProvider>().get(
    '/metrics',
    {
      config: { permission: 'metrics:read' },
      schema: {
        summary: 'Prometheus metrics: ingest, acks, config pushes, devices online/offline/behind, HTTP latency',
        description:
          'The Prometheus text exposition format (version 0.0.4). Every metric, its labels and example queries are in docs/metrics.md. Scrape it with an API token, or as an integration client given only the `metrics:read` scope (Prometheus\' `oauth2` scrape settings use the client-credentials token endpoint, POST /api/v1/oauth/token).',
        response: { 200: { description: 'The metrics', content: { 'text/plain': { schema: z.string() } } } },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};

export { httpMetricsPlugin, metricsRoutes };
