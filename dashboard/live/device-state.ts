import { z } from 'zod';
import type { DeviceStatus } from '../../core/messages.js';
import type { ConfigStatus } from '../config-push/config-push.js';
import type { DeviceRecord } from '../db/device-repository.js';

/**
 * A device's live state as the console shows it, derived from what the gateway last said about
 * itself (its retained status and last will, see StatusIngest) and from the config push: one
 * derivation for `GET /devices/:id` and the overview, so that both say the same.
 */

/** How a part of a gateway is doing: ok, degraded (needs a look), off (not used there), unknown (not reported). */
export const HealthLevel = z.enum(['ok', 'degraded', 'off', 'unknown']);
export type HealthLevel = z.infer<typeof HealthLevel>;

export const PartHealth = z.object({
  level: HealthLevel,
  /** The state the gateway reported (e.g. `scanning`, `unavailable`), null when it reported none. */
  state: z.string().nullable(),
  reason: z.string().nullable(),
});
export type PartHealth = z.infer<typeof PartHealth>;

export const ReaderHealth = PartHealth.extend({
  readers: z.array(z.object({ id: z.string(), protocol: z.string(), state: z.string(), detail: z.string().nullable() })),
});

/** Why a device wants attention; the overview lists devices with any. */
export const AttentionReason = z.enum([
  'disabled',
  'never-connected',
  'offline',
  /** Unsent punches waiting at the gateway (backlog > 0). */
  'backlog',
  /** The oldest unsent punch is older than the threshold. */
  'behind',
  'clock-unsynced',
  'config-pending',
  'config-error',
  'reader-fault',
  'alarm',
]);
export type AttentionReason = z.infer<typeof AttentionReason>;

export const DeviceLiveState = z.object({
  connection: z.enum(['online', 'offline', 'never-connected']),
  lastSeen: z.string().nullable(),
  /** When the gateway's last status arrived. */
  statusAt: z.string().nullable(),
  softwareVersion: z.string().nullable(),
  backlog: z.object({
    /** Punches taken but not yet acknowledged by the server; null when the gateway did not say. */
    pending: z.number().int().nullable(),
    oldestPendingAt: z.string().nullable(),
    /** How far behind the gateway is: now minus its oldest unsent punch, in seconds. */
    behindSeconds: z.number().int().nullable(),
    /** Punches the server refused, kept at the gateway. */
    rejected: z.number().int().nullable(),
  }),
  clock: z.object({ synced: z.boolean(), source: z.string().nullable() }).nullable(),
  config: z.object({
    /** The version last published for it (requested); null when none was. */
    requested: z.number().int().nullable(),
    requestedAt: z.string().nullable(),
    /** The version the gateway reported applied. */
    applied: z.number().int().nullable(),
    /** Published but not yet applied. */
    pending: z.boolean(),
    /** A change affecting it is waiting for the next publish. */
    queued: z.boolean(),
    error: z.string().nullable(),
  }),
  health: z.object({
    readers: ReaderHealth,
    bleScanner: PartHealth,
    bleAdvertiser: PartHealth,
    wifi: PartHealth,
    handsFree: z.object({ enabled: z.boolean(), clockedIn: z.number().int() }).nullable(),
  }),
  alarms: z.array(z.string()),
  attention: z.array(AttentionReason),
});
export type DeviceLiveState = z.infer<typeof DeviceLiveState>;

export interface LiveStateOptions {
  now: Date;
  /** A gateway whose oldest unsent punch is older than this is `behind` (default 10 minutes). */
  behindAfterMinutes?: number;
}

const OFF_STATES = new Set(['disabled', 'not-configured']);
const OK_STATES = new Set(['ok', 'scanning', 'advertising', 'ready']);

function partHealth(part: { state: string; reason?: string | undefined } | undefined): PartHealth {
  if (!part) return { level: 'unknown', state: null, reason: null };
  const level: HealthLevel = OK_STATES.has(part.state) ? 'ok' : OFF_STATES.has(part.state) ? 'off' : 'degraded';
  return { level, state: part.state, reason: part.reason ?? null };
}

function readerHealth(readers: DeviceStatus['readers']): z.infer<typeof ReaderHealth> {
  const list = (readers ?? []).map((reader) => ({ id: reader.id, protocol: reader.protocol, state: reader.state, detail: reader.detail ?? null }));
  if (readers === undefined) return { level: 'unknown', state: null, reason: null, readers: list };
  if (list.length === 0) return { level: 'off', state: null, reason: 'no badge reader configured', readers: list };
  const faulty = list.filter((reader) => reader.state !== 'ready');
  if (faulty.length === 0) return { level: 'ok', state: 'ready', reason: null, readers: list };
  return {
    level: 'degraded',
    state: faulty.length === list.length ? (faulty[0]?.state ?? null) : 'partly-ready',
    reason: faulty.map((reader) => `${reader.id}: ${reader.state}${reader.detail ? ` (${reader.detail})` : ''}`).join('; '),
    readers: list,
  };
}

/** The live state of a device from its record and its config status (undefined: nothing published yet). */
export function liveStateOf(device: DeviceRecord, config: ConfigStatus | undefined, options: LiveStateOptions): DeviceLiveState {
  const status = device.status;
  const connection = device.online ? 'online' : device.lastSeen === null && device.statusAt === null ? 'never-connected' : 'offline';
  const oldest = status?.oldestPendingAt ?? null;
  const behindSeconds = oldest === null ? null : Math.max(0, Math.floor((options.now.getTime() - Date.parse(oldest)) / 1000));
  const behindAfter = (options.behindAfterMinutes ?? 10) * 60;
  const pending = status?.backlog ?? null;
  const readers = readerHealth(status?.readers);
  const presence = status?.presence;
  const configView = {
    requested: config?.published ?? null,
    requestedAt: config?.publishedAt ?? null,
    applied: config?.applied ?? status?.configVersion ?? null,
    pending: config?.pending ?? false,
    queued: config?.queued ?? false,
    error: config?.configError ?? status?.configError ?? null,
  };

  const attention: AttentionReason[] = [];
  // A disabled device is meant to be off: that it is offline is no news.
  if (!device.enabled) attention.push('disabled');
  else if (connection === 'never-connected') attention.push('never-connected');
  else if (connection === 'offline') attention.push('offline');
  if (pending !== null && pending > 0) attention.push('backlog');
  if (behindSeconds !== null && pending !== 0 && behindSeconds > behindAfter) attention.push('behind');
  if (status?.clock && !status.clock.synced) attention.push('clock-unsynced');
  // Offline, it cannot apply anything (and its last will says nothing of its config): offline says it all.
  if (configView.pending && connection === 'online') attention.push('config-pending');
  if (configView.error !== null) attention.push('config-error');
  if (readers.level === 'degraded') attention.push('reader-fault');
  if ((status?.alarms ?? []).length > 0) attention.push('alarm');

  return {
    connection,
    lastSeen: device.lastSeen,
    statusAt: device.statusAt,
    softwareVersion: status?.version ?? null,
    backlog: { pending, oldestPendingAt: oldest, behindSeconds, rejected: status?.rejected ?? null },
    clock: status?.clock ? { synced: status.clock.synced, source: status.clock.source ?? null } : null,
    config: configView,
    health: {
      readers,
      bleScanner: partHealth(presence?.scanner),
      bleAdvertiser: partHealth(presence?.advertiser),
      wifi: partHealth(presence?.wifi),
      handsFree: presence ? { enabled: presence.handsFree.enabled, clockedIn: presence.handsFree.clockedIn } : null,
    },
    alarms: status?.alarms ?? [],
    attention,
  };
}
