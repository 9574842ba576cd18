import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/auth-plugin.js';
import type { DeviceRepository } from '../db/device-repository.js';
import type { PunchRepository } from '../db/punch-repository.js';
import type { SiteRepository } from '../db/site-repository.js';
import { buildOverview, Overview } from '../live/overview.js';
import { ErrorWithIssues, fieldErrorHandler } from './validation.js';

export interface OverviewRoutesOptions {
  devices: DeviceRepository;
  sites: SiteRepository;
  punches: PunchRepository;
  now: () => Date;
}

/** GET /api/v1/overview: devices online/offline and wanting attention, today's punches per site, the latest punches. */
export const overviewRoutes: FastifyPluginAsync<OverviewRoutesOptions> = async (app, options) => {
  app.setErrorHandler(fieldErrorHandler);
  app.withTypeProvider<ZodTypeProvider>().get(
    '/overview',
    {
      config: { permission: 'overview:read' },
      schema: {
        summary: 'Devices online/offline, devices wanting attention, today\'s punches per site, the latest punches',
        description:
          'Within the sites the principal reaches. A device wants attention when it is offline (or never connected), has a backlog (unsent punches), is behind (its oldest unsent punch is older than `behindMinutes`), has an unsynced clock, a pending or refused config, a faulty reader or an alarm; offline and behind devices come first. Today is each site\'s own calendar day in its time zone.',
        querystring: z
          .object({
            recent: z.coerce.number().int().min(0).max(200).default(20),
            behindMinutes: z.coerce.number().int().min(1).max(24 * 60).default(10),
            attentionLimit: z.coerce.number().int().min(1).max(1000).default(100),
          })
          .strict(),
        response: { 200: Overview, 400: ErrorWithIssues },
      },
    },
    async (request) => buildOverview(options, principalOf(request), request.query),
  );
};
