import { z } from 'zod';
import { Credential, CredentialKind, normalizeCredential, CredentialError } from './credential.js';
import { EntityId } from './punch.js';
import { UtcInstant } from './time.js';

/**
 * A roster entry as written by people (roster file, CSV, dashboard): the uid may be given in any
 * form the kind accepts and is normalised here, so "62E3086CED" and "E3086CED" are the same card.
 */
export const RosterEntry = z
  .object({
    credential: z.object({ kind: CredentialKind, uid: z.string().min(2).max(64) }),
    employeeId: EntityId,
    name: z.string().min(1).max(120),
    status: z.enum(['active', 'revoked']).default('active'),
    /**
     * When the employee's consent to BLE tag tracking was recorded (PDPO: opt-in per person). Only
     * a `ble-tag` entry with it may punch hands-free; without it the tag is never tracked.
     */
    bleConsentAt: UtcInstant.optional(),
  })
  .transform((entry, ctx): { credential: Credential; employeeId: string; name: string; status: 'active' | 'revoked'; bleConsentAt?: string } => {
    if (entry.bleConsentAt !== undefined && entry.credential.kind !== 'ble-tag') {
      ctx.addIssue({ code: 'custom', path: ['bleConsentAt'], message: `is for ble-tag credentials only, not ${entry.credential.kind}` });
      return z.NEVER;
    }
    try {
      return { ...entry, credential: normalizeCredential(entry.credential) };
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        path: ['credential', 'uid'],
        message: error instanceof CredentialError ? error.message : String(error),
      });
      return z.NEVER;
    }
  });
export type RosterEntry = z.output<typeof RosterEntry>;

export const Roster = z.array(RosterEntry).superRefine((entries, ctx) => {
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const key = `${entry.credential.kind}:${entry.credential.uid}`;
    const first = seen.get(key);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [index, 'credential'],
        message: `credential ${key} is already given to entry ${first} (${entries[first]?.employeeId})`,
      });
    } else {
      seen.set(key, index);
    }
  });
});
export type Roster = z.output<typeof Roster>;
