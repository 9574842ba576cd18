import type { FastifyPluginAsync, preValidationHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BeaconRegistrations, type BeaconRegistration } from '../../core/beacon/beacon-registry.js';
import { factorsOf, SiteLocationPolicy } from '../../core/location/index.js';
import { EntityId } from '../../core/punch.js';
import { DEFAULT_TIME_ZONE, TimeZone } from '../../core/time.js';
import type { AuditLog } from '../auth/audit.js';
import { principalOf } from '../auth/auth-plugin.js';
import { reachesSite, siteFilter } from '../auth/permissions.js';
import { BeaconKeyConflictError, SiteCursorError, SiteView, toSiteView, type SiteRepository } from '../db/site-repository.js';
import { ErrorWithIssues, fieldErrorHandler, invalid, type FieldIssue } from './validation.js';

export interface SiteRoutesOptions {
  sites: SiteRepository;
  audit: AuditLog;
  now: () => Date;
}

/** Beacons one site may register (a site has a few gateways, each with one EID beacon, plus its iBeacon). */
export const MAX_SITE_BEACONS = 64;

const SiteParams = z.object({ siteId: EntityId }).strict();

/**
 * The body of `PUT /sites/:siteId`. `policy.siteId` and each beacon's `siteId` may be left out:
 * they are the site's id. `beacons` left out keeps the site's stored beacons (so a console that
 * only ever sees key fingerprints can still rename a site); `[]` removes them.
 */
export const SiteBody = z
  .object({
    name: z.string({ error: 'name must be a string' }).trim().min(1, 'name must not be empty').max(120, 'name may be at most 120 characters'),
    nameZh: z
      .string({ error: 'nameZh must be a string (the Traditional Chinese name) or null' })
      .trim()
      .min(1, 'nameZh must not be empty; leave it out or send null')
      .max(120, 'nameZh may be at most 120 characters')
      .nullable()
      .optional(),
    timeZone: TimeZone.default(DEFAULT_TIME_ZONE),
    policy: SiteLocationPolicy,
    beacons: z
      .array(z.unknown(), { error: 'beacons must be a list' })
      .max(MAX_SITE_BEACONS, `a site may register at most ${MAX_SITE_BEACONS} beacons`)
      .pipe(BeaconRegistrations)
      .optional(),
  })
  .strict();

const SiteWritten = z.object({ site: SiteView, created: z.boolean(), warnings: z.array(z.string()) });

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fills in the site id (from the path) where the body leaves it out, before the schema runs. */
const fillSiteIds: preValidationHookHandler = async (request) => {
  const siteId = (request.params as { siteId?: unknown }).siteId;
  const body = request.body;
  if (typeof siteId !== 'string' || !isPlainObject(body)) return;
  if (isPlainObject(body.policy) && !('siteId' in body.policy)) body.policy.siteId = siteId;
  if (Array.isArray(body.beacons)) {
    for (const beacon of body.beacons) if (isPlainObject(beacon) && !('siteId' in beacon)) beacon.siteId = siteId;
  }
};

/** Beacons of other sites sharing an iBeacon uuid+major with these: their minors will collide now and then. */
function sharedMajorWarnings(siteId: string, beacons: readonly BeaconRegistration[], others: readonly BeaconRegistration[]): string[] {
  const warnings: string[] = [];
  for (const beacon of beacons) {
    if (beacon.kind !== 'ibeacon-minor') continue;
    const sharing = [...new Set(others.filter((o) => o.kind === 'ibeacon-minor' && o.siteId !== siteId && o.uuid === beacon.uuid && o.major === beacon.major).map((o) => o.siteId))];
    if (sharing.length > 0) {
      warnings.push(
        `iBeacon ${beacon.uuid} major ${beacon.major} is also used by site ${sharing.join(', ')}: their rotating minors will collide now and then and such sightings count for neither site; give each site its own major`,
      );
    }
  }
  return warnings;
}

/**
 * /api/v1/sites: create or replace, read, list. Beacon keys go in, only their fingerprints come
 * out. A site-scoped principal sees only its sites; any other site is answered as unknown (404).
 */
export const siteRoutes: FastifyPluginAsync<SiteRoutesOptions> = async (app, options) => {
  app.setErrorHandler(fieldErrorHandler);
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.put(
    '/sites/:siteId',
    {
      config: { permission: 'sites:write' },
      preValidation: fillSiteIds,
      schema: {
        params: SiteParams,
        body: SiteBody,
        response: { 200: SiteWritten, 201: SiteWritten, 400: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const { siteId } = request.params;
      const principal = principalOf(request);
      if (!reachesSite(principal, siteId)) return reply.code(404).send({ error: `site ${siteId} is not one of the sites this ${principal.kind} reaches` });
      const body = request.body;
      const issues: FieldIssue[] = [];
      if (body.policy.siteId !== siteId) {
        issues.push({ in: 'body', field: 'policy.siteId', message: `must be this site's id "${siteId}" (or left out)` });
      }
      body.beacons?.forEach((beacon, index) => {
        if (beacon.siteId !== siteId) issues.push({ in: 'body', field: `beacons[${index}].siteId`, message: `must be this site's id "${siteId}" (or left out)` });
      });
      const all = await options.sites.allBeacons();
      const beacons = body.beacons ?? all.beacons.filter((beacon) => beacon.siteId === siteId);
      if (factorsOf(body.policy.accept).includes('ble') && beacons.length === 0) {
        issues.push({ in: 'body', field: 'beacons', message: 'the rule counts BLE, so register at least one beacon' });
      }
      if (issues.length > 0) return reply.code(400).send(invalid(issues));

      try {
        const { site, created } = await options.sites.put(
          { id: siteId, name: body.name, nameZh: body.nameZh ?? null, timeZone: body.timeZone, policy: body.policy, beacons: body.beacons },
          options.now(),
          // The audit row in the write's transaction; beacon keys never reach it (the API's view only).
          async ({ before, after }) => {
            await options.audit.record({
              actor: principal,
              action: 'site.put',
              entity: 'site',
              entityId: siteId,
              before: before ? toSiteView(before) : null,
              after: toSiteView(after),
            });
          },
        );
        const warnings = sharedMajorWarnings(siteId, site.beacons, all.beacons);
        return reply.code(created ? 201 : 200).send({ site: toSiteView(site), created, warnings });
      } catch (error) {
        if (error instanceof BeaconKeyConflictError) {
          return reply.code(409).send(
            invalid(
              error.conflicts.map((c) => ({
                in: 'body',
                field: `beacons[${c.index}].${c.field}`,
                message: `already used by a beacon of site ${c.otherSiteId}; each EID beacon needs its own key`,
              })),
            ),
          );
        }
        throw error;
      }
    },
  );

  routes.get(
    '/sites/:siteId',
    { config: { permission: 'sites:read' }, schema: { params: SiteParams, response: { 200: z.object({ site: SiteView }), 400: ErrorWithIssues, 404: ErrorWithIssues } } },
    async (request, reply) => {
      const site = reachesSite(principalOf(request), request.params.siteId) ? await options.sites.get(request.params.siteId) : undefined;
      if (!site) return reply.code(404).send({ error: `site ${request.params.siteId} does not exist` });
      return { site: toSiteView(site) };
    },
  );

  routes.get(
    '/sites',
    {
      config: { permission: 'sites:read' },
      schema: {
        querystring: z
          .object({ limit: z.coerce.number().int().min(1).max(500).default(100), cursor: z.string().max(512).optional() })
          .strict(),
        response: { 200: z.object({ sites: z.array(SiteView), nextCursor: z.string().nullable() }), 400: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      try {
        const ids = siteFilter(principalOf(request));
        const page = await options.sites.list(ids ? { ...request.query, ids } : request.query);
        return { sites: page.sites.map(toSiteView), nextCursor: page.nextCursor };
      } catch (error) {
        if (error instanceof SiteCursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );
};
