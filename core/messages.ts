import { z } from 'zod';
import { EntityId, Punch } from './punch.js';
import { UtcInstant } from './time.js';

/** gateway -> server, QoS 1: `devices/{deviceId}/punches`. */
export const PunchBatch = z.object({
  batchId: z.uuid(),
  deviceId: EntityId,
  punches: z.array(Punch).min(1).max(5000),
});
export type PunchBatch = z.infer<typeof PunchBatch>;

/** server -> gateway, QoS 1: `devices/{deviceId}/acks`. Sent only after the database commit. */
export const PunchAck = z.object({
  batchId: z.uuid(),
  accepted: z.array(z.uuid()),
  rejected: z.array(z.object({ id: z.string(), reason: z.string() })),
});
export type PunchAck = z.infer<typeof PunchAck>;

export const ClockState = z.object({
  synced: z.boolean(),
  source: z.string().optional(),
});

/** gateway -> server, QoS 1, retained, and the last will: `devices/{deviceId}/status`. */
/** One presence part (BLE scanner, beacon advertiser, Wi-Fi check): its state and why, plus its figures. */
export const PresencePartStatus = z.object({ state: z.string(), reason: z.string().optional() }).catchall(z.unknown());
export const PresenceStatus = z.object({
  scanner: PresencePartStatus,
  advertiser: PresencePartStatus,
  wifi: PresencePartStatus,
  handsFree: z.object({ enabled: z.boolean(), clockedIn: z.number().int().nonnegative() }),
});
export type PresenceStatus = z.infer<typeof PresenceStatus>;

export const DeviceStatus = z.object({
  online: z.boolean(),
  version: z.string().optional(),
  configVersion: z.number().int().nonnegative().optional(),
  backlog: z.number().int().nonnegative().optional(),
  clock: ClockState.optional(),
  at: UtcInstant.optional(),
  readers: z
    .array(z.object({ id: z.string(), protocol: z.string(), state: z.string(), detail: z.string().optional() }))
    .optional(),
  alarms: z.array(z.string()).optional(),
  /** Punches the server refused (kept locally, never retried). */
  rejected: z.number().int().nonnegative().optional(),
  /** When the oldest unsent punch was taken: how far behind the gateway is. */
  oldestPendingAt: UtcInstant.optional(),
  /** Why the last config pushed was not applied, if it was not. */
  configError: z.string().optional(),
  /** BLE scanning, the rotating beacon, the Wi-Fi site check, hands-free punching. */
  presence: PresenceStatus.optional(),
});
export type DeviceStatus = z.infer<typeof DeviceStatus>;

/** server -> gateway, QoS 1: `devices/{deviceId}/commands`; answered on `.../replies`. */
export const DeviceCommand = z.object({
  requestId: z.string().min(1).max(64),
  command: z.enum(['resync', 'reload', 'identify']),
  args: z.record(z.string(), z.unknown()).optional(),
});
export type DeviceCommand = z.infer<typeof DeviceCommand>;

export const CommandReply = z.object({
  requestId: z.string(),
  ok: z.boolean(),
  error: z.string().optional(),
  result: z.record(z.string(), z.unknown()).optional(),
});
export type CommandReply = z.infer<typeof CommandReply>;

/** gateway -> server, QoS 0: `devices/{deviceId}/telemetry`. */
export const Telemetry = z.object({
  at: UtcInstant,
  counters: z.record(z.string(), z.number()),
});
export type Telemetry = z.infer<typeof Telemetry>;
