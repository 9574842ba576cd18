import { z } from 'zod';
import { EntityId } from '../../core/punch.js';

/**
 * An alert event: what the attendance code hands to `notifications.enqueue()`. Its `key` is the
 * idempotency key: one key, one notification, however often (and across however many restarts)
 * the same event is enqueued. Make it from what identifies the event, never from the time it was
 * noticed: `late:E001:2026-11-20`, `missed-punch:E001:2026-11-20:out`, `shift-reminder:E001:2026-11-21T01:00Z`.
 */

export const alertKinds = ['late', 'serious-late', 'early-leave', 'missed-punch', 'absence', 'shift-reminder', 'punch-on-leave'] as const;
export const AlertKind = z.enum(alertKinds);
export type AlertKind = z.infer<typeof AlertKind>;

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `may be at most ${max} characters`);
const Email = z.email({ error: 'must be an e-mail address' }).max(254, 'may be at most 254 characters');

export const AlertEvent = z
  .object({
    key: z
      .string()
      .min(1, 'must not be empty')
      .max(200, 'may be at most 200 characters')
      .regex(/^[\x21-\x7e]+$/, 'may hold only printable ASCII without spaces'),
    kind: AlertKind,
    /** When it happened (the late punch, the missed punch's deadline, the shift start), UTC. */
    occurredAt: z.iso.datetime({ error: 'must be an ISO-8601 UTC time such as 2026-11-20T01:05:00Z' }),
    employee: z
      .object({
        employeeNumber: EntityId,
        name: text(120),
        nameZh: text(60).nullish(),
        email: Email.nullish(),
      })
      .strict(),
    /** The employee's managers; those with an e-mail address are mailed too (not for shift reminders). */
    managers: z
      .array(z.object({ name: text(120), email: Email.nullish() }).strict())
      .max(20, 'may list at most 20 managers'),
    siteId: EntityId.optional(),
    /** The work day the event belongs to, in the site's time zone. */
    workDate: z.iso.date({ error: 'must be a calendar day YYYY-MM-DD' }).optional(),
    /** Whatever else the kind has to say: `{ minutesLate: 12, shiftStart: '09:00' }`. */
    details: z.record(z.string().max(64), z.union([z.string().max(500), z.number(), z.null()])).default({}),
  })
  .strict();
export type AlertEvent = z.infer<typeof AlertEvent>;
/** What a caller may pass (details may be left out). */
export type AlertEventInput = z.input<typeof AlertEvent>;

/** Who is mailed about an event: the employee and, except for shift reminders, the managers; each address once. */
export function mailRecipientsOf(event: AlertEvent): string[] {
  const addresses = [event.employee.email, ...(event.kind === 'shift-reminder' ? [] : event.managers.map((manager) => manager.email))];
  const seen = new Map<string, string>();
  for (const address of addresses) if (address) seen.set(address.toLowerCase(), seen.get(address.toLowerCase()) ?? address);
  return [...seen.values()];
}
