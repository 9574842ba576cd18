import { z } from 'zod';
import { EntityId } from '../punch.js';
import {
  allOnOneLine,
  DEFAULT_GPS_TOLERANCE_METRES,
  DEFAULT_MAX_ACCURACY_METRES,
  findSelfIntersection,
  haversineMetres,
  polygonAreaSquareMetres,
  type LatLon,
} from './geofence.js';

/**
 * What a site accepts as proof that a phone punching "here" is here: a geofence for GPS, the
 * site's Wi-Fi access points, its BLE beacons (resolved elsewhere to a site id), and a rule for how
 * many of those factors must pass. Written by people on the dashboard, so every error names its field.
 */

/** The three kinds of location proof a phone can give. */
export const locationFactors = ['gps', 'wifi', 'ble'] as const;
export const LocationFactor = z.enum(locationFactors);
export type LocationFactor = z.infer<typeof LocationFactor>;

/** Polygon fences have at most this many vertices (a city block needs a dozen). */
export const MAX_POLYGON_POINTS = 200;
/** Fences are site-sized: no vertex further than this from the first, no circle wider. */
export const MAX_FENCE_EXTENT_METRES = 20_000;
/** A site lists at most this many access points. */
export const MAX_ALLOWED_BSSIDS = 256;

export const GeoPoint = z
  .object({
    lat: z
      .number({ error: 'latitude must be a number of degrees' })
      .min(-90, 'latitude must be between -90 and 90 degrees')
      .max(90, 'latitude must be between -90 and 90 degrees'),
    lon: z
      .number({ error: 'longitude must be a number of degrees' })
      .min(-180, 'longitude must be between -180 and 180 degrees')
      .max(180, 'longitude must be between -180 and 180 degrees'),
  })
  .strict();
export type GeoPoint = z.infer<typeof GeoPoint>;

export const CircleGeofence = z
  .object({
    kind: z.literal('circle'),
    center: GeoPoint,
    radiusMetres: z
      .number({ error: 'radius must be a number of metres' })
      .positive('radius must be more than 0 m')
      .max(MAX_FENCE_EXTENT_METRES, `radius may be at most ${MAX_FENCE_EXTENT_METRES} m (a site, not a city)`),
  })
  .strict();
export type CircleGeofence = z.infer<typeof CircleGeofence>;

function samePoint(a: LatLon, b: LatLon): boolean {
  return a.lat === b.lat && a.lon === b.lon;
}

/**
 * A polygon fence: at least three vertices in order, either winding. Closing the ring by repeating
 * the first point at the end is not required; if given, that closing point is dropped. Refused:
 * repeated consecutive points, edges that cross or fold back (a figure-eight is always a drawing
 * mistake), no area, or a vertex more than 20 km from the first.
 */
export const PolygonGeofence = z
  .object({
    kind: z.literal('polygon'),
    points: z
      .array(GeoPoint)
      .min(3, 'a polygon needs at least 3 points')
      .max(MAX_POLYGON_POINTS, `a polygon may have at most ${MAX_POLYGON_POINTS} points`),
  })
  .strict()
  .transform((fence, ctx): { kind: 'polygon'; points: GeoPoint[] } => {
    const given = fence.points;
    const points = given.length > 3 && samePoint(given[0]!, given[given.length - 1]!) ? given.slice(0, -1) : given;
    const fail = (path: (string | number)[], message: string): never => {
      ctx.addIssue({ code: 'custom', path: ['points', ...path], message });
      return z.NEVER as never;
    };
    for (let i = 0; i < points.length; i++) {
      const next = (i + 1) % points.length;
      if (samePoint(points[i]!, points[next]!)) {
        return fail([next], next === 0 ? 'the closing point repeats the first; a polygon needs at least 3 distinct points' : `repeats point ${i}`);
      }
      const fromFirst = haversineMetres(points[0]!, points[i]!);
      if (fromFirst > MAX_FENCE_EXTENT_METRES) {
        return fail([i], `is ${Math.round(fromFirst)} m from point 0; a fence may span at most ${MAX_FENCE_EXTENT_METRES} m`);
      }
    }
    if (allOnOneLine(points)) return fail([], 'the points enclose no area (they lie on one line)');
    const crossing = findSelfIntersection(points);
    if (crossing) {
      const [a, b] = crossing;
      const edge = (i: number): string => `${i}-${(i + 1) % points.length}`;
      return fail([], `edges ${edge(a)} and ${edge(b)} cross or overlap; list the points in order around the area`);
    }
    if (polygonAreaSquareMetres(points) < 1) return fail([], 'the points enclose less than 1 m²');
    return { kind: 'polygon', points };
  });
export type PolygonGeofence = z.output<typeof PolygonGeofence>;

export const Geofence = z.discriminatedUnion('kind', [CircleGeofence, PolygonGeofence], {
  error: 'a geofence is {"kind":"circle", center, radiusMetres} or {"kind":"polygon", points}',
});
export type Geofence = z.output<typeof Geofence>;
export type GeofenceInput = z.input<typeof Geofence>;

const BSSID_PATTERN = /^[0-9A-F]{2}([:-])[0-9A-F]{2}(\1[0-9A-F]{2}){4}$/;

/**
 * A BSSID (an access point's MAC address) in the one form we store and compare: upper-case hex
 * pairs joined by colons, `AA:BB:CC:DD:EE:FF`. Accepts either case and `:` or `-` separators (one
 * kind per address) with surrounding spaces; returns null for anything else.
 */
export function normaliseBssid(input: string): string | null {
  const candidate = input.trim().toUpperCase();
  if (!BSSID_PATTERN.test(candidate)) return null;
  return candidate.replaceAll('-', ':');
}

/**
 * Values phones report instead of a real BSSID: Android and iOS give 02:00:00:00:00:00 when the
 * app lacks location permission; all-zero and broadcast mean "not connected". They never identify
 * an access point, so a site cannot allow them and evidence carrying them never matches.
 */
export const placeholderBssids: readonly string[] = ['00:00:00:00:00:00', '02:00:00:00:00:00', 'FF:FF:FF:FF:FF:FF'];

export function isPlaceholderBssid(bssid: string): boolean {
  return placeholderBssids.includes(bssid);
}

/** Any well-formed BSSID, normalised to `AA:BB:CC:DD:EE:FF`. */
export const Bssid = z.string({ error: 'a BSSID must be a string' }).transform((value, ctx) => {
  const normalised = normaliseBssid(value);
  if (normalised === null) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(value.slice(0, 40))} is not a Wi-Fi BSSID (six hex pairs such as AA:BB:CC:DD:EE:FF or aa-bb-cc-dd-ee-ff)`,
    });
    return z.NEVER;
  }
  return normalised;
});

/** A BSSID a site may allow: well-formed and not one of the {@link placeholderBssids}. */
export const AllowedBssid = Bssid.refine((bssid) => !isPlaceholderBssid(bssid), {
  message: 'is a placeholder phones report when they hide or lack a Wi-Fi connection, not an access point',
});

/**
 * How many factors must pass. Either `{ anyOf: n, factors: [...] }` (at least n of the listed
 * factors, e.g. any 1 of gps/wifi/ble, or 2 of 3), or `{ required: [...] }` (every listed factor).
 */
export type FactorRule = { anyOf: number; factors: LocationFactor[] } | { required: LocationFactor[] };

function duplicateIndex(list: readonly string[]): number {
  return list.findIndex((item, index) => list.indexOf(item) !== index);
}

export const FactorRule = z
  .object({
    anyOf: z
      .number({ error: 'anyOf must be a whole number of factors' })
      .int('anyOf must be a whole number of factors')
      .min(1, 'anyOf must be at least 1')
      .max(locationFactors.length, `anyOf may be at most ${locationFactors.length}`)
      .optional(),
    factors: z.array(LocationFactor).min(1, 'list at least one factor').max(locationFactors.length).optional(),
    required: z.array(LocationFactor).min(1, 'list at least one required factor').max(locationFactors.length).optional(),
  })
  .strict()
  .transform((rule, ctx): FactorRule => {
    const issue = (path: (string | number)[], message: string): never => {
      ctx.addIssue({ code: 'custom', path, message });
      return z.NEVER as never;
    };
    if (rule.required !== undefined) {
      if (rule.anyOf !== undefined || rule.factors !== undefined) {
        return issue([], 'give either {required: [...]} or {anyOf: n, factors: [...]}, not both');
      }
      const dup = duplicateIndex(rule.required);
      if (dup >= 0) return issue(['required', dup], `lists "${rule.required[dup]}" twice`);
      return { required: rule.required };
    }
    if (rule.anyOf === undefined || rule.factors === undefined) {
      return issue(rule.anyOf === undefined ? ['anyOf'] : ['factors'], 'give {anyOf: n, factors: [...]} or {required: [...]}');
    }
    const dup = duplicateIndex(rule.factors);
    if (dup >= 0) return issue(['factors', dup], `lists "${rule.factors[dup]}" twice`);
    if (rule.anyOf > rule.factors.length) {
      return issue(['anyOf'], `asks for ${rule.anyOf} factors but lists only ${rule.factors.length}`);
    }
    return { anyOf: rule.anyOf, factors: rule.factors };
  });

/** The factors a rule looks at; evidence of any other kind is ignored (and never stored). */
export function factorsOf(rule: FactorRule): LocationFactor[] {
  return 'required' in rule ? rule.required : rule.factors;
}

export const SiteLocationPolicy = z
  .object({
    siteId: EntityId,
    geofence: Geofence.optional(),
    /** The site's own access points; duplicates (after normalising) are dropped. */
    allowedBssids: z
      .array(AllowedBssid)
      .max(MAX_ALLOWED_BSSIDS, `a site may list at most ${MAX_ALLOWED_BSSIDS} access points`)
      .default([]),
    /**
     * Whether an allowed BSSID merely seen in the phone's scan (not connected) passes the Wi-Fi
     * factor. Off by default: scans reach through walls and floors, a connection needs the site's
     * Wi-Fi password.
     */
    acceptScannedBssids: z.boolean().default(false),
    accept: FactorRule,
    gpsToleranceMetres: z
      .number({ error: 'GPS tolerance must be a number of metres' })
      .min(0, 'GPS tolerance must be between 0 and 500 m')
      .max(500, 'GPS tolerance must be between 0 and 500 m')
      .default(DEFAULT_GPS_TOLERANCE_METRES),
    maxAccuracyMetres: z
      .number({ error: 'maximum GPS accuracy must be a number of metres' })
      .positive('maximum GPS accuracy must be more than 0 m')
      .max(2000, 'maximum GPS accuracy may be at most 2000 m')
      .default(DEFAULT_MAX_ACCURACY_METRES),
    /** A GPS fix taken further than this from the punch time (either way) is not used. */
    maxFixAgeSeconds: z.number().int().min(1).max(3600).default(120),
    /** Beacons heard weaker than this (dBm) do not count: they are in the next shop or the corridor. */
    minBeaconRssi: z.number().int().min(-127).max(0).default(-100),
    /** PDPO: keep the phone's raw evidence with the punch. Off: only the verdict is kept. */
    keepRawEvidence: z.boolean().default(false),
  })
  .strict()
  .transform((policy, ctx) => {
    const factors = factorsOf(policy.accept);
    if (factors.includes('gps') && policy.geofence === undefined) {
      ctx.addIssue({ code: 'custom', path: ['geofence'], message: 'the rule counts GPS, so the site needs a geofence' });
    }
    if (factors.includes('wifi') && policy.allowedBssids.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['allowedBssids'], message: 'the rule counts Wi-Fi, so list at least one of the site\'s BSSIDs' });
    }
    return { ...policy, allowedBssids: [...new Set(policy.allowedBssids)] };
  });
export type SiteLocationPolicy = z.output<typeof SiteLocationPolicy>;
export type SiteLocationPolicyInput = z.input<typeof SiteLocationPolicy>;
