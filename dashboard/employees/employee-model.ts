import { z } from 'zod';
import { CredentialKind } from '../../core/credential.js';
import { EntityId } from '../../core/punch.js';
import { heldBadgeMessage, mistakableBadgeMessage } from '../../provisioning/employee-import/validate-rows.js';
import type { Database } from '../../platform/sqlite.js';
import { BOOTSTRAP_TOKEN_ID } from '../auth/api-tokens.js';

/**
 * Employees and their badges as the console writes and shows them. The employee number is the
 * person's external id (payroll/HRIS): it is what rosters and punches carry as `employeeId`, so it
 * follows the same rules as every entity id on the wire.
 */

export const EmployeeNumber = EntityId;

/** A calendar day, `YYYY-MM-DD`, read in each site's time zone. */
export const CalendarDay = z.iso.date({ error: 'must be a calendar day YYYY-MM-DD' });

export const EmployeeStatus = z.enum(['active', 'inactive']);
export type EmployeeStatus = z.infer<typeof EmployeeStatus>;

const optionalText = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a string or null` })
    .trim()
    .min(1, `${field} must not be empty; leave it out or send null`)
    .max(max, `${field} may be at most ${max} characters`)
    .nullable()
    .optional();

/** Sites an employee may be listed at: enough for a roving area manager, bounded for rosters. */
export const MAX_EMPLOYEE_SITES = 200;

/** The body of `PUT /employees/:employeeNumber`: the whole employee (fields left out are cleared). */
export const EmployeeBody = z
  .object({
    name: z.string({ error: 'name must be a string' }).trim().min(1, 'name must not be empty').max(120, 'name may be at most 120 characters'),
    nameZh: optionalText('nameZh', 60),
    department: optionalText('department', 80),
    rank: optionalText('rank', 80),
    phone: z
      .string({ error: 'phone must be a string or null' })
      .trim()
      .regex(/^\+?[0-9][0-9 ()-]{2,31}$/, 'phone must be digits, optionally with +, spaces, dashes and brackets (e.g. +852 2345 6789)')
      .nullable()
      .optional(),
    email: z.email({ error: 'email must be an e-mail address' }).max(254, 'email may be at most 254 characters').nullable().optional(),
    sites: z
      .array(EntityId, { error: 'sites must be a list of site ids' })
      .max(MAX_EMPLOYEE_SITES, `an employee may be listed at most at ${MAX_EMPLOYEE_SITES} sites`)
      .default([])
      .superRefine((sites, ctx) => {
        sites.forEach((site, index) => {
          if (sites.indexOf(site) !== index) ctx.addIssue({ code: 'custom', path: [index], message: `lists site ${site} twice` });
        });
      }),
    activeFrom: CalendarDay.nullable().optional(),
    activeUntil: CalendarDay.nullable().optional(),
    status: EmployeeStatus.default('active'),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.activeFrom && body.activeUntil && body.activeUntil < body.activeFrom) {
      ctx.addIssue({ code: 'custom', path: ['activeUntil'], message: `must not be before activeFrom (${body.activeFrom})` });
    }
  });
export type EmployeeBody = z.output<typeof EmployeeBody>;
export type EmployeeBodyInput = z.input<typeof EmployeeBody>;

/** What the service writes: the body with its number. */
export interface EmployeeWrite extends EmployeeBody {
  employeeNumber: string;
}

export const CredentialView = z.object({ kind: CredentialKind, uid: z.string() });

/**
 * One badge assignment: current (revokedAt null) or past. Revoking keeps the row. `assignedBy`
 * and `revokedBy` are the actor's id (a user's or an API token's, or `system`); the `…ByName`
 * beside each is who that is now (a user's username, a token's name; see {@link actorNameOf}),
 * so that everyone who may read the history can read who made it, without the user list.
 */
export const BadgeView = z.object({
  id: z.number().int(),
  employeeNumber: z.string(),
  credential: CredentialView,
  assignedAt: z.string(),
  assignedBy: z.string().nullable(),
  assignedByName: z.string().nullable(),
  revokedAt: z.string().nullable(),
  revokedBy: z.string().nullable(),
  revokedByName: z.string().nullable(),
  revokeReason: z.string().nullable(),
});
export type BadgeView = z.infer<typeof BadgeView>;

/** One recorded consent to BLE tag tracking (PDPO opt-in): withdrawn ones stay as history. Names as in {@link BadgeView}. */
export const ConsentView = z.object({
  id: z.number().int(),
  employeeNumber: z.string(),
  recordedAt: z.string(),
  recordedBy: z.string().nullable(),
  recordedByName: z.string().nullable(),
  withdrawnAt: z.string().nullable(),
  withdrawnBy: z.string().nullable(),
  withdrawnByName: z.string().nullable(),
});
export type ConsentView = z.infer<typeof ConsentView>;

export const EmployeeView = z.object({
  employeeNumber: z.string(),
  name: z.string(),
  nameZh: z.string().nullable(),
  department: z.string().nullable(),
  rank: z.string().nullable(),
  phone: z.string().nullable(),
  email: z.string().nullable(),
  sites: z.array(z.string()),
  activeFrom: z.string().nullable(),
  activeUntil: z.string().nullable(),
  status: EmployeeStatus,
  /** When the status last became inactive (null while active). */
  inactiveSince: z.string().nullable(),
  /** Badges assigned now (history: `GET /employees/:n/badges`). */
  badges: z.array(BadgeView),
  /** The consent to BLE tag tracking in force, or null. */
  bleConsent: ConsentView.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type EmployeeView = z.infer<typeof EmployeeView>;

/**
 * The display name of an actor recorded by id in a history row: the user's username or the API
 * token's name as the database holds them now (`userName`, `tokenName`, joined by id), `system`
 * for changes the system made (imports, the CLI), the bootstrap token by its name; null when
 * nobody is recorded or the id is no longer known.
 */
export function actorNameOf(id: string | null, userName: string | null, tokenName: string | null): string | null {
  if (id === null) return null;
  if (userName !== null) return userName;
  if (tokenName !== null) return tokenName;
  if (id === 'system') return 'system';
  if (id === BOOTSTRAP_TOKEN_ID) return 'bootstrap token';
  return null;
}

/** Who makes a change: a signed-in user, an API token, or the system (imports, the CLI). */
export interface Actor {
  kind: 'user' | 'token' | 'system';
  id: string;
  name: string;
}

/** Who asks, and which sites they reach ('all' unless their role is site-scoped). */
export interface Access {
  /** Its id is recorded as assigned_by / revoked_by / recorded_by / withdrawn_by. */
  actor: Actor;
  sites: 'all' | readonly string[];
}

export const systemAccess = (name: string): Access => ({ actor: { kind: 'system', id: 'system', name }, sites: 'all' });

/**
 * One change, for the audit log (`action` is `entity.verb`, as the audit log's): called inside
 * the transaction that makes it, with that transaction's connection as `tx`, so an audit row
 * written there commits or rolls back with the change.
 */
export interface EntityChange {
  action: 'employee.create' | 'employee.update' | 'badge.assign' | 'badge.revoke' | 'ble-consent.record' | 'ble-consent.withdraw' | 'punch.assign-unknown';
  entity: 'employee' | 'badge' | 'ble-consent' | 'punch';
  entityId: string;
  before: unknown;
  after: unknown;
  actor: Actor;
}
export type ChangeListener = (change: EntityChange, tx: Database) => Promise<void> | void;

/** Whatever rebuilds gateway configs (ConfigPush): told which sites' rosters may have changed. */
export interface GatewayChanges {
  sitesChanged(siteIds: Iterable<string>): void;
}

export class EmployeeNotFoundError extends Error {
  override name = 'EmployeeNotFoundError';
  constructor(readonly employeeNumber: string) {
    super(`employee ${employeeNumber} does not exist`);
  }
}

/** Sites named in a write that do not exist: `index` is the position in `sites`. */
export class UnknownSitesError extends Error {
  override name = 'UnknownSitesError';
  constructor(readonly unknown: Array<{ index: number; siteId: string }>) {
    super(unknown.map((u) => `sites[${u.index}]: site ${u.siteId} does not exist`).join('; '));
  }
}

/** A site-scoped caller naming a site outside its reach. */
export class OutOfReachError extends Error {
  override name = 'OutOfReachError';
  constructor(readonly siteIds: string[]) {
    super(`you may not manage employees of site ${siteIds.join(', ')}`);
  }
}

export class BadgeHeldError extends Error {
  override name = 'BadgeHeldError';
  constructor(
    readonly credentialKey: string,
    readonly holder: string,
    /** The holder's badge when it is not this one but one a tap of it can be taken for (core mistakableFor). */
    readonly heldKey?: string,
  ) {
    super((heldKey === undefined ? heldBadgeMessage(credentialKey, holder) : mistakableBadgeMessage(credentialKey, heldKey, holder)).message);
  }
}

export class BadgeNotAssignedError extends Error {
  override name = 'BadgeNotAssignedError';
  constructor(credentialKey: string, employeeNumber: string) {
    super(`badge ${credentialKey} is not assigned to employee ${employeeNumber}`);
  }
}

