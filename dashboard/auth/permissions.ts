import { z } from 'zod';

/**
 * Who may do what in the console and the API: one table, also in docs/roles.md (a test checks the
 * two agree). Every route declares the permission it needs (`config: { permission }`): a
 * {@link Permission}, `authenticated` (any signed-in user or valid token: who am I, sign out,
 * change my password) or `public` (sign-in, health). A route that declares nothing makes the app
 * refuse to start (see `auth-plugin.ts`). A test walks the whole route table and proves each role
 * gets exactly this (403 otherwise, 401 when anonymous).
 */
export const roles = ['admin', 'hr', 'facilities', 'store-manager'] as const;
export const Role = z.enum(roles);
export type Role = z.infer<typeof Role>;

export const permissions = [
  'overview:read',
  'sites:read',
  'sites:write',
  'devices:read',
  'devices:write',
  'devices:command',
  'employees:read',
  'employees:write',
  'punches:read',
  'punches:write',
  'mobile-punches:create',
  'users:manage',
  'tokens:manage',
  'audit:read',
  'notifications:read',
  'notifications:replay',
  'webhooks:manage',
  'attendance:read',
  'schedules:write',
  'leave:write',
  'makeup:request',
  'makeup:approve',
  'hris:sync',
  'metrics:read',
] as const;
export const Permission = z.enum(permissions);
export type Permission = z.infer<typeof Permission>;

/**
 * What an integration client (OAuth 2.0 client credentials, docs/integrations.md) may be granted:
 * its scopes are permissions, and only these. People-facing and administrative permissions (users,
 * tokens, audit, devices, approvals) stay with people and API tokens. `metrics:read` is one so that
 * a Prometheus server scrapes with credentials good for nothing else (docs/metrics.md).
 */
export const integrationScopes = ['hris:sync', 'employees:read', 'employees:write', 'punches:read', 'attendance:read', 'sites:read', 'leave:write', 'metrics:read'] as const satisfies readonly Permission[];
export const IntegrationScope = z.enum(integrationScopes);
export type IntegrationScope = z.infer<typeof IntegrationScope>;

/** What a route may declare: a permission, any signed-in principal, or nobody at all. */
export const RoutePermission = z.union([Permission, z.literal('authenticated'), z.literal('public')]);
export type RoutePermission = z.infer<typeof RoutePermission>;

const all: readonly Permission[] = permissions;

export const rolePermissions: Readonly<Record<Role, readonly Permission[]>> = {
  admin: all,
  // People and their attendance; sees sites and devices to understand where punches come from.
  hr: [
    'overview:read',
    'sites:read',
    'devices:read',
    'employees:read',
    'employees:write',
    'punches:read',
    'punches:write',
    'mobile-punches:create',
    'notifications:read',
    'notifications:replay',
    'attendance:read',
    'schedules:write',
    'leave:write',
    'makeup:request',
    'makeup:approve',
  ],
  // Terminals and places; sees punches to check a terminal works, not people's records.
  facilities: ['overview:read', 'sites:read', 'sites:write', 'devices:read', 'devices:write', 'devices:command', 'punches:read', 'metrics:read'],
  // Their own stores only (site scope): staff, punches, terminals, and identify/resync.
  'store-manager': ['overview:read', 'sites:read', 'devices:read', 'devices:command', 'employees:read', 'punches:read', 'attendance:read', 'makeup:request', 'makeup:approve'],
};

/** Roles whose reach is limited to the sites listed on the account. */
export const siteScopedRoles: readonly Role[] = ['store-manager'];

export const roleDescriptions: Readonly<Record<Role, string>> = {
  admin: 'Everything, including users, API tokens and the audit log.',
  hr: 'People and their attendance; sees sites and devices to understand where punches come from.',
  facilities: "Terminals and places; sees punches to check a terminal works, not people's records.",
  'store-manager': 'Their own stores only (the sites listed on the account): staff, punches, terminals, identify/resync.',
};

export const permissionDescriptions: Readonly<Record<Permission, string>> = {
  'overview:read': 'see the overview page',
  'sites:read': 'list and read sites',
  'sites:write': 'create and change sites (location policy, beacons)',
  'devices:read': 'list devices and their status',
  'devices:write': 'register devices, push device configuration',
  'devices:command': 'send remote commands (identify, resync, reload)',
  'employees:read': 'list and read employees',
  'employees:write': 'create and change employees and badges',
  'punches:read': 'list punches',
  'punches:write': 'correct punches (manual punches)',
  'mobile-punches:create': 'submit punches from phones',
  'users:manage': 'create users, change their role and sites, disable them, reset passwords',
  'tokens:manage': 'create, list and revoke API tokens and integration clients (OAuth client credentials)',
  'audit:read': 'read the audit log',
  'attendance:read': 'read attendance results and reports (exports, payroll, late-arrival hotspots)',
  'schedules:write': 'change shifts, schedules, per-day overrides, holidays and attendance rules',
  'leave:write': 'enter, import and cancel leave',
  'makeup:request': 'file make-up punch (補卡) requests',
  'makeup:approve': 'approve or reject make-up punch requests (store managers first, HR for exceptions)',
  'notifications:read': 'list alerts sent to employees and managers, with their deliveries and attempts',
  'notifications:replay': 'send an alert delivery again (webhook or e-mail)',
  'webhooks:manage': 'create, change, test and delete webhook endpoints (their signing secrets)',
  'hris:sync': 'push employees from an HRIS in bulk (/api/v1/hris/...): create, update and deactivate by employee number',
  'metrics:read': 'scrape the Prometheus metrics at /metrics (devices and sites by id, ingest and HTTP traffic; no personal data)',
};

/** Who is asking: a signed-in user or an API token, with the sites it may reach ('all' or a list). */
export interface Principal {
  kind: 'user' | 'token';
  id: string;
  name: string;
  role: Role;
  sites: 'all' | readonly string[];
  /**
   * Set for an integration client's access token: the scopes it was granted. Such a principal may
   * use a permission only when its role has it AND it is among these (so scopes only ever narrow
   * the role). Undefined for users and API tokens: the role alone decides.
   */
  scopes?: readonly Permission[];
}

/** Whether the principal may use the permission: its role has it and, for a scoped token, its scopes too ('authenticated': any principal). */
export function can(principal: Pick<Principal, 'role' | 'scopes'>, permission: Permission | 'authenticated'): boolean {
  if (permission === 'authenticated') return true;
  return rolePermissions[principal.role].includes(permission) && (principal.scopes === undefined || principal.scopes.includes(permission));
}

/** Every permission the principal may use (its role's, narrowed by its scopes). */
export function permissionsOf(principal: Pick<Principal, 'role' | 'scopes'>): Permission[] {
  return rolePermissions[principal.role].filter((permission) => can(principal, permission));
}

/** Whether a principal may call a route that declares `permission`. */
export function allows(principal: Pick<Principal, 'role' | 'scopes'> | undefined, permission: RoutePermission): boolean {
  if (permission === 'public') return true;
  return principal !== undefined && can(principal, permission);
}

/** Whether the principal reaches this site (always, unless its role is site-scoped). */
export function reachesSite(principal: Pick<Principal, 'sites'>, siteId: string): boolean {
  return principal.sites === 'all' || principal.sites.includes(siteId);
}

/** The sites a principal reaches as a filter: undefined for all of them. */
export function siteFilter(principal: Pick<Principal, 'sites'> | undefined): readonly string[] | undefined {
  return !principal || principal.sites === 'all' ? undefined : principal.sites;
}

/** The role table as Markdown: docs/roles.md holds exactly this between its markers. */
export function rolesTableMarkdown(): string {
  const header = `| permission | what it allows | ${roles.join(' | ')} |`;
  const rule = `|---|---|${roles.map(() => ':-:').join('|')}|`;
  const rows = permissions.map((permission) => `| \`${permission}\` | ${permissionDescriptions[permission]} | ${roles.map((role) => (rolePermissions[role].includes(permission) ? 'yes' : '—')).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The permission a route needs: a {@link Permission}; 'authenticated' for any signed-in user
     * or valid token; 'public' for none (sign-in, health, static assets). Required on every route.
     */
    permission?: RoutePermission;
    /** Reachable by a user who must still change a one-time password (who am I, sign out, change password). */
    allowedBeforePasswordChange?: boolean;
  }
  interface FastifyRequest {
    /** Set by the auth plugin before any handler runs on a protected route. */
    principal?: Principal;
  }
}
