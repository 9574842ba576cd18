/**
 * Pure location maths for site geofences: great-circle distance, point in polygon, distance to a
 * fence's edge, and the accuracy-aware decision for a phone's GPS fix. No I/O.
 *
 * Fences are site-sized (a shop, a block, a construction site: metres to a few kilometres). Polygon
 * maths runs on a local equirectangular projection centred on the point being judged; at that scale
 * its error is far below GPS noise (under 0.1 % of the distance at 5 km), and straight polygon edges
 * drawn on a map are straight lines in it. The schemas in `site-location-policy.ts` keep fences
 * within that scale.
 */

/** WGS-84 mean Earth radius (IUGG R1 = (2a + b) / 3), metres. */
export const EARTH_MEAN_RADIUS_METRES = 6371008.8;

/** Default distance a fix may lie outside a fence and still count as inside, metres. */
export const DEFAULT_GPS_TOLERANCE_METRES = 75;

/** Default worst GPS accuracy (reported radius) a site accepts, metres. */
export const DEFAULT_MAX_ACCURACY_METRES = 100;

/**
 * Points this close to a polygon's edge or vertex are on the boundary, and the boundary is inside.
 * One millimetre: far below any GPS precision, far above the floating-point noise of a point
 * computed on an edge (such as an edge's midpoint).
 */
export const BOUNDARY_EPSILON_METRES = 0.001;

export interface LatLon {
  /** Degrees north, -90..90. */
  lat: number;
  /** Degrees east, -180..180. */
  lon: number;
}

export interface CircleFence {
  kind: 'circle';
  center: LatLon;
  radiusMetres: number;
}

export interface PolygonFence {
  kind: 'polygon';
  /** At least three vertices, in order (either winding); the closing edge back to the first is implied. */
  points: readonly LatLon[];
}

export type Fence = CircleFence | PolygonFence;

/** A GPS fix as a phone reports it: `accuracyMetres` is the radius of its uncertainty circle. */
export interface GpsFix extends LatLon {
  accuracyMetres: number;
}

export interface FixRules {
  /** How far outside the fence a fix may lie and still count, metres. Default 75. */
  toleranceMetres?: number;
  /** Fixes with a worse (larger) accuracy than this are not judged, metres. Default 100. */
  maxAccuracyMetres?: number;
}

export type FixDecision = 'inside' | 'outside' | 'accuracy-too-poor';

export interface FixJudgement {
  decision: FixDecision;
  /** Distance from the fix to the fence, metres: 0 when the fix is inside or on the boundary. */
  distanceMetres: number;
  toleranceMetres: number;
  maxAccuracyMetres: number;
}

const RADIANS = Math.PI / 180;

function assertLatLon(point: LatLon, what: string): void {
  if (!Number.isFinite(point.lat) || !Number.isFinite(point.lon) || Math.abs(point.lat) > 90 || Math.abs(point.lon) > 180) {
    throw new RangeError(`${what} is not a latitude/longitude in degrees: ${String(point.lat)}, ${String(point.lon)}`);
  }
}

/** Longitude difference b - a folded into [-180, 180), so fences across the antimeridian still work. */
function deltaLon(a: number, b: number): number {
  let delta = b - a;
  if (delta >= 180 || delta < -180) delta = ((((delta + 180) % 360) + 360) % 360) - 180;
  return delta;
}

/** Great-circle distance by the haversine formula on a sphere of the WGS-84 mean radius, metres. */
export function haversineMetres(a: LatLon, b: LatLon): number {
  assertLatLon(a, 'first point');
  assertLatLon(b, 'second point');
  const phi1 = a.lat * RADIANS;
  const phi2 = b.lat * RADIANS;
  const dPhi = (b.lat - a.lat) * RADIANS;
  const dLambda = deltaLon(a.lon, b.lon) * RADIANS;
  const h = Math.sin(dPhi / 2) ** 2 + Math.cos(phi1) * Math.cos(phi2) * Math.sin(dLambda / 2) ** 2;
  return 2 * EARTH_MEAN_RADIUS_METRES * Math.asin(Math.min(1, Math.sqrt(h)));
}

interface Xy {
  x: number;
  y: number;
}

/**
 * Local equirectangular projection around `origin`: metres east (x) and north (y) of it. Linear in
 * latitude and longitude, so a straight edge between two vertices stays straight.
 */
export function projectLocal(origin: LatLon, point: LatLon): Xy {
  const metresPerDegree = EARTH_MEAN_RADIUS_METRES * RADIANS;
  return {
    x: deltaLon(origin.lon, point.lon) * metresPerDegree * Math.cos(origin.lat * RADIANS),
    y: (point.lat - origin.lat) * metresPerDegree,
  };
}

/** Distance from the origin (0, 0) to the segment a-b in the plane. */
function originToSegment(a: Xy, b: Xy): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const lengthSquared = dx * dx + dy * dy;
  let t = lengthSquared === 0 ? 0 : -(a.x * dx + a.y * dy) / lengthSquared;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(a.x + t * dx, a.y + t * dy);
}

function projectPolygon(point: LatLon, polygon: readonly LatLon[]): Xy[] {
  assertLatLon(point, 'point');
  if (polygon.length < 3) throw new RangeError(`a polygon needs at least 3 points, got ${polygon.length}`);
  return polygon.map((vertex, index) => {
    assertLatLon(vertex, `polygon point ${index}`);
    return projectLocal(point, vertex);
  });
}

/**
 * Shortest distance from a point to a polygon's boundary (its edges, including the implied closing
 * edge), metres, whether the point is inside or outside.
 */
export function distanceToPolygonEdgeMetres(point: LatLon, polygon: readonly LatLon[]): number {
  const ring = projectPolygon(point, polygon);
  let best = Infinity;
  for (let i = 0; i < ring.length; i++) {
    best = Math.min(best, originToSegment(ring[i]!, ring[(i + 1) % ring.length]!));
  }
  return best;
}

/**
 * Whether a point lies in a polygon (convex or concave, either winding; the closing edge is implied).
 * Points on an edge or a vertex (within {@link BOUNDARY_EPSILON_METRES}) count as inside. Ray
 * casting (even-odd) eastwards from the point, on the local projection centred on the point.
 */
export function pointInPolygon(point: LatLon, polygon: readonly LatLon[]): boolean {
  const ring = projectPolygon(point, polygon);
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[i]!;
    const b = ring[j]!;
    if (originToSegment(a, b) <= BOUNDARY_EPSILON_METRES) return true;
    // The edge straddles the ray's line y = 0 (half-open, so a vertex on the line counts once) ...
    if ((a.y > 0) !== (b.y > 0)) {
      // ... and crosses it east of the point.
      const crossingX = a.x + ((0 - a.y) * (b.x - a.x)) / (b.y - a.y);
      if (crossingX > 0) inside = !inside;
    }
  }
  return inside;
}

/** Whether a point lies in a circle fence; the circle's edge counts as inside. */
export function pointInCircle(point: LatLon, circle: Omit<CircleFence, 'kind'>): boolean {
  return haversineMetres(point, circle.center) <= circle.radiusMetres + BOUNDARY_EPSILON_METRES;
}

export function isInsideFence(point: LatLon, fence: Fence): boolean {
  return fence.kind === 'circle' ? pointInCircle(point, fence) : pointInPolygon(point, fence.points);
}

/**
 * How far a point lies outside a fence, metres: 0 when inside or on the boundary, otherwise the
 * distance to the nearest point of the boundary (the nearest edge of a polygon; radial distance
 * minus radius for a circle).
 */
export function distanceToFenceMetres(point: LatLon, fence: Fence): number {
  if (fence.kind === 'circle') {
    const beyond = haversineMetres(point, fence.center) - fence.radiusMetres;
    return beyond <= BOUNDARY_EPSILON_METRES ? 0 : beyond;
  }
  return pointInPolygon(point, fence.points) ? 0 : distanceToPolygonEdgeMetres(point, fence.points);
}

/**
 * The accuracy-aware decision for one GPS fix against a site's fence. The rule, in order:
 *
 * 1. `accuracy-too-poor` when the fix's reported accuracy is worse than `maxAccuracyMetres`
 *    (accuracy exactly at the limit is accepted), or is not a positive finite number. Such a fix
 *    proves nothing either way, so it is not judged in or out: indoors in Mong Kok a 400 m fix
 *    "outside" says more about the buildings than about the worker.
 * 2. `inside` when the fix's distance to the fence (0 inside, else to the nearest boundary point)
 *    is at most `toleranceMetres` (exactly at the tolerance counts).
 * 3. `outside` otherwise.
 *
 * Why not "the whole uncertainty circle inside the fence": between high-rises typical accuracy is
 * 20-60 m, wider than a shop, so nobody could ever punch. Why not "distance minus accuracy within
 * tolerance": a worse fix would then be more likely to pass. Instead the site sets a tolerance for
 * ordinary GPS drift and a cap on how uncertain a fix may be; both are bounded by the policy schema
 * (tolerance 0-500 m).
 */
export function decideFix(fix: GpsFix, fence: Fence, rules: FixRules = {}): FixJudgement {
  const toleranceMetres = rules.toleranceMetres ?? DEFAULT_GPS_TOLERANCE_METRES;
  const maxAccuracyMetres = rules.maxAccuracyMetres ?? DEFAULT_MAX_ACCURACY_METRES;
  const distanceMetres = distanceToFenceMetres(fix, fence);
  const accuracyUsable = Number.isFinite(fix.accuracyMetres) && fix.accuracyMetres > 0 && fix.accuracyMetres <= maxAccuracyMetres;
  const decision: FixDecision = !accuracyUsable ? 'accuracy-too-poor' : distanceMetres <= toleranceMetres ? 'inside' : 'outside';
  return { decision, distanceMetres, toleranceMetres, maxAccuracyMetres };
}

/** Area enclosed by a ring (shoelace on the local projection), m²; meaningful for simple polygons only. */
export function polygonAreaSquareMetres(polygon: readonly LatLon[]): number {
  if (polygon.length < 3) return 0;
  const origin = polygon[0]!;
  const ring = polygon.map((vertex) => projectLocal(origin, vertex));
  let twice = 0;
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[(i + 1) % ring.length]!;
    twice += a.x * b.y - b.x * a.y;
  }
  return Math.abs(twice) / 2;
}

/** Whether every vertex lies within `toleranceMetres` of one straight line (a polygon with no width). */
export function allOnOneLine(polygon: readonly LatLon[], toleranceMetres = 0.5): boolean {
  if (polygon.length < 3) return true;
  const origin = polygon[0]!;
  const ring = polygon.map((vertex) => projectLocal(origin, vertex));
  let far = ring[0]!;
  for (const point of ring) if (Math.hypot(point.x, point.y) > Math.hypot(far.x, far.y)) far = point;
  const length = Math.hypot(far.x, far.y);
  if (length === 0) return true;
  return ring.every((point) => Math.abs(point.x * far.y - point.y * far.x) / length <= toleranceMetres);
}

function orientation(p: Xy, q: Xy, r: Xy): number {
  const value = (q.x - p.x) * (r.y - p.y) - (q.y - p.y) * (r.x - p.x);
  const scale = Math.max(Math.abs(q.x - p.x), Math.abs(q.y - p.y), Math.abs(r.x - p.x), Math.abs(r.y - p.y), 1);
  // Below a square micrometre at this scale the three points are collinear for our purposes.
  return Math.abs(value) <= 1e-9 * scale * scale ? 0 : Math.sign(value);
}

function onSegment(p: Xy, q: Xy, r: Xy): boolean {
  return Math.min(p.x, r.x) <= q.x && q.x <= Math.max(p.x, r.x) && Math.min(p.y, r.y) <= q.y && q.y <= Math.max(p.y, r.y);
}

function segmentsTouch(p1: Xy, p2: Xy, q1: Xy, q2: Xy): boolean {
  const o1 = orientation(p1, p2, q1);
  const o2 = orientation(p1, p2, q2);
  const o3 = orientation(q1, q2, p1);
  const o4 = orientation(q1, q2, p2);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSegment(p1, q1, p2)) ||
    (o2 === 0 && onSegment(p1, q2, p2)) ||
    (o3 === 0 && onSegment(q1, p1, q2)) ||
    (o4 === 0 && onSegment(q1, p2, q2))
  );
}

/**
 * The first pair of edges that cross or overlap (edge i runs from point i to point i + 1, the last
 * edge closes the ring), or null for a simple polygon. Adjacent edges may share their vertex but may
 * not fold back over each other.
 */
export function findSelfIntersection(polygon: readonly LatLon[]): [number, number] | null {
  const n = polygon.length;
  if (n < 3) return null;
  const origin = polygon[0]!;
  const ring = polygon.map((vertex) => projectLocal(origin, vertex));
  for (let i = 0; i < n; i++) {
    const a1 = ring[i]!;
    const a2 = ring[(i + 1) % n]!;
    for (let j = i + 1; j < n; j++) {
      const b1 = ring[j]!;
      const b2 = ring[(j + 1) % n]!;
      const adjacent = j === i + 1 || (i === 0 && j === n - 1);
      if (adjacent) {
        // Sharing a vertex is normal; folding back along the previous edge is not.
        const shared = j === i + 1 ? a2 : a1;
        const otherA = j === i + 1 ? a1 : a2;
        const otherB = j === i + 1 ? b2 : b1;
        if (orientation(otherA, shared, otherB) === 0) {
          const ax = otherA.x - shared.x;
          const ay = otherA.y - shared.y;
          const bx = otherB.x - shared.x;
          const by = otherB.y - shared.y;
          if (ax * bx + ay * by > 0) return [i, j];
        }
        continue;
      }
      if (segmentsTouch(a1, a2, b1, b2)) return [i, j];
    }
  }
  return null;
}
