import { z } from 'zod';
import { EntityId } from '../punch.js';

/**
 * zod schemas for rotating-beacon registrations (what the dashboard keeps per gateway and per site,
 * and what configs carry) and for observations handed to the resolver. Keys are 32 hex
 * characters (128-bit AES keys), upper-cased on parse; K is 0..15. See docs/rotating-beacon.md.
 */

/** A 128-bit AES key as 32 hex characters, either case; the parsed value is upper-case. */
export const BeaconKeyHex = z
  .string()
  .regex(/^[0-9A-Fa-f]{32}$/, 'must be 32 hex characters (a 128-bit AES key)')
  .transform((hex) => hex.toUpperCase());

/** Rotation exponent K: a new id every 2^K seconds (1 s .. 9 h 6 min 8 s). */
export const RotationExponent = z.int().min(0).max(15);

/** An iBeacon proximity UUID: 32 hex digits, with or without the 8-4-4-4-12 dashes; parsed to upper-case dashed. */
export const IBeaconUuid = z
  .string()
  .regex(
    /^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$/,
    'must be a UUID: 32 hex digits, optionally dashed 8-4-4-4-12',
  )
  .transform(canonicalIBeaconUuid);

export const IBeaconMajorMinor = z.int().min(0).max(0xffff);

/** Upper-case, dashed 8-4-4-4-12: the one form the resolver compares. Input must already be a UUID. */
export function canonicalIBeaconUuid(uuid: string): string {
  const hex = uuid.replaceAll('-', '').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** An Eddystone-EID beacon, normally one per gateway. */
export const EidBeaconRegistration = z
  .object({
    kind: z.literal('eid'),
    siteId: EntityId,
    gatewayId: EntityId.optional(),
    identityKey: BeaconKeyHex,
    rotationExponent: RotationExponent,
    /**
     * The unix time (s) at which the beacon's 32-bit time counter read 0. For a beacon started by
     * us, its registration time; for a beacon registered per the spec, registration time minus the
     * counter it reported (so it may be negative).
     */
    epochUnixSeconds: z.int(),
  })
  .strict();
export type EidBeaconRegistration = z.output<typeof EidBeaconRegistration>;

/** A site's rotating iBeacon minor: every gateway of the site advertises the same uuid/major/minor. */
export const IBeaconMinorRegistration = z
  .object({
    kind: z.literal('ibeacon-minor'),
    siteId: EntityId,
    siteKey: BeaconKeyHex,
    rotationExponent: RotationExponent,
    uuid: IBeaconUuid,
    major: IBeaconMajorMinor,
  })
  .strict();
export type IBeaconMinorRegistration = z.output<typeof IBeaconMinorRegistration>;

export const BeaconRegistration = z.discriminatedUnion('kind', [EidBeaconRegistration, IBeaconMinorRegistration]);
export type BeaconRegistration = z.output<typeof BeaconRegistration>;
export type BeaconRegistrationInput = z.input<typeof BeaconRegistration>;

/**
 * A set of registrations. An identity key may serve one EID beacon only (two beacons with one key
 * advertise the same ids, so they cannot be told apart); the same uuid+major may be registered
 * for several sites, but then their minors collide now and then and the resolver answers
 * 'ambiguous' for those windows: give each site its own major.
 */
export const BeaconRegistrations = z.array(BeaconRegistration).superRefine((registrations, ctx) => {
  const seen = new Map<string, number>();
  registrations.forEach((registration, index) => {
    if (registration.kind !== 'eid') return;
    const first = seen.get(registration.identityKey);
    if (first === undefined) {
      seen.set(registration.identityKey, index);
    } else {
      ctx.addIssue({
        code: 'custom',
        path: [index, 'identityKey'],
        message: `identity key already used by registration [${first}]: each EID beacon needs its own key`,
      });
    }
  });
});

/** An 8-byte EID as 16 hex characters, either case; parsed to upper-case. */
export const EidHex = z
  .string()
  .regex(/^[0-9A-Fa-f]{16}$/, 'must be 16 hex characters (an 8-byte Eddystone EID)')
  .transform((hex) => hex.toUpperCase());

/** What a phone or a gateway scanner saw, to be resolved. */
export const BeaconObservation = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('eid'), eid: EidHex }).strict(),
  z.object({ kind: z.literal('ibeacon'), uuid: IBeaconUuid, major: IBeaconMajorMinor, minor: IBeaconMajorMinor }).strict(),
]);
export type BeaconObservation = z.output<typeof BeaconObservation>;
export type BeaconObservationInput = z.input<typeof BeaconObservation>;
