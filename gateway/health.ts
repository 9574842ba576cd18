import { PresenceStatus } from '../core/messages.js';
import { z } from 'zod';
import { Punch } from '../core/punch.js';

export const ReaderHealth = z.object({
  id: z.string(),
  protocol: z.string(),
  path: z.string(),
  state: z.string(),
  detail: z.string().optional(),
  reads: z.number().int(),
  badFrames: z.number().int(),
  firmware: z.string().optional(),
});

/** The MQTT uplink: connection, drain counters. `enabled: false` when the config has no `mqtt`. */
export const UplinkHealthSchema = z.discriminatedUnion('enabled', [
  z.object({ enabled: z.literal(false) }),
  z.object({
    enabled: z.literal(true),
    state: z.enum(['idle', 'connecting', 'connected', 'waiting', 'stopped']),
    /** The broker URL without credentials. */
    url: z.string(),
    since: z.string().nullable(),
    connects: z.number().int(),
    lastError: z.string().nullable(),
    inFlight: z.number().int(),
    batchesSent: z.number().int(),
    resends: z.number().int(),
    punchesAcked: z.number().int(),
    punchesRejected: z.number().int(),
    ignoredAcks: z.number().int(),
    lastAckAt: z.string().nullable(),
    /** The boot whose unsynced punches wait for the clock, if any. */
    holding: z.string().nullable(),
  }),
]);
export type UplinkHealthReport = z.infer<typeof UplinkHealthSchema>;

export const StorageHealthSchema = z.object({
  alarms: z.array(z.string()),
  pending: z.number().int().nullable(),
  freeMegabytes: z.number().int().nullable(),
  lastPruneAt: z.string().nullable(),
  pruned: z.number().int(),
});

export const GatewayHealthSchema = z.object({
  ok: z.boolean(),
  deviceId: z.string(),
  siteId: z.string(),
  version: z.string(),
  startedAt: z.string(),
  readers: z.array(ReaderHealth),
  outbox: z.object({ pending: z.number().int(), acked: z.number().int(), rejected: z.number().int(), total: z.number().int() }),
  lastPunch: Punch.nullable(),
  clock: z.object({ now: z.string(), synced: z.boolean(), source: z.string().optional() }),
  roster: z.object({ entries: z.number().int(), source: z.string().nullable() }),
  /** The pushed config in force (version 0: the local config file rules) and why the last push was refused. */
  config: z.object({ version: z.number().int(), error: z.string().nullable() }),
  taps: z.record(z.string(), z.number().int()),
  uplink: UplinkHealthSchema,
  storage: StorageHealthSchema,
  presence: PresenceStatus,
  problems: z.array(z.string()),
});
export type GatewayHealth = z.infer<typeof GatewayHealthSchema>;
