import { z } from 'zod';
import { Punch } from '../../core/punch.js';
import { DEFAULT_TIME_ZONE } from '../../core/time.js';
import { reachesSite, siteFilter, type Principal } from '../auth/permissions.js';
import type { DeviceRepository } from '../db/device-repository.js';
import type { PunchRepository } from '../db/punch-repository.js';
import type { SiteRepository } from '../db/site-repository.js';
import { dayWindow } from './day-window.js';
import { AttentionReason, liveStateOf } from './device-state.js';

/**
 * The overview: what a facilities team or a store manager looks at first. Devices online and
 * offline, the devices that want attention (offline, behind, backlog, ...), today's punches per
 * site (the site's own day, in its time zone) and the latest punches; all within the sites the
 * principal reaches.
 */

export const AttentionDevice = z.object({
  id: z.string(),
  siteId: z.string(),
  name: z.string().nullable(),
  enabled: z.boolean(),
  connection: z.enum(['online', 'offline', 'never-connected']),
  lastSeen: z.string().nullable(),
  backlog: z.number().int().nullable(),
  oldestPendingAt: z.string().nullable(),
  behindSeconds: z.number().int().nullable(),
  configRequested: z.number().int().nullable(),
  configApplied: z.number().int().nullable(),
  reasons: z.array(AttentionReason),
});
export type AttentionDevice = z.infer<typeof AttentionDevice>;

export const SiteDay = z.object({
  siteId: z.string(),
  name: z.string().nullable(),
  timeZone: z.string(),
  /** The site's calendar day now (YYYY-MM-DD), and its bounds in UTC [from, to). */
  day: z.string(),
  from: z.string(),
  to: z.string(),
  punches: z.number().int(),
});

export const Overview = z.object({
  generatedAt: z.string(),
  devices: z.object({
    total: z.number().int(),
    online: z.number().int(),
    /** Enabled devices not online now (never-connected included). */
    offline: z.number().int(),
    neverConnected: z.number().int(),
    disabled: z.number().int(),
    attention: z.number().int(),
  }),
  /** Offline or behind devices first, then the others wanting attention; at most `attentionLimit`. */
  attention: z.array(AttentionDevice),
  punchesToday: z.object({ total: z.number().int(), sites: z.array(SiteDay) }),
  recentPunches: z.array(Punch),
});
export type Overview = z.infer<typeof Overview>;

export interface OverviewQuery {
  /** Latest punches to include. */
  recent: number;
  /** A device whose oldest unsent punch is older than this is behind. */
  behindMinutes: number;
  attentionLimit: number;
}

export interface OverviewSources {
  devices: DeviceRepository;
  sites: SiteRepository;
  punches: PunchRepository;
  now: () => Date;
}

/** Lower is more urgent: the order of the attention list. */
const URGENCY: Record<AttentionReason, number> = {
  offline: 0,
  'never-connected': 1,
  behind: 2,
  backlog: 3,
  'reader-fault': 4,
  'config-error': 5,
  'clock-unsynced': 6,
  alarm: 7,
  'config-pending': 8,
  disabled: 9,
};

async function reachableSites(sites: SiteRepository, principal: Principal): Promise<Map<string, { name: string; timeZone: string }>> {
  const ids = siteFilter(principal);
  const found = new Map<string, { name: string; timeZone: string }>();
  let cursor: string | undefined;
  do {
    const page = await sites.list({ limit: 500, ...(cursor === undefined ? {} : { cursor }), ...(ids ? { ids } : {}) });
    for (const site of page.sites) found.set(site.id, { name: site.name, timeZone: site.timeZone });
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return found;
}

export async function buildOverview(sources: OverviewSources, principal: Principal, query: OverviewQuery): Promise<Overview> {
  const now = sources.now();
  const [allDevices, published, sites] = await Promise.all([sources.devices.list(), sources.devices.publishedConfigVersions(), reachableSites(sources.sites, principal)]);
  const devices = allDevices.filter((device) => reachesSite(principal, device.siteId));

  const counts = { total: devices.length, online: 0, offline: 0, neverConnected: 0, disabled: 0, attention: 0 };
  const attention: Array<AttentionDevice & { urgency: number }> = [];
  for (const device of devices) {
    const version = published.get(device.id);
    const applied = device.status?.configVersion ?? null;
    const live = liveStateOf(
      device,
      version
        ? {
            deviceId: device.id,
            siteId: device.siteId,
            published: version.version,
            publishedAt: version.publishedAt,
            applied,
            pending: (applied ?? 0) < version.version,
            queued: false,
            configError: device.status?.configError ?? null,
          }
        : undefined,
      { now, behindAfterMinutes: query.behindMinutes },
    );
    if (!device.enabled) counts.disabled += 1;
    else if (live.connection === 'online') counts.online += 1;
    else {
      counts.offline += 1;
      if (live.connection === 'never-connected') counts.neverConnected += 1;
    }
    if (live.attention.length === 0) continue;
    counts.attention += 1;
    attention.push({
      id: device.id,
      siteId: device.siteId,
      name: device.name,
      enabled: device.enabled,
      connection: live.connection,
      lastSeen: live.lastSeen,
      backlog: live.backlog.pending,
      oldestPendingAt: live.backlog.oldestPendingAt,
      behindSeconds: live.backlog.behindSeconds,
      configRequested: live.config.requested,
      configApplied: live.config.applied,
      reasons: live.attention,
      urgency: Math.min(...live.attention.map((reason) => URGENCY[reason])),
    });
  }
  attention.sort((a, b) => a.urgency - b.urgency || (b.behindSeconds ?? -1) - (a.behindSeconds ?? -1) || a.id.localeCompare(b.id));

  // Today per site: the registered sites reached, and the sites of reached devices (a gateway may
  // punch for a site not registered yet: the default time zone then).
  const siteIds = new Set([...sites.keys(), ...devices.map((device) => device.siteId)]);
  const siteDays = [];
  for (const siteId of [...siteIds].sort()) {
    const site = sites.get(siteId);
    const timeZone = site?.timeZone ?? DEFAULT_TIME_ZONE;
    const window = dayWindow(now, timeZone);
    siteDays.push({ siteId, name: site?.name ?? null, timeZone, ...window, punches: await sources.punches.countAtSite(siteId, window.from, window.to) });
  }

  const scope = siteFilter(principal);
  const recent = await sources.punches.query({ limit: query.recent, ...(scope ? { siteIds: scope } : {}) });
  return {
    generatedAt: now.toISOString(),
    devices: counts,
    attention: attention.slice(0, query.attentionLimit).map(({ urgency: _urgency, ...device }) => device),
    punchesToday: { total: siteDays.reduce((sum, day) => sum + day.punches, 0), sites: siteDays },
    recentPunches: recent.punches,
  };
}
