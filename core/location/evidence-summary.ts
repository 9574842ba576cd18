import { z } from 'zod';
import { MobileEvidence } from './mobile-evidence.js';
import { factorsOf, LocationFactor, type SiteLocationPolicy } from './site-location-policy.js';
import { VerdictReason, type Verdict } from './verify-evidence.js';

/**
 * What is stored with a mobile punch (`Punch.evidence`), under the PDPO's data-minimisation
 * principle: by default only the verdict, the factors that passed and the reasons (which carry
 * distances and counts, never coordinates, BSSIDs or beacon ids). Only a site whose policy sets
 * `keepRawEvidence` also keeps the phone's evidence, and then only the parts its rule looks at.
 * The replay keys of the verdict are never stored here.
 */
export const EVIDENCE_SUMMARY_VERSION = 1;

export const EvidenceSummary = z
  .object({
    /** Version of this shape. */
    v: z.literal(EVIDENCE_SUMMARY_VERSION),
    accepted: z.boolean(),
    factorsPassed: z.array(LocationFactor).max(3),
    reasons: z.array(VerdictReason).max(20),
    /** The phone's evidence, present only when the site keeps raw evidence. */
    raw: MobileEvidence.optional(),
  })
  .strict();
export type EvidenceSummary = z.output<typeof EvidenceSummary>;

/** Reduces a verdict (and, if the site asks for it, the evidence) to what the punch stores. */
export function summariseEvidence(verdict: Verdict, policy: SiteLocationPolicy, evidence: MobileEvidence): EvidenceSummary {
  const summary: EvidenceSummary = {
    v: EVIDENCE_SUMMARY_VERSION,
    accepted: verdict.accepted,
    factorsPassed: [...verdict.factorsPassed],
    reasons: verdict.reasons.map((r) => ({ ...r })),
  };
  if (policy.keepRawEvidence) {
    const used = factorsOf(policy.accept);
    const raw: MobileEvidence = {};
    if (used.includes('gps') && evidence.gps) raw.gps = { ...evidence.gps };
    if (used.includes('wifi') && evidence.wifi) {
      raw.wifi = {
        ...evidence.wifi,
        ...(evidence.wifi.scannedBssids ? { scannedBssids: [...evidence.wifi.scannedBssids] } : {}),
      };
    }
    if (used.includes('ble') && evidence.beacons) raw.beacons = evidence.beacons.map((b) => ({ ...b }));
    summary.raw = raw;
  }
  return summary;
}
