import type { SiteLocationPolicy } from '../../core/location/index.js';

/** A site whose punches need only its Wi-Fi (the simplest valid location policy for tests). */
export function wifiOnlyPolicy(siteId: string, bssids: readonly string[] = ['A4:2B:B0:11:22:33']): SiteLocationPolicy {
  return {
    siteId,
    allowedBssids: [...bssids],
    acceptScannedBssids: false,
    accept: { anyOf: 1, factors: ['wifi'] },
    gpsToleranceMetres: 20,
    maxAccuracyMetres: 100,
    maxFixAgeSeconds: 120,
    minBeaconRssi: -100,
    keepRawEvidence: false,
  };
}
