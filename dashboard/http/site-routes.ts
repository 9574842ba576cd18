import { CursorError } from '../db/keyset-cursor.js';
import type { FastifyPluginAsync, preValidationHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BeaconRegistration, BeaconRegistrations } from '../../core/beacon/beacon-registry.js';
import { factorsOf, SiteLocationPolicy } from '../../core/location/index.js';
import { SiteLanguages } from '../../core/config-snapshot.js';
import { EntityId } from '../../core/punch.js';
import { DEFAULT_TIME_ZONE, TimeZone } from '../../core/time.js';
import type { AuditLog } from '../auth/audit.js';
import { principalOf } from '../auth/auth-plugin.js';
import { reachesSite, siteFilter } from '../auth/permissions.js';
import {
  BeaconAmbiguousError,
  BeaconKeyConflictError,
  BeaconKeyInUseError,
  BeaconLimitError,
  BeaconNotFoundError,
  BeaconView,
  HANDS_FREE_OFF,
  LastBleBeaconError,
  MAX_SITE_BEACONS,
  SiteHandsFree,
  SiteNotFoundError,
  SiteView,
  toBeaconView,
  toSiteView,
  type SiteRepository,
} from '../db/site-repository.js';
import { ErrorWithIssues, fieldErrorHandler, invalid, type FieldIssue } from './validation.js';

export interface SiteRoutesOptions {
  sites: SiteRepository;
  audit: AuditLog;
  now: () => Date;
}

export { MAX_SITE_BEACONS };

const SiteParams = z.object({ siteId: EntityId }).strict();
const BeaconParams = z
  .object({
    siteId: EntityId,
    beaconId: z
      .string()
      .regex(/^(?:(?:eid|ibm)-[0-9A-Fa-f]{16}|sha256:[0-9A-Fa-f]{16})$/i, 'must be a beacon id (eid-… or ibm-… and 16 hex digits) or a key fingerprint (sha256: and 16 hex digits)'),
  })
  .strict();

/** Control characters other than tabs and line breaks: never part of an address. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** A postal address: a line or a few, trimmed. */
const addressText = (field: string) =>
  z
    .string({ error: `${field} must be a string or null` })
    .trim()
    .min(1, `${field} must not be empty; leave it out or send null`)
    .max(300, `${field} may be at most 300 characters`)
    .refine((text) => !CONTROL_CHARACTERS.test(text), `${field} must not hold control characters (line breaks are fine)`)
    .nullable()
    .optional();

/**
 * The body of `PUT /sites/:siteId`: the whole site. `policy.siteId` and each beacon's `siteId`
 * may be left out: they are the site's id. `address`, `addressZh` left out are cleared and
 * `handsFree` left out is off, as any field of a replaced document; `beacons` alone is different:
 * left out, the site's stored beacons are kept (a console that only ever sees key fingerprints
 * cannot send them back; it adds and removes beacons one at a time instead); `[]` removes them.
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
    address: addressText('address'),
    addressZh: addressText('addressZh'),
    timeZone: TimeZone.default(DEFAULT_TIME_ZONE),
    policy: SiteLocationPolicy,
    /** Hands-free punching with staff BLE tags at the site's gateways; off when left out. */
    handsFree: SiteHandsFree.optional(),
    /** The kiosk screens' languages, in order (`en`, `zh-HK`); left out or null: both at once, English first. */
    languages: SiteLanguages.nullable().optional(),
    beacons: z
      .array(z.unknown(), { error: 'beacons must be a list' })
      .max(MAX_SITE_BEACONS, `a site may register at most ${MAX_SITE_BEACONS} beacons`)
      .pipe(BeaconRegistrations)
      .optional(),
  })
  .strict();

const SiteWritten = z.object({ site: SiteView, created: z.boolean(), warnings: z.array(z.string()) });
const BeaconAdded = z.object({ site: SiteView, beacon: BeaconView, warnings: z.array(z.string()) });
const BeaconRemoved = z.object({ site: SiteView, removed: z.array(BeaconView) });

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

/** Fills in the site id (from the path) of the one beacon `POST /sites/:siteId/beacons` adds, where left out. */
const fillBeaconSiteId: preValidationHookHandler = async (request) => {
  const siteId = (request.params as { siteId?: unknown }).siteId;
  const body = request.body;
  if (typeof siteId === 'string' && isPlainObject(body) && !('siteId' in body)) body.siteId = siteId;
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
 * /api/v1/sites: create or replace, read, list; add and remove one beacon at a time. Beacon keys
 * go in, only their fingerprints (and the beacon's id) come out. A site-scoped principal sees only
 * its sites; any other site is answered as unknown (404). Every change is audited in its own
 * transaction.
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
          {
            id: siteId,
            name: body.name,
            nameZh: body.nameZh ?? null,
            address: body.address ?? null,
            addressZh: body.addressZh ?? null,
            timeZone: body.timeZone,
            policy: body.policy,
            handsFree: body.handsFree ?? { ...HANDS_FREE_OFF },
            languages: body.languages ?? null,
            beacons: body.beacons,
          },
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

  routes.post(
    '/sites/:siteId/beacons',
    {
      config: { permission: 'sites:write' },
      preValidation: fillBeaconSiteId,
      schema: {
        summary: "Register one more beacon at a site; the site's other beacons stay as they are",
        description:
          'The key (identityKey of an EID beacon, siteKey of the rotating iBeacon) is given here once and never returned: answers show its fingerprint and the id the beacon is removed by. 409 when any registered beacon, at this site or another, already uses the key.',
        params: SiteParams,
        body: BeaconRegistration,
        response: { 201: BeaconAdded, 400: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const { siteId } = request.params;
      const principal = principalOf(request);
      if (!reachesSite(principal, siteId)) return reply.code(404).send({ error: `site ${siteId} does not exist` });
      const beacon = request.body;
      if (beacon.siteId !== siteId) return reply.code(400).send(invalid([{ in: 'body', field: 'siteId', message: `must be this site's id "${siteId}" (or left out)` }]));
      try {
        const { site } = await options.sites.addBeacon(siteId, beacon, options.now(), async ({ beacon: added }) => {
          // The audit row in the write's transaction; the key never reaches it (the API's view only).
          await options.audit.record({ actor: principal, action: 'site.beacon-add', entity: 'site', entityId: siteId, before: null, after: toBeaconView(added) });
        });
        const warnings = sharedMajorWarnings(siteId, [beacon], (await options.sites.allBeacons()).beacons);
        return reply.code(201).send({ site: toSiteView(site), beacon: toBeaconView(beacon), warnings });
      } catch (error) {
        if (error instanceof SiteNotFoundError) return reply.code(404).send({ error: error.message });
        if (error instanceof BeaconKeyInUseError) return reply.code(409).send(invalid([{ in: 'body', field: error.field, message: error.message }]));
        if (error instanceof BeaconLimitError) return reply.code(409).send({ error: error.message });
        throw error;
      }
    },
  );

  routes.delete(
    '/sites/:siteId/beacons/:beaconId',
    {
      config: { permission: 'sites:write' },
      schema: {
        summary: "Remove one beacon from a site, by its id or its key's fingerprint",
        description:
          "The site's other beacons stay. 409 when the beacon is the site's last and its location rule counts BLE, or when a fingerprint names several beacons (use the id).",
        params: BeaconParams,
        response: { 200: BeaconRemoved, 400: ErrorWithIssues, 404: ErrorWithIssues, 409: ErrorWithIssues },
      },
    },
    async (request, reply) => {
      const { siteId, beaconId } = request.params;
      const principal = principalOf(request);
      if (!reachesSite(principal, siteId)) return reply.code(404).send({ error: `site ${siteId} does not exist` });
      try {
        const { site, removed } = await options.sites.removeBeacon(siteId, beaconId, options.now(), async ({ removed: gone }) => {
          const views = gone.map(toBeaconView);
          await options.audit.record({ actor: principal, action: 'site.beacon-remove', entity: 'site', entityId: siteId, before: views.length === 1 ? views[0] : views, after: null });
        });
        return { site: toSiteView(site), removed: removed.map(toBeaconView) };
      } catch (error) {
        if (error instanceof SiteNotFoundError || error instanceof BeaconNotFoundError) return reply.code(404).send({ error: error.message });
        if (error instanceof BeaconAmbiguousError || error instanceof LastBleBeaconError) {
          return reply.code(409).send(invalid([{ in: 'params', field: 'beaconId', message: error.message }]));
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
        if (error instanceof CursorError) return reply.code(400).send(invalid([{ in: 'querystring', field: 'cursor', message: error.message }]));
        throw error;
      }
    },
  );
};
