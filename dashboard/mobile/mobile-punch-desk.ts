import type { Logger } from 'pino';
import { z } from 'zod';
import type { BeaconResolution as ResolverAnswer } from '../../core/beacon/resolver.js';
import {
  beaconKey,
  EvidenceSummary,
  LocationFactor,
  MobileEvidence,
  summariseEvidence,
  toResolverObservation,
  verifyEvidence,
  VerdictReason,
  type Verdict,
} from '../../core/location/index.js';
import { EntityId, PunchDirection, type Punch } from '../../core/punch.js';
import type { Database } from '../../platform/sqlite.js';
import { BeaconSightingRepository } from '../db/beacon-sighting-repository.js';
import type { PunchRepository } from '../db/punch-repository.js';
import type { SiteRepository } from '../db/site-repository.js';
import type { CommittedPunchSink } from '../live/punch-feed.js';
import type { BeaconResolvers } from './beacon-resolvers.js';

/**
 * Mobile punches: a phone's punch with location evidence, verified against its site's policy and,
 * when accepted, stored in the same punch table as the gateways' punches (method `mobile`).
 *
 * Time: the phone's clock is not trusted. The punch time, the time beacon ids are checked
 * against and the time GPS fixes are aged against is the server's receipt time.
 */

/** The pseudo device whose `seq` numbers the punches made through the mobile API. Reserved: no gateway may use it. */
export const MOBILE_API_DEVICE_ID = 'mobile-api';

/** A mobile credential uid is the employee id's bytes as hex, and a credential uid holds at most 32 bytes. */
export const MAX_MOBILE_EMPLOYEE_ID_LENGTH = 32;

export const MobilePunchRequest = z
  .object({
    /** Made by the phone (UUIDv7 preferred): the idempotency key. */
    id: z.uuid({ error: 'id must be a UUID made by the phone for this punch' }),
    employeeId: EntityId.max(
      MAX_MOBILE_EMPLOYEE_ID_LENGTH,
      `employee ids longer than ${MAX_MOBILE_EMPLOYEE_ID_LENGTH} characters cannot punch by phone (the mobile credential holds 32 bytes)`,
    ),
    siteId: EntityId,
    /**
     * The phone's own time of the punch. Accepted so that clients may send it, but neither trusted
     * nor stored: the server's receipt time is the punch time.
     */
    at: z.iso.datetime({ offset: true, error: 'at must be an ISO-8601 date-time such as 2026-03-02T01:00:00.000Z' }).optional(),
    direction: PunchDirection.default('auto'),
    evidence: MobileEvidence,
  })
  .strict();
export type MobilePunchRequest = z.output<typeof MobilePunchRequest>;

/** The verdict as the API returns it (no replay keys: they hold beacon ids). */
export const VerdictView = z.object({
  accepted: z.boolean(),
  factorsPassed: z.array(LocationFactor),
  reasons: z.array(VerdictReason),
});
export type VerdictView = z.infer<typeof VerdictView>;

export type MobilePunchOutcome =
  | { kind: 'accepted'; punch: Punch; verdict: VerdictView }
  /** The same punch id was accepted before: the stored punch and its stored verdict. */
  | { kind: 'duplicate'; punch: Punch; verdict: VerdictView }
  | { kind: 'refused'; verdict: VerdictView }
  | { kind: 'unknown-site' }
  /** The id belongs to a stored punch that is not this one (another employee, site or device). */
  | { kind: 'id-conflict' };

export interface MobilePunchDeskOptions {
  db: Database;
  sites: SiteRepository;
  punches: PunchRepository;
  sightings: BeaconSightingRepository;
  resolvers: BeaconResolvers;
  now: () => Date;
  logger: Logger;
  /** Told of each accepted punch right after its commit (the live feed). */
  committed?: CommittedPunchSink;
}

function viewOf(verdict: Pick<Verdict, 'accepted' | 'factorsPassed' | 'reasons'>): VerdictView {
  return { accepted: verdict.accepted, factorsPassed: [...verdict.factorsPassed], reasons: verdict.reasons.map((r) => ({ ...r })) };
}

/** The mobile credential of an employee: `{kind: 'mobile', uid: hex of the id's UTF-8 bytes}`. */
export function mobileCredentialUid(employeeId: string): string {
  return Buffer.from(employeeId, 'utf8').toString('hex').toUpperCase();
}

export class MobilePunchDesk {
  constructor(private readonly options: MobilePunchDeskOptions) {}

  /**
   * Verifies and (when accepted) stores one mobile punch. Everything runs in one transaction, so
   * that the idempotency check, the replay check, the punch and its beacon sightings are one
   * consistent step even when two requests race: the punch and its sightings are committed
   * together or not at all. A refusal writes nothing.
   */
  async submit(request: MobilePunchRequest): Promise<MobilePunchOutcome> {
    const { db, sites, punches, sightings, resolvers, logger } = this.options;
    const receivedAt = this.options.now();
    const outcome = await db.transaction(async (): Promise<MobilePunchOutcome> => {
      const stored = await punches.get(request.id);
      if (stored) return this.#again(stored, request);

      const site = await sites.get(request.siteId);
      if (!site) return { kind: 'unknown-site' };
      const resolver = await resolvers.current();

      const seen = await sightings.seen(request.employeeId, (request.evidence.beacons ?? []).map(beaconKey), receivedAt);
      const matches = new Map<string, Extract<ResolverAnswer, { ok: true }>>();
      const verdict = verifyEvidence({
        policy: site.policy,
        evidence: request.evidence,
        at: receivedAt,
        employeeKey: request.employeeId,
        resolveBeacon: (observation, atUnixSeconds) => {
          const answer = resolver.resolve(toResolverObservation(observation), atUnixSeconds);
          if (answer.ok) matches.set(beaconKey(observation), answer);
          return answer;
        },
        seenBefore: (key) => seen.has(key),
      });
      if (!verdict.accepted) return { kind: 'refused', verdict: viewOf(verdict) };

      const punch: Punch = {
        id: request.id,
        deviceId: MOBILE_API_DEVICE_ID,
        siteId: site.id,
        credential: { kind: 'mobile', uid: mobileCredentialUid(request.employeeId) },
        employeeId: request.employeeId,
        at: receivedAt.toISOString(),
        clock: { synced: true },
        method: 'mobile',
        direction: request.direction,
        seq: await punches.nextServerSeq(MOBILE_API_DEVICE_ID),
        evidence: summariseEvidence(verdict, site.policy, request.evidence),
      };
      await punches.insertInTransaction([punch], receivedAt.toISOString());
      await sightings.recordInTransaction(
        request.employeeId,
        verdict.replayKeys.map((key) => ({ beaconKey: key, expiresAt: expiryOf(matches.get(key), receivedAt) })),
      );
      await sightings.pruneExpiredInTransaction(receivedAt);
      return { kind: 'accepted', punch, verdict: viewOf(verdict) };
    });
    if (outcome.kind === 'accepted' && this.options.committed) {
      // Committed and new (a duplicate is answered as 'duplicate'): the live feed hears of it now.
      try {
        this.options.committed.committed([outcome.punch]);
      } catch (error) {
        logger.warn({ err: error }, 'the live feed failed to take a committed mobile punch');
      }
    }
    if (outcome.kind === 'refused') {
      // No employee id and no evidence in the log: the reason codes are what support needs.
      logger.info({ punchId: request.id, siteId: request.siteId, reasons: outcome.verdict.reasons.map((r) => r.code) }, 'mobile punch refused');
    }
    return outcome;
  }

  /** A punch id seen before: the same punch again gives the stored result; another punch's id is a conflict. */
  #again(stored: Punch, request: MobilePunchRequest): MobilePunchOutcome {
    if (stored.method !== 'mobile' || stored.deviceId !== MOBILE_API_DEVICE_ID || stored.employeeId !== request.employeeId || stored.siteId !== request.siteId) {
      return { kind: 'id-conflict' };
    }
    const summary = EvidenceSummary.safeParse(stored.evidence);
    const verdict = summary.success ? viewOf(summary.data) : { accepted: true, factorsPassed: [], reasons: [] };
    return { kind: 'duplicate', punch: stored, verdict };
  }
}

/**
 * Until when a beacon id must be remembered: the resolver accepts an id while the observation
 * time is within one window of the id's own, so up to the end of the window after it. Without a
 * match (cannot happen for a replay key) a day, the resolver's default look-back.
 */
function expiryOf(match: Extract<ResolverAnswer, { ok: true }> | undefined, receivedAt: Date): Date {
  if (!match) return new Date(receivedAt.getTime() + 86_400_000);
  const period = match.window.endUnix - match.window.startUnix;
  return new Date((match.window.endUnix + period) * 1000);
}
