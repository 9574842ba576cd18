import { z } from 'zod';
import { Bssid, GeoPoint } from './site-location-policy.js';

/**
 * What a phone sends with a mobile punch to prove where it is. Every part is optional (a phone
 * without location permission may send only beacons); the site's policy decides what is enough.
 * Arrays are bounded so a hostile or broken client cannot make verification expensive.
 */

/** Most BLE beacon sightings one punch may carry (a shop has a handful; a mall corridor dozens). */
export const MAX_BEACONS = 64;
/** Most scanned Wi-Fi BSSIDs one punch may carry (a Mong Kok scan can see over a hundred). */
export const MAX_SCANNED_BSSIDS = 200;

/** An array whose length is checked before any element is parsed, so 10,000 entries cost nothing. */
function boundedArray<T extends z.ZodType>(element: T, max: number, message: string) {
  return z
    .array(z.unknown(), { error: 'must be a list' })
    .max(max, message)
    .pipe(z.array(element));
}

const Rssi = z
  .number({ error: 'rssi must be a number of dBm' })
  .int('rssi must be a whole number of dBm')
  .min(-127, 'rssi must be between -127 and 20 dBm')
  .max(20, 'rssi must be between -127 and 20 dBm');

/** An Eddystone-EID sighting: the beacon's current 8-byte ephemeral id, as 16 hex digits (stored upper-case). */
export const EddystoneEidObservation = z
  .object({
    kind: z.literal('eddystone-eid'),
    eid: z
      .string({ error: 'eid must be a string of 16 hex digits' })
      .regex(/^[0-9A-Fa-f]{16}$/, 'eid must be the 8-byte ephemeral id as 16 hex digits')
      .transform((eid) => eid.toUpperCase()),
    rssi: Rssi,
  })
  .strict();

/** An iBeacon sighting; the beacon may rotate its major/minor. The UUID is stored upper-case, dashed 8-4-4-4-12. */
export const IBeaconObservation = z
  .object({
    kind: z.literal('ibeacon'),
    uuid: z
      .string({ error: 'uuid must be a string' })
      .regex(
        /^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$/,
        'uuid must be 32 hex digits, optionally dashed like E2C56DB5-DFFB-48D2-B060-D0F5A71096E0',
      )
      .transform((uuid) => {
        const hex = uuid.replaceAll('-', '').toUpperCase();
        return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      }),
    major: z.number({ error: 'major must be a number' }).int('major must be a whole number').min(0, 'major must be 0-65535').max(65535, 'major must be 0-65535'),
    minor: z.number({ error: 'minor must be a number' }).int('minor must be a whole number').min(0, 'minor must be 0-65535').max(65535, 'minor must be 0-65535'),
    rssi: Rssi,
  })
  .strict();

export const BeaconObservation = z.discriminatedUnion('kind', [EddystoneEidObservation, IBeaconObservation], {
  error: 'a beacon is {"kind":"eddystone-eid", eid, rssi} or {"kind":"ibeacon", uuid, major, minor, rssi}',
});
export type BeaconObservation = z.output<typeof BeaconObservation>;

/**
 * The identity of one beacon transmission, independent of signal strength: `eid:<16 hex>` or
 * `ibeacon:<UUID>:<major>:<minor>`. This is the key of the replay check (see `verify-evidence.ts`).
 */
export function beaconKey(observation: BeaconObservation): string {
  return observation.kind === 'eddystone-eid'
    ? `eid:${observation.eid}`
    : `ibeacon:${observation.uuid}:${observation.major}:${observation.minor}`;
}

/**
 * A sighting without its signal strength, in the shape the `core/beacon` resolver takes
 * (`{kind:'eid', eid}` or `{kind:'ibeacon', uuid, major, minor}`), so it can be wired as
 * `resolveBeacon: (o, at) => resolver.resolve(toResolverObservation(o), at)` without this module
 * importing it.
 */
export function toResolverObservation(
  observation: BeaconObservation,
): { kind: 'eid'; eid: string } | { kind: 'ibeacon'; uuid: string; major: number; minor: number } {
  return observation.kind === 'eddystone-eid'
    ? { kind: 'eid', eid: observation.eid }
    : { kind: 'ibeacon', uuid: observation.uuid, major: observation.major, minor: observation.minor };
}

export const GpsEvidence = z
  .object({
    lat: GeoPoint.shape.lat,
    lon: GeoPoint.shape.lon,
    accuracyMetres: z
      .number({ error: 'accuracyMetres must be a number of metres' })
      .positive('accuracyMetres must be more than 0 m (a fix without an accuracy cannot be judged)')
      .max(1_000_000, 'accuracyMetres must be at most 1000 km'),
    /** When the fix was taken (ISO-8601); phones may serve a cached fix, so this is checked against the punch time. */
    at: z.iso.datetime({ offset: true, error: 'at must be an ISO-8601 date-time such as 2025-03-01T01:02:03.000Z' }).optional(),
  })
  .strict();
export type GpsEvidence = z.output<typeof GpsEvidence>;

export const WifiEvidence = z
  .object({
    /** The access point the phone is connected to. */
    connectedBssid: Bssid.optional(),
    /** Access points seen in the phone's last scan. */
    scannedBssids: boundedArray(Bssid, MAX_SCANNED_BSSIDS, `at most ${MAX_SCANNED_BSSIDS} scanned BSSIDs; send the strongest`).optional(),
  })
  .strict();
export type WifiEvidence = z.output<typeof WifiEvidence>;

export const MobileEvidence = z
  .object({
    gps: GpsEvidence.optional(),
    wifi: WifiEvidence.optional(),
    beacons: boundedArray(BeaconObservation, MAX_BEACONS, `at most ${MAX_BEACONS} beacons; send the strongest`).optional(),
  })
  .strict();
export type MobileEvidence = z.output<typeof MobileEvidence>;
export type MobileEvidenceInput = z.input<typeof MobileEvidence>;
