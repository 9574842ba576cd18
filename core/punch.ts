import { z } from 'zod';
import { Credential } from './credential.js';
import { UtcInstant } from './time.js';

export const PunchMethod = z.enum(['badge', 'ble', 'mobile', 'manual']);
export type PunchMethod = z.infer<typeof PunchMethod>;

export const PunchDirection = z.enum(['in', 'out', 'auto']);
export type PunchDirection = z.infer<typeof PunchDirection>;

export const EntityId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'may hold only letters, digits, "_", "." and "-", starting with a letter or digit');

/**
 * Clock trust at the moment of the punch. `synced: false` means the gateway had not yet confirmed
 * its wall clock (a Pi without RTC booting offline); `corrected: true` means `at` was later
 * recomputed from the monotonic clock once the wall clock synced.
 */
export const PunchClock = z.object({
  synced: z.boolean(),
  corrected: z.boolean().optional(),
});

export const LocationEvidence = z.record(z.string(), z.unknown());

export const Punch = z.object({
  id: z.uuid(),
  deviceId: EntityId,
  siteId: EntityId,
  credential: Credential,
  employeeId: EntityId.nullable(),
  at: UtcInstant,
  clock: PunchClock,
  method: PunchMethod,
  direction: PunchDirection,
  seq: z.number().int().nonnegative(),
  evidence: LocationEvidence.optional(),
  /**
   * A make-up punch (method `manual`) made by the server when a request for it was approved: the
   * request's id. Gateways never set it.
   */
  approvalRef: z.string().min(1).max(64).optional(),
});
export type Punch = z.infer<typeof Punch>;
