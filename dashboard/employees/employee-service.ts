import { credentialKey, normalizeCredential, type Credential, type CredentialKind } from '../../core/credential.js';
import type { Database } from '../../platform/sqlite.js';
import type { PunchRepository } from '../db/punch-repository.js';
import {
  BadgeHeldError,
  BadgeNotAssignedError,
  EmployeeNotFoundError,
  OutOfReachError,
  UnknownSitesError,
  type Access,
  type BadgeView,
  type ChangeListener,
  type ConsentView,
  type EmployeeBody,
  type EmployeeView,
  type EntityChange,
  type GatewayChanges,
} from './employee-model.js';
import { EmployeeRepository, inactiveSinceAfter, type EmployeeQuery, type Page } from './employee-repository.js';

export interface EmployeeServiceOptions {
  db: Database;
  /** For `assignUnknown`. */
  punches: PunchRepository;
  now?: () => Date;
  /** Called for every change inside its transaction (the audit log plugs in here). */
  onChange?: ChangeListener;
  /** Told, after the commit, which sites' gateways may need a new roster (ConfigPush). */
  gateways?: GatewayChanges;
}

function reaches(access: Access, siteId: string): boolean {
  return access.sites === 'all' || access.sites.includes(siteId);
}

/**
 * The employee as a read would give it right after `repository.put` wrote `body` over `before`
 * (undefined: a new employee): badges and consent are the ones it had.
 */
function viewAfterWrite(employeeNumber: string, body: EmployeeBody, before: EmployeeView | undefined, at: string): EmployeeView {
  return {
    employeeNumber,
    name: body.name,
    nameZh: body.nameZh ?? null,
    department: body.department ?? null,
    rank: body.rank ?? null,
    phone: body.phone ?? null,
    email: body.email ?? null,
    sites: [...body.sites].sort(),
    activeFrom: body.activeFrom ?? null,
    activeUntil: body.activeUntil ?? null,
    status: body.status,
    inactiveSince: inactiveSinceAfter(body.status, before, at),
    badges: before?.badges ?? [],
    bleConsent: before?.bleConsent ?? null,
    createdAt: before?.createdAt ?? at,
    updatedAt: at,
  };
}

/** Refuses a write the caller may not make: an employee out of its reach, or sites out of it. */
function checkReach(employeeNumber: string, before: EmployeeView | undefined, body: EmployeeBody, access: Access): void {
  if (before && !reachesEmployee(access, before.sites)) throw new EmployeeNotFoundError(employeeNumber);
  const outside = body.sites.filter((site) => !reaches(access, site));
  if (outside.length > 0) throw new OutOfReachError(outside);
}

/** A site-scoped caller reaches an employee listed at one of its sites. */
function reachesEmployee(access: Access, sites: readonly string[]): boolean {
  return access.sites === 'all' || sites.some((site) => reaches(access, site));
}

/**
 * Employees, their badges and their BLE consent: every write in one transaction that also calls
 * `onChange` (audit), then tells the gateways' config push which sites changed. Reads and writes
 * respect the caller's site reach: an employee outside it does not exist for the caller.
 */
export class EmployeeService {
  readonly repository: EmployeeRepository;
  private readonly db: Database;
  private readonly now: () => Date;
  /** Settable after construction, so the composition root can wire ConfigPush in either order. */
  gateways: GatewayChanges | undefined;
  onChange: ChangeListener | undefined;

  constructor(private readonly options: EmployeeServiceOptions) {
    this.db = options.db;
    this.repository = new EmployeeRepository(options.db);
    this.now = options.now ?? (() => new Date());
    this.gateways = options.gateways;
    this.onChange = options.onChange;
  }

  async get(employeeNumber: string, access: Access): Promise<EmployeeView | undefined> {
    const employee = await this.repository.get(employeeNumber);
    return employee && reachesEmployee(access, employee.sites) ? employee : undefined;
  }

  list(query: Omit<EmployeeQuery, 'reach'>, access: Access): Promise<Page<EmployeeView>> {
    return this.repository.list({ ...query, reach: access.sites });
  }

  /** Creates or replaces an employee. Refuses unknown sites (UnknownSitesError) and sites out of reach. */
  async put(employeeNumber: string, body: EmployeeBody, access: Access): Promise<{ employee: EmployeeView; created: boolean }> {
    const result = await this.db.transaction(async () => {
      const { employee, created, before } = await this.putInTransaction(employeeNumber, body, access);
      return { employee, created, touched: [...(before?.sites ?? []), ...employee.sites] };
    });
    this.gateways?.sitesChanged(result.touched);
    return { employee: result.employee, created: result.created };
  }

  /** Assigns a badge (uid in any form its kind accepts). BadgeHeldError when another employee holds it. */
  async assignBadge(employeeNumber: string, badge: { kind: CredentialKind; uid: string }, access: Access): Promise<{ badge: BadgeView; created: boolean }> {
    const credential = normalizeCredential(badge);
    const result = await this.db.transaction(() => this.assignInTransaction(employeeNumber, credential, access));
    if (result.created) this.gateways?.sitesChanged(result.sites);
    return { badge: result.badge, created: result.created };
  }

  /** Revokes a badge the employee holds now; the assignment row stays, with revoked_at/by. */
  async revokeBadge(employeeNumber: string, badge: { kind: CredentialKind; uid: string }, access: Access, reason?: string): Promise<BadgeView> {
    const credential = normalizeCredential(badge);
    const result = await this.db.transaction(() => this.revokeInTransaction(employeeNumber, credential, access, reason));
    this.gateways?.sitesChanged(result.sites);
    return result.badge;
  }

  /** revokeBadge's work, for a caller that holds the transaction (and tells the gateways itself). */
  async revokeInTransaction(employeeNumber: string, credential: Credential, access: Access, reason?: string): Promise<{ badge: BadgeView; sites: string[] }> {
    const employee = await this.reachable(employeeNumber, access);
    const current = await this.repository.currentAssignment(credential);
    if (!current || current.employeeNumber !== employeeNumber) throw new BadgeNotAssignedError(credentialKey(credential), employeeNumber);
    await this.repository.revokeBadge(current.id, this.now().toISOString(), access.actor.id, reason ?? null);
    const after = (await this.repository.badge(current.id)) as BadgeView;
    await this.changed({ action: 'badge.revoke', entity: 'badge', entityId: credentialKey(credential), before: current, after, actor: access.actor });
    return { badge: after, sites: employee.sites };
  }

  /** Every assignment of the employee's, current and past, newest first. */
  async badgeHistory(employeeNumber: string, page: { limit: number; cursor?: string }, access: Access): Promise<Page<BadgeView>> {
    await this.reachable(employeeNumber, access);
    return this.repository.badgeHistory(employeeNumber, page);
  }

  /**
   * Records (`consent: true`) or withdraws consent to BLE tag tracking. Recording when consent is
   * in force, or withdrawing when none is, changes nothing (`changed: false`).
   */
  async setBleConsent(employeeNumber: string, consent: boolean, access: Access): Promise<{ consent: ConsentView | null; changed: boolean }> {
    const result = await this.db.transaction(() => this.consentInTransaction(employeeNumber, consent, access));
    if (result.changed) this.gateways?.sitesChanged(result.sites);
    return { consent: result.consent, changed: result.changed };
  }

  /**
   * setBleConsent's work, for a caller that holds the transaction (and tells the gateways
   * itself). `at`: when the consent was given, if not now (an import's consent date).
   */
  async consentInTransaction(employeeNumber: string, consent: boolean, access: Access, at?: string): Promise<{ consent: ConsentView | null; changed: boolean; sites: string[] }> {
    const employee = await this.reachable(employeeNumber, access);
    const current = await this.repository.currentConsent(employeeNumber);
    const now = this.now().toISOString();
    if (consent && !current) {
      const id = await this.repository.recordConsent(employeeNumber, at ?? now, access.actor.id);
      const after = (await this.repository.consent(id)) as ConsentView;
      await this.changed({ action: 'ble-consent.record', entity: 'ble-consent', entityId: employeeNumber, before: null, after, actor: access.actor });
      return { consent: after, changed: true, sites: employee.sites };
    }
    if (!consent && current) {
      await this.repository.withdrawConsent(current.id, now, access.actor.id);
      const after = (await this.repository.consent(current.id)) as ConsentView;
      await this.changed({ action: 'ble-consent.withdraw', entity: 'ble-consent', entityId: employeeNumber, before: current, after, actor: access.actor });
      return { consent: null, changed: true, sites: employee.sites };
    }
    return { consent: current ?? null, changed: false, sites: [] };
  }

  async consentHistory(employeeNumber: string, page: { limit: number; cursor?: string }, access: Access): Promise<Page<ConsentView>> {
    await this.reachable(employeeNumber, access);
    return this.repository.consentHistory(employeeNumber, page);
  }

  /**
   * Gives the punches an unknown badge made (employee_id NULL) to an employee, within [from, to)
   * when given, and only at sites the caller reaches. Returns how many punches changed.
   */
  async assignUnknown(
    request: { credential: { kind: CredentialKind; uid: string }; employeeNumber: string; from?: string; to?: string },
    access: Access,
  ): Promise<number> {
    const credential = normalizeCredential(request.credential);
    return this.db.transaction(async () => {
      await this.reachable(request.employeeNumber, access);
      const updated = await this.options.punches.assignUnknown({
        credential,
        employeeId: request.employeeNumber,
        ...(request.from ? { from: request.from } : {}),
        ...(request.to ? { to: request.to } : {}),
        ...(access.sites === 'all' ? {} : { siteIds: access.sites }),
      });
      if (updated > 0) {
        const window = { from: request.from ?? null, to: request.to ?? null };
        await this.changed({
          action: 'punch.assign-unknown',
          entity: 'punch',
          entityId: credentialKey(credential),
          before: { employeeId: null, punches: updated, ...window },
          after: { employeeId: request.employeeNumber, punches: updated, ...window },
          actor: access.actor,
        });
      }
      return updated;
    });
  }

  /**
   * A new employee and its badges, for a bulk import that holds the transaction and has checked
   * them already (reach, sites, badge holders: EmployeeSync): written and audited like put and
   * assignBadge, without reading back what was just written (the audit rows carry the same views
   * a read would give). `actorName` is the actor's name as the views show it (repository.actorName).
   * The unique index on badges in force stays the last guard against a badge held twice.
   */
  async createInTransaction(employeeNumber: string, body: EmployeeBody, credentials: readonly Credential[], access: Access, actorName: string | null): Promise<void> {
    const at = this.now().toISOString();
    await this.writeOver(employeeNumber, body, undefined, access, at);
    for (const credential of credentials) {
      const id = await this.repository.assignBadge(employeeNumber, credential, at, access.actor.id);
      const badge: BadgeView = {
        id,
        employeeNumber,
        credential: { kind: credential.kind, uid: credential.uid },
        assignedAt: at,
        assignedBy: access.actor.id,
        assignedByName: actorName,
        revokedAt: null,
        revokedBy: null,
        revokedByName: null,
        revokeReason: null,
      };
      await this.changed({ action: 'badge.assign', entity: 'badge', entityId: credentialKey(credential), before: null, after: badge, actor: access.actor });
    }
  }

  /**
   * putInTransaction for a bulk import: `before` is the employee as the caller read it in this
   * transaction, and the sites are not looked up again (the import's checks did, per file).
   */
  async updateInTransaction(employeeNumber: string, body: EmployeeBody, before: EmployeeView, access: Access): Promise<EmployeeView> {
    checkReach(employeeNumber, before, body, access);
    return this.writeOver(employeeNumber, body, before, access, this.now().toISOString());
  }

  /** put's work, for a caller that holds the transaction (and tells the gateways itself). */
  async putInTransaction(
    employeeNumber: string,
    body: EmployeeBody,
    access: Access,
    /** The employee as the caller read it in this transaction (undefined: it does not exist), to save reading it again. */
    known?: { before: EmployeeView | undefined },
  ): Promise<{ employee: EmployeeView; created: boolean; before: EmployeeView | undefined }> {
    const before = known ? known.before : await this.repository.get(employeeNumber);
    checkReach(employeeNumber, before, body, access);
    const existing = await this.repository.existingSites(body.sites);
    const unknown = body.sites.flatMap((siteId, index) => (existing.has(siteId) ? [] : [{ index, siteId }]));
    if (unknown.length > 0) throw new UnknownSitesError(unknown);
    const employee = await this.writeOver(employeeNumber, body, before, access, this.now().toISOString());
    return { employee, created: !before, before };
  }

  /**
   * Writes `body` over `before` (undefined: a new employee) and audits it, with the "after" built
   * from what was written rather than read back. Returns the employee as written.
   */
  private async writeOver(employeeNumber: string, body: EmployeeBody, before: EmployeeView | undefined, access: Access, at: string): Promise<EmployeeView> {
    await this.repository.put({ ...body, employeeNumber }, before, at);
    const employee = viewAfterWrite(employeeNumber, body, before, at);
    await this.changed({ action: before ? 'employee.update' : 'employee.create', entity: 'employee', entityId: employeeNumber, before: before ?? null, after: employee, actor: access.actor });
    return employee;
  }

  /** assignBadge's work, for a caller that holds the transaction (and tells the gateways itself). */
  async assignInTransaction(
    employeeNumber: string,
    credential: Credential,
    access: Access,
    /** The employee's sites as the caller read them in this transaction, to save reading the employee again. */
    knownSites?: readonly string[],
  ): Promise<{ badge: BadgeView; created: boolean; sites: string[] }> {
    const employee = knownSites && reachesEmployee(access, knownSites) ? { sites: [...knownSites] } : await this.reachable(employeeNumber, access);
    const current = await this.repository.currentAssignment(credential);
    if (current) {
      if (current.employeeNumber === employeeNumber) return { badge: current, created: false, sites: employee.sites };
      throw new BadgeHeldError(credentialKey(credential), current.employeeNumber);
    }
    const lookalike = await this.repository.mistakableAssignment(credential, employeeNumber);
    if (lookalike) {
      throw new BadgeHeldError(credentialKey(credential), lookalike.employeeNumber, credentialKey(lookalike.credential));
    }
    const id = await this.repository.assignBadge(employeeNumber, credential, this.now().toISOString(), access.actor.id);
    const badge = (await this.repository.badge(id)) as BadgeView;
    await this.changed({ action: 'badge.assign', entity: 'badge', entityId: credentialKey(credential), before: null, after: badge, actor: access.actor });
    return { badge, created: true, sites: employee.sites };
  }

  private async reachable(employeeNumber: string, access: Access): Promise<EmployeeView> {
    const employee = await this.repository.get(employeeNumber);
    if (!employee || !reachesEmployee(access, employee.sites)) throw new EmployeeNotFoundError(employeeNumber);
    return employee;
  }

  private async changed(change: EntityChange): Promise<void> {
    await this.onChange?.(change, this.db);
  }
}
