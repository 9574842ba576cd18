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

export const GatewayHealthSchema = z.object({
  ok: z.boolean(),
  deviceId: z.string(),
  siteId: z.string(),
  version: z.string(),
  startedAt: z.string(),
  readers: z.array(ReaderHealth),
  outbox: z.object({ pending: z.number().int(), acked: z.number().int(), rejected: z.number().int(), total: z.number().int() }),
  lastPunch: Punch.nullable(),
  clock: z.object({ now: z.string(), synced: z.boolean() }),
  roster: z.object({ entries: z.number().int(), source: z.string().nullable() }),
  taps: z.record(z.string(), z.number().int()),
  problems: z.array(z.string()),
});
export type GatewayHealth = z.infer<typeof GatewayHealthSchema>;
