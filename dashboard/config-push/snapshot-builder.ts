import { credentialKey, CredentialKind } from '../../core/credential.js';
import type { AttendanceSnapshotInput } from '../../core/attendance/index.js';
import type { DeviceConfigSnapshotInput } from '../../core/config-snapshot.js';
import type { PresenceSettings } from '../../core/presence-settings.js';
import { localDay } from '../../core/time.js';
import type { ConfigContent } from '../config-publisher.js';
import type { Site, SiteRepository } from '../db/site-repository.js';
import type { EmployeeRepository, SiteBadgeRow } from '../employees/employee-repository.js';

type RosterEntryInput = DeviceConfigSnapshotInput['roster'][number];
type PresenceInput = NonNullable<DeviceConfigSnapshotInput['presence']>;
export type HandsFreeSetting = NonNullable<PresenceSettings['handsFree']>;

/** A roster entry's name is at most this long (core/roster.ts). */
const MAX_ROSTER_NAME = 120;

export interface SnapshotBuilderOptions {
  employees: EmployeeRepository;
  sites: SiteRepository;
  /** Revoked badges (and badges of employees who stopped) stay in rosters as `revoked` this long. */
  revokedRetentionDays: number;
  /**
   * A site's hands-free setting, replacing the one stored with the site (`site.handsFree`, the
   * default); undefined: left out of the snapshot (the gateway then runs with hands-free off).
   */
  handsFree?: (site: Site) => HandsFreeSetting | undefined;
  /** Schedules and rules for the people on a site's roster, so its gateways can say "late by 4 min". */
  attendance?: (employeeIds: readonly string[], today: string) => Promise<AttendanceSnapshotInput | undefined>;
  now: () => Date;
}

/** What every device of one site shares: the site and its roster, built once per site. */
export interface SiteSnapshotBase {
  site: Site;
  roster: RosterEntryInput[];
  attendance?: AttendanceSnapshotInput;
}

/** "Chan Tai Man 陳大文", cut to what a roster holds (by code points, never inside a character). */
export function rosterName(name: string, nameZh: string | null): string {
  const full = nameZh ? `${name} ${nameZh}` : name;
  const chars = Array.from(full);
  return chars.length <= MAX_ROSTER_NAME ? full : chars.slice(0, MAX_ROSTER_NAME).join('').trimEnd();
}

interface Candidate {
  entry: RosterEntryInput;
  /** Which of two rows for one credential wins: active first, then the most recent. */
  rank: [number, string];
}

/**
 * Builds device config snapshots from the central database: the device's site, the roster of
 * everyone listed at the site, and the site's presence settings (Wi-Fi access points, the
 * gateway's own EID beacon key, the site's rotating iBeacon, the site's hands-free setting,
 * always stated, on or off).
 *
 * Roster rules, in the site's local day:
 * - a badge in force of an employee who is `active` and within activeFrom..activeUntil: `active`;
 * - a badge revoked within the retention window: `revoked` (the gateway refuses and logs the tap);
 * - a badge in force of an employee who is inactive, past activeUntil or not yet at activeFrom:
 *   `revoked`, while that state began within the retention window (not yet started: always);
 * - older ones are left out (the tap is then `unknown`);
 * - one entry per credential: an active one wins over revoked ones, else the latest revocation.
 * `ble-tag` entries carry `bleConsentAt` while the holder's consent is in force.
 */
export class SnapshotBuilder {
  constructor(private readonly options: SnapshotBuilderOptions) {}

  /** The site's part of every snapshot, or undefined when the site does not exist. */
  async siteBase(siteId: string): Promise<SiteSnapshotBase | undefined> {
    const site = await this.options.sites.get(siteId);
    if (!site) return undefined;
    const now = this.options.now();
    const revokedSince = new Date(now.getTime() - this.options.revokedRetentionDays * 86_400_000).toISOString();
    const rows = await this.options.employees.siteBadges(siteId, revokedSince);
    const today = localDay(now, site.timeZone);
    const roster = buildRoster(rows, { today, now: now.toISOString(), revokedSince });
    const people = [...new Set(roster.filter((entry) => entry.status !== 'revoked').map((entry) => entry.employeeId))];
    const attendance = this.options.attendance ? await this.options.attendance(people, today) : undefined;
    return { site, roster, ...(attendance ? { attendance } : {}) };
  }

  /** The snapshot content for one device of the site. */
  contentFor(base: SiteSnapshotBase, deviceId: string): ConfigContent {
    const { site } = base;
    const presence: PresenceInput = { wifi: { expectedBssids: [...site.policy.allowedBssids] } };
    const eid = site.beacons.find((beacon) => beacon.kind === 'eid' && beacon.gatewayId === deviceId);
    const ibeacon = site.beacons.find((beacon) => beacon.kind === 'ibeacon-minor');
    if (eid?.kind === 'eid' || ibeacon?.kind === 'ibeacon-minor') {
      presence.beacon = {
        ...(eid?.kind === 'eid' ? { eid: { identityKey: eid.identityKey, rotationExponent: eid.rotationExponent, epochUnixSeconds: eid.epochUnixSeconds } } : {}),
        ...(ibeacon?.kind === 'ibeacon-minor'
          ? { ibeacon: { uuid: ibeacon.uuid, major: ibeacon.major, siteKey: ibeacon.siteKey, rotationExponent: ibeacon.rotationExponent } }
          : {}),
      };
    }
    const handsFree = this.options.handsFree ? this.options.handsFree(site) : site.handsFree;
    if (handsFree) presence.handsFree = { enabled: handsFree.enabled, punchOutAfterSeconds: handsFree.punchOutAfterSeconds };
    return { site: { id: site.id, name: site.name, timeZone: site.timeZone, ...(site.languages ? { languages: [...site.languages] } : {}) }, roster: base.roster, presence, ...(base.attendance ? { attendance: base.attendance } : {}) };
  }

  /** Both steps, for one device at one site. */
  async contentForDevice(deviceId: string, siteId: string): Promise<ConfigContent | undefined> {
    const base = await this.siteBase(siteId);
    return base ? this.contentFor(base, deviceId) : undefined;
  }
}

/** See {@link SnapshotBuilder}: the roster of one site from its badge rows, sorted by credential. */
export function buildRoster(rows: readonly SiteBadgeRow[], at: { today: string; now: string; revokedSince: string }): RosterEntryInput[] {
  const chosen = new Map<string, Candidate>();
  for (const row of rows) {
    const kind = CredentialKind.safeParse(row.kind);
    if (!kind.success) continue;
    const state = rosterState(row, at);
    if (!state) continue;
    const credential = { kind: kind.data, uid: row.uid };
    const entry: RosterEntryInput = {
      credential,
      employeeId: row.employeeNumber,
      name: rosterName(row.name, row.nameZh),
      status: state.status,
      ...(state.status === 'active' && kind.data === 'ble-tag' && row.consentAt ? { bleConsentAt: row.consentAt } : {}),
    };
    const key = credentialKey(credential);
    const candidate: Candidate = { entry, rank: [state.status === 'active' ? 1 : 0, state.since] };
    const current = chosen.get(key);
    if (!current || compareRank(candidate.rank, current.rank) > 0) chosen.set(key, candidate);
  }
  return [...chosen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, candidate]) => candidate.entry);
}

function compareRank(a: [number, string], b: [number, string]): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

function rosterState(row: SiteBadgeRow, at: { today: string; now: string; revokedSince: string }): { status: 'active' | 'revoked'; since: string } | undefined {
  if (row.revokedAt !== null) return { status: 'revoked', since: row.revokedAt };
  const started = row.activeFrom === null || row.activeFrom <= at.today;
  const notEnded = row.activeUntil === null || row.activeUntil >= at.today;
  if (row.employeeStatus === 'active' && started && notEnded) return { status: 'active', since: row.assignedAt };
  // Not active now: since when does it matter?
  let since: string;
  if (row.employeeStatus !== 'active') since = row.inactiveSince ?? at.now;
  else if (!notEnded) since = `${row.activeUntil}T23:59:59.999Z`;
  else since = at.now; // not started yet: refuse, and keep refusing until the first day
  return since >= at.revokedSince ? { status: 'revoked', since } : undefined;
}
