import { describe, expect, it } from 'vitest';
import {
  BOUNDARY_EPSILON_METRES,
  decideFix,
  distanceToFenceMetres,
  distanceToPolygonEdgeMetres,
  EARTH_MEAN_RADIUS_METRES,
  findSelfIntersection,
  haversineMetres,
  isInsideFence,
  pointInCircle,
  pointInPolygon,
  type CircleFence,
  type LatLon,
  type PolygonFence,
} from '../../core/location/geofence.js';

// Real Hong Kong places (coordinates to about 10 m).
const langhamPlace: LatLon = { lat: 22.3185, lon: 114.1686 }; // Langham Place, Mong Kok
const sinoCentre: LatLon = { lat: 22.3146, lon: 114.1703 }; // Sino Centre, 582-592 Nathan Road
const ifc: LatLon = { lat: 22.285, lon: 114.159 }; // Two IFC, Central

/**
 * An L-shaped block around Langham Place: the full-width southern half, plus the western half of
 * the northern half. The north-east quarter is the concave notch. Langham Place is the inner corner.
 *
 *   F ---- E
 *   |      |   (notch)
 *   |      D ---- C
 *   |             |
 *   A ----------- B
 */
const A = { lat: 22.3178, lon: 114.168 };
const B = { lat: 22.3178, lon: 114.1692 };
const C = { lat: 22.3185, lon: 114.1692 };
const D = { lat: 22.3185, lon: 114.1686 };
const E = { lat: 22.3192, lon: 114.1686 };
const F = { lat: 22.3192, lon: 114.168 };
const mongKokL: LatLon[] = [A, B, C, D, E, F];
const mongKokFence: PolygonFence = { kind: 'polygon', points: mongKokL };
const inTheNotch: LatLon = { lat: 22.3189, lon: 114.1689 };

const metresPerDegreeLat = (EARTH_MEAN_RADIUS_METRES * Math.PI) / 180;

describe('haversineMetres', () => {
  it('gives one degree of latitude as R·π/180 on the WGS-84 mean sphere', () => {
    expect(haversineMetres({ lat: 22, lon: 114 }, { lat: 23, lon: 114 })).toBeCloseTo(111195.08, 1);
    expect(metresPerDegreeLat).toBeCloseTo(111195.08, 1);
  });

  it('measures Langham Place to IFC (about 3.85 km) and to Sino Centre (about 470 m), symmetrically', () => {
    expect(haversineMetres(langhamPlace, ifc)).toBeCloseTo(3853.74, 1);
    expect(haversineMetres(ifc, langhamPlace)).toBeCloseTo(haversineMetres(langhamPlace, ifc), 9);
    expect(haversineMetres(langhamPlace, sinoCentre)).toBeCloseTo(467.59, 1);
    expect(haversineMetres(langhamPlace, langhamPlace)).toBe(0);
  });

  it('crosses the antimeridian the short way and refuses non-coordinates', () => {
    expect(haversineMetres({ lat: 0, lon: 179.9995 }, { lat: 0, lon: -179.9995 })).toBeCloseTo(111.2, 1);
    expect(() => haversineMetres({ lat: 91, lon: 0 }, langhamPlace)).toThrow(RangeError);
    expect(() => haversineMetres({ lat: Number.NaN, lon: 0 }, langhamPlace)).toThrow(RangeError);
  });
});

describe('pointInPolygon on a concave L-shaped Mong Kok block', () => {
  it('puts points in both arms of the L inside', () => {
    expect(pointInPolygon({ lat: 22.318, lon: 114.169 }, mongKokL)).toBe(true); // south-east arm
    expect(pointInPolygon({ lat: 22.319, lon: 114.1683 }, mongKokL)).toBe(true); // north-west arm
  });

  it('puts a point in the concave notch outside', () => {
    expect(pointInPolygon(inTheNotch, mongKokL)).toBe(false);
    expect(isInsideFence(inTheNotch, mongKokFence)).toBe(false);
  });

  it('counts a point exactly on an edge or a vertex as inside', () => {
    expect(pointInPolygon(langhamPlace, mongKokL)).toBe(true); // vertex D, the inner corner
    expect(pointInPolygon(A, mongKokL)).toBe(true); // an outer vertex
    expect(pointInPolygon({ lat: 22.3178, lon: 114.1686 }, mongKokL)).toBe(true); // middle of edge A-B
    expect(pointInPolygon({ lat: 22.3188, lon: 114.1686 }, mongKokL)).toBe(true); // on D-E, the notch's wall
    expect(pointInPolygon({ lat: 22.3188, lon: 114.168 }, mongKokL)).toBe(true); // on the closing edge F-A
  });

  it('counts a point on an oblique edge as inside despite floating-point rounding', () => {
    const triangle = [langhamPlace, sinoCentre, ifc];
    const midpoint = { lat: (langhamPlace.lat + sinoCentre.lat) / 2, lon: (langhamPlace.lon + sinoCentre.lon) / 2 };
    expect(pointInPolygon(midpoint, triangle)).toBe(true);
    expect(distanceToPolygonEdgeMetres(midpoint, triangle)).toBeLessThan(BOUNDARY_EPSILON_METRES);
  });

  it('puts a point 1 m outside an edge outside', () => {
    const south = { lat: A.lat - 1 / metresPerDegreeLat, lon: 114.1686 };
    expect(pointInPolygon(south, mongKokL)).toBe(false);
    expect(distanceToFenceMetres(south, mongKokFence)).toBeCloseTo(1, 6);
  });

  it('is not fooled by a ray running through vertices and along a horizontal edge', () => {
    // Both rays run east along the latitude of C-D, through vertex D.
    expect(pointInPolygon({ lat: 22.3185, lon: 114.1683 }, mongKokL)).toBe(true);
    expect(pointInPolygon({ lat: 22.3185, lon: 114.167 }, mongKokL)).toBe(false);
    expect(pointInPolygon({ lat: 22.3185, lon: 114.17 }, mongKokL)).toBe(false);
    expect(pointInPolygon({ lat: 22.3192, lon: 114.167 }, mongKokL)).toBe(false); // along F-E
  });

  it('gives the same answers for the reversed winding', () => {
    const reversed = [...mongKokL].reverse();
    for (const point of [inTheNotch, langhamPlace, { lat: 22.318, lon: 114.169 }, sinoCentre]) {
      expect(pointInPolygon(point, reversed)).toBe(pointInPolygon(point, mongKokL));
    }
  });

  it('refuses a polygon of fewer than three points', () => {
    expect(() => pointInPolygon(langhamPlace, [A, B])).toThrow(/at least 3/);
  });
});

describe('distance to the fence', () => {
  it('measures a point in the notch to the nearest notch wall (D-E, about 30.9 m west)', () => {
    const expected = 0.0003 * metresPerDegreeLat * Math.cos((inTheNotch.lat * Math.PI) / 180);
    expect(distanceToPolygonEdgeMetres(inTheNotch, mongKokL)).toBeCloseTo(expected, 3);
    expect(distanceToFenceMetres(inTheNotch, mongKokFence)).toBeCloseTo(expected, 3);
  });

  it('is 0 inside a fence, while the distance to the edge is still known', () => {
    const inside = { lat: 22.318, lon: 114.169 };
    expect(distanceToFenceMetres(inside, mongKokFence)).toBe(0);
    // 0.0002° east of B-C (20.6 m) is nearer than 0.0002° north of A-B (22.2 m): longitude degrees are shorter.
    const toEastWall = 0.0002 * metresPerDegreeLat * Math.cos((inside.lat * Math.PI) / 180);
    expect(distanceToPolygonEdgeMetres(inside, mongKokL)).toBeCloseTo(toEastWall, 3);
  });

  it('measures Sino Centre to the Mong Kok block (hundreds of metres) in agreement with haversine to the nearest corner', () => {
    const distance = distanceToFenceMetres(sinoCentre, mongKokFence);
    // The nearest boundary point is corner B (Sino Centre is south-east of the block).
    expect(distance).toBeCloseTo(haversineMetres(sinoCentre, B), 0);
  });

  it('handles circle fences: radial distance minus radius; the circle edge counts as inside', () => {
    const sinoFence: CircleFence = { kind: 'circle', center: sinoCentre, radiusMetres: 40 };
    expect(distanceToFenceMetres(langhamPlace, sinoFence)).toBeCloseTo(haversineMetres(langhamPlace, sinoCentre) - 40, 6);
    const onTheCircle = { lat: sinoCentre.lat + 40 / metresPerDegreeLat, lon: sinoCentre.lon };
    expect(pointInCircle(onTheCircle, sinoFence)).toBe(true);
    expect(distanceToFenceMetres(onTheCircle, sinoFence)).toBe(0);
    const justOutside = { lat: sinoCentre.lat + 40.5 / metresPerDegreeLat, lon: sinoCentre.lon };
    expect(isInsideFence(justOutside, sinoFence)).toBe(false);
    expect(distanceToFenceMetres(justOutside, sinoFence)).toBeCloseTo(0.5, 6);
  });
});

describe('decideFix (accuracy-aware)', () => {
  it('accepts a fix inside the fence with good accuracy', () => {
    expect(decideFix({ ...langhamPlace, accuracyMetres: 12 }, mongKokFence)).toEqual({
      decision: 'inside',
      distanceMetres: 0,
      toleranceMetres: 75,
      maxAccuracyMetres: 100,
    });
  });

  it('accepts a fix in the notch within the default 75 m tolerance, refuses it with a 10 m tolerance', () => {
    expect(decideFix({ ...inTheNotch, accuracyMetres: 20 }, mongKokFence).decision).toBe('inside');
    const strict = decideFix({ ...inTheNotch, accuracyMetres: 20 }, mongKokFence, { toleranceMetres: 10 });
    expect(strict.decision).toBe('outside');
    expect(strict.distanceMetres).toBeCloseTo(30.87, 1);
  });

  it('counts a distance exactly at the tolerance as inside, and a millimetre more as outside', () => {
    const distance = distanceToFenceMetres(inTheNotch, mongKokFence);
    const fix = { ...inTheNotch, accuracyMetres: 20 };
    expect(decideFix(fix, mongKokFence, { toleranceMetres: distance }).decision).toBe('inside');
    expect(decideFix(fix, mongKokFence, { toleranceMetres: distance - 0.001 }).decision).toBe('outside');
  });

  it('accepts accuracy exactly at the limit and refuses anything worse', () => {
    expect(decideFix({ ...langhamPlace, accuracyMetres: 100 }, mongKokFence).decision).toBe('inside');
    expect(decideFix({ ...langhamPlace, accuracyMetres: 100.01 }, mongKokFence).decision).toBe('accuracy-too-poor');
    expect(decideFix({ ...langhamPlace, accuracyMetres: 30 }, mongKokFence, { maxAccuracyMetres: 30 }).decision).toBe('inside');
    expect(decideFix({ ...langhamPlace, accuracyMetres: 31 }, mongKokFence, { maxAccuracyMetres: 30 }).decision).toBe('accuracy-too-poor');
  });

  it('does not judge a fix whose accuracy is zero, negative or not a number', () => {
    for (const accuracyMetres of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(decideFix({ ...langhamPlace, accuracyMetres }, mongKokFence).decision).toBe('accuracy-too-poor');
    }
  });

  it('reports a poor fix as accuracy-too-poor, not outside, even from Central (the rule checks accuracy first)', () => {
    const fromIfc = decideFix({ ...ifc, accuracyMetres: 150 }, mongKokFence);
    expect(fromIfc.decision).toBe('accuracy-too-poor');
    expect(fromIfc.distanceMetres).toBeGreaterThan(3500);
    expect(decideFix({ ...ifc, accuracyMetres: 8 }, mongKokFence).decision).toBe('outside');
  });

  it('works with a circle fence around Sino Centre', () => {
    const fence: CircleFence = { kind: 'circle', center: sinoCentre, radiusMetres: 40 };
    expect(decideFix({ ...sinoCentre, accuracyMetres: 25 }, fence).decision).toBe('inside');
    const fromLangham = decideFix({ ...langhamPlace, accuracyMetres: 25 }, fence);
    expect(fromLangham.decision).toBe('outside');
    expect(fromLangham.distanceMetres).toBeCloseTo(427.59, 1);
  });
});

describe('findSelfIntersection', () => {
  it('finds none in the L and finds the crossing of a bow-tie', () => {
    expect(findSelfIntersection(mongKokL)).toBeNull();
    expect(findSelfIntersection([A, C, B, F])).not.toBeNull();
  });

  it('finds an edge folding back over the previous one', () => {
    const midAB = { lat: 22.3178, lon: 114.1686 };
    expect(findSelfIntersection([A, B, midAB, F])).not.toBeNull();
  });
});
