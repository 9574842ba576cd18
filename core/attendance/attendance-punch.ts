import { EvidenceSummary } from '../location/evidence-summary.js';
import type { Punch, PunchDirection, PunchMethod } from '../punch.js';

/** Where a punch says the person was, when it carries location evidence. */
export type LocationVerdict = 'inside' | 'outside';

/** The part of a punch attendance needs. */
export interface AttendancePunch {
  id: string;
  /** UTC instant, ISO-8601. */
  at: string;
  siteId: string;
  direction: PunchDirection;
  method: PunchMethod;
  clock: { synced: boolean; corrected?: boolean };
  location?: LocationVerdict;
  /** For a make-up punch: the approved request it came from. */
  approvalRef?: string;
}

export function toAttendancePunch(punch: Punch): AttendancePunch {
  const summary = punch.evidence === undefined ? undefined : EvidenceSummary.safeParse(punch.evidence);
  return {
    id: punch.id,
    at: punch.at,
    siteId: punch.siteId,
    direction: punch.direction,
    method: punch.method,
    clock: punch.clock,
    ...(summary?.success ? { location: summary.data.accepted ? ('inside' as const) : ('outside' as const) } : {}),
    ...(punch.approvalRef ? { approvalRef: punch.approvalRef } : {}),
  };
}
