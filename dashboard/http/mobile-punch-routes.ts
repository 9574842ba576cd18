import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Punch } from '../../core/punch.js';
import { principalOf } from '../auth/auth-plugin.js';
import { reachesSite } from '../auth/permissions.js';
import { MobilePunchRequest, VerdictView, type MobilePunchDesk } from '../mobile/mobile-punch-desk.js';
import { ErrorWithIssues, fieldErrorHandler } from './validation.js';

export interface MobilePunchRoutesOptions {
  mobilePunches: MobilePunchDesk;
}

const PunchAccepted = z.object({
  accepted: z.literal(true),
  /** True when this punch id was accepted before and this is the stored result again. */
  duplicate: z.boolean(),
  punch: Punch,
  verdict: VerdictView,
});

const PunchRefused = z.object({ accepted: z.literal(false), verdict: VerdictView });

/** POST /api/v1/mobile-punches: see docs/mobile-punches.md. */
export const mobilePunchRoutes: FastifyPluginAsync<MobilePunchRoutesOptions> = async (app, options) => {
  app.setErrorHandler(fieldErrorHandler);
  app.withTypeProvider<ZodTypeProvider>().post(
    '/mobile-punches',
    {
      config: { permission: 'mobile-punches:create' },
      schema: {
        body: MobilePunchRequest,
        response: { 200: PunchAccepted, 201: PunchAccepted, 400: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues, 422: PunchRefused },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      // A token limited to some sites punches only at those (and cannot tell whether others exist).
      if (!reachesSite(principal, request.body.siteId)) {
        return reply.code(404).send({ error: `site ${request.body.siteId} is not one of the sites this ${principal.kind} reaches` });
      }
      const outcome = await options.mobilePunches.submit(request.body);
      switch (outcome.kind) {
        case 'accepted':
          return reply.code(201).send({ accepted: true, duplicate: false, punch: outcome.punch, verdict: outcome.verdict });
        case 'duplicate':
          return reply.code(200).send({ accepted: true, duplicate: true, punch: outcome.punch, verdict: outcome.verdict });
        case 'refused':
          return reply.code(422).send({ accepted: false, verdict: outcome.verdict });
        case 'unknown-site':
          return reply.code(404).send({ error: `site ${request.body.siteId} does not exist; register it with PUT /api/v1/sites/${request.body.siteId}` });
        case 'id-conflict':
          return reply.code(409).send({ error: `punch id ${request.body.id} is already used by another punch; make a new id for each punch` });
      }
    },
  );
};
