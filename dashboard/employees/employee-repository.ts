import { decodeCursor, encodeCursor, keysetPage } from '../db/keyset-cursor.js';
import { CredentialKind, mistakableCounterpart, type Credential } from '../../core/credential.js';
import type { Database, SqlValue } from '../../platform/sqlite.js';
import { actorNameOf, type BadgeView, type ConsentView, type EmployeeStatus, type EmployeeView, type EmployeeWrite } from './employee-model.js';

/**
 * The employee tables (migration 3): `employees`, `employee_sites`, `badge_assignments` (one row
 * per assignment; revoking sets revoked_at and keeps the row) and `ble_consents` (one row per
 * recorded consent; withdrawing sets withdrawn_at and keeps the row). Plain statements: callers
 * hold the transaction (EmployeeService).
 */

export interface EmployeeRow {
  employee_number: string;
  name: string;
  name_zh: string | null;
  department: string | null;
  rank: string | null;
  phone: string | null;
  email: string | null;
  active_from: string | null;
  active_until: string | null;
  status: string;
  inactive_since: string | null;
  created_at: string;
  updated_at: string;
  [column: string]: SqlValue;
}

interface BadgeRow {
  id: number;
  employee_number: string;
  credential_kind: string;
  credential_uid: string;
  assigned_at: string;
  assigned_by: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  revoke_reason: string | null;
  /** Joined from users / api_tokens by the actor ids (see BADGE_SELECT). */
  assigned_by_user: string | null;
  assigned_by_token: string | null;
  revoked_by_user: string | null;
  revoked_by_token: string | null;
  [column: string]: SqlValue;
}

interface ConsentRow {
  id: number;
  employee_number: string;
  recorded_at: string;
  recorded_by: string | null;
  withdrawn_at: string | null;
  withdrawn_by: string | null;
  /** Joined from users / api_tokens by the actor ids (see CONSENT_SELECT). */
  recorded_by_user: string | null;
  recorded_by_token: string | null;
  withdrawn_by_user: string | null;
  withdrawn_by_token: string | null;
  [column: string]: SqlValue;
}

/**
 * Badge rows (`b`) with their actors' names as they are now: history rows keep the actor's id,
 * and the name is looked up by it (users.id, api_tokens.id; both primary keys) whenever the
 * history is read, so it follows renames and is there for every reader of the history.
 */
const BADGE_SELECT = `SELECT b.*, ua.username AS assigned_by_user, ta.name AS assigned_by_token, ur.username AS revoked_by_user, tr.name AS revoked_by_token
  FROM badge_assignments b
  LEFT JOIN users ua ON ua.id = b.assigned_by
  LEFT JOIN api_tokens ta ON ta.id = b.assigned_by
  LEFT JOIN users ur ON ur.id = b.revoked_by
  LEFT JOIN api_tokens tr ON tr.id = b.revoked_by`;

/** Consent rows (`c`) with their actors' names, as {@link BADGE_SELECT}. */
const CONSENT_SELECT = `SELECT c.*, ur.username AS recorded_by_user, tr.name AS recorded_by_token, uw.username AS withdrawn_by_user, tw.name AS withdrawn_by_token
  FROM ble_consents c
  LEFT JOIN users ur ON ur.id = c.recorded_by
  LEFT JOIN api_tokens tr ON tr.id = c.recorded_by
  LEFT JOIN users uw ON uw.id = c.withdrawn_by
  LEFT JOIN api_tokens tw ON tw.id = c.withdrawn_by`;

export interface EmployeeQuery {
  siteId?: string;
  department?: string;
  status?: EmployeeStatus;
  /** Matches (case-insensitive substring) number, names, e-mail and phone. */
  q?: string;
  /** Only employees listed at one of these sites ('all': no restriction). */
  reach: 'all' | readonly string[];
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A roster row for one site: a badge with its holder's state, before the status is decided. */
export interface SiteBadgeRow {
  kind: string;
  uid: string;
  employeeNumber: string;
  name: string;
  nameZh: string | null;
  employeeStatus: string;
  activeFrom: string | null;
  activeUntil: string | null;
  inactiveSince: string | null;
  assignedAt: string;
  revokedAt: string | null;
  consentAt: string | null;
}

export function toBadgeView(row: BadgeRow): BadgeView {
  return {
    id: row.id,
    employeeNumber: row.employee_number,
    credential: { kind: CredentialKind.parse(row.credential_kind), uid: row.credential_uid },
    assignedAt: row.assigned_at,
    assignedBy: row.assigned_by,
    assignedByName: actorNameOf(row.assigned_by, row.assigned_by_user, row.assigned_by_token),
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
    revokedByName: actorNameOf(row.revoked_by, row.revoked_by_user, row.revoked_by_token),
    revokeReason: row.revoke_reason,
  };
}

function toConsentView(row: ConsentRow): ConsentView {
  return {
    id: row.id,
    employeeNumber: row.employee_number,
    recordedAt: row.recorded_at,
    recordedBy: row.recorded_by,
    recordedByName: actorNameOf(row.recorded_by, row.recorded_by_user, row.recorded_by_token),
    withdrawnAt: row.withdrawn_at,
    withdrawnBy: row.withdrawn_by,
    withdrawnByName: actorNameOf(row.withdrawn_by, row.withdrawn_by_user, row.withdrawn_by_token),
  };
}



const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** `%text%` for LIKE with `\` escaping, so that `_` and `%` in a search are literal. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Employees read at once by getMany: well under SQLite's limit on bound parameters. */
const MANY_CHUNK = 500;

/** When an employee's inactive spell began, after a write of this status: kept while it goes on. */
export function inactiveSinceAfter(status: 'active' | 'inactive', existing: Pick<EmployeeView, 'status' | 'inactiveSince'> | undefined, at: string): string | null {
  if (status === 'active') return null;
  return existing?.status === 'inactive' ? (existing.inactiveSince ?? at) : at;
}

function sameSites(stored: readonly string[], next: readonly string[]): boolean {
  const a = [...new Set(stored)].sort();
  const b = [...new Set(next)].sort();
  return a.length === b.length && a.every((site, index) => site === b[index]);
}

export class EmployeeRepository {
  constructor(private readonly db: Database) {}

  async get(employeeNumber: string): Promise<EmployeeView | undefined> {
    const row = await this.db.get<EmployeeRow>('SELECT * FROM employees WHERE employee_number = ?', [employeeNumber]);
    if (!row) return undefined;
    const [view] = await this.views([row]);
    return view;
  }

  /** The sites an employee is listed at (empty for an unknown employee). */
  async sitesOf(employeeNumber: string): Promise<string[]> {
    const rows = await this.db.all<{ site_id: string }>('SELECT site_id FROM employee_sites WHERE employee_number = ? ORDER BY site_id', [employeeNumber]);
    return rows.map((row) => row.site_id);
  }

  /** Keyset-paged by employee number. */
  async list(query: EmployeeQuery): Promise<Page<EmployeeView>> {
    if (query.reach !== 'all' && query.reach.length === 0) return { items: [], nextCursor: null };
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.cursor !== undefined) (where.push('e.employee_number > ?'), params.push(decodeCursor(query.cursor, 'string')[0]));
    if (query.department !== undefined) (where.push('e.department = ?'), params.push(query.department));
    if (query.status !== undefined) (where.push('e.status = ?'), params.push(query.status));
    if (query.siteId !== undefined) {
      where.push('EXISTS (SELECT 1 FROM employee_sites s WHERE s.employee_number = e.employee_number AND s.site_id = ?)');
      params.push(query.siteId);
    }
    if (query.reach !== 'all') {
      where.push(`EXISTS (SELECT 1 FROM employee_sites s WHERE s.employee_number = e.employee_number AND s.site_id IN (${placeholders(query.reach.length)}))`);
      params.push(...query.reach);
    }
    if (query.q !== undefined && query.q !== '') {
      const pattern = likePattern(query.q);
      where.push(`(${['e.employee_number', 'e.name', 'e.name_zh', 'e.email', 'e.phone'].map((c) => `${c} LIKE ? ESCAPE '\\'`).join(' OR ')})`);
      params.push(pattern, pattern, pattern, pattern, pattern);
    }
    const rows = await this.db.all<EmployeeRow>(
      `SELECT e.* FROM employees e ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.employee_number LIMIT ?`,
      [...params, query.limit + 1],
    );
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.employee_number]);
    return { items: await this.views(page), nextCursor };
  }

  /** Sites, current badges and consent for a page of employees, in three queries. */
  private async views(rows: readonly EmployeeRow[]): Promise<EmployeeView[]> {
    if (rows.length === 0) return [];
    const numbers = rows.map((row) => row.employee_number);
    const inList = placeholders(numbers.length);
    const sites = new Map<string, string[]>();
    for (const row of await this.db.all<{ employee_number: string; site_id: string }>(
      `SELECT employee_number, site_id FROM employee_sites WHERE employee_number IN (${inList}) ORDER BY site_id`,
      numbers,
    )) {
      sites.set(row.employee_number, [...(sites.get(row.employee_number) ?? []), row.site_id]);
    }
    const badges = new Map<string, BadgeView[]>();
    for (const row of await this.db.all<BadgeRow>(
      `${BADGE_SELECT} WHERE b.employee_number IN (${inList}) AND b.revoked_at IS NULL ORDER BY b.assigned_at, b.id`,
      numbers,
    )) {
      badges.set(row.employee_number, [...(badges.get(row.employee_number) ?? []), toBadgeView(row)]);
    }
    const consents = new Map<string, ConsentView>();
    for (const row of await this.db.all<ConsentRow>(`${CONSENT_SELECT} WHERE c.employee_number IN (${inList}) AND c.withdrawn_at IS NULL`, numbers)) {
      consents.set(row.employee_number, toConsentView(row));
    }
    return rows.map((row) => ({
      employeeNumber: row.employee_number,
      name: row.name,
      nameZh: row.name_zh,
      department: row.department,
      rank: row.rank,
      phone: row.phone,
      email: row.email,
      sites: sites.get(row.employee_number) ?? [],
      activeFrom: row.active_from,
      activeUntil: row.active_until,
      status: row.status === 'inactive' ? 'inactive' : 'active',
      inactiveSince: row.inactive_since,
      badges: badges.get(row.employee_number) ?? [],
      bleConsent: consents.get(row.employee_number) ?? null,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }

  /** Creates or replaces an employee and its site list. `at` is the write time. */
  /** The employees with these numbers (the unknown ones left out), read in chunks of 500. */
  async getMany(employeeNumbers: readonly string[]): Promise<Map<string, EmployeeView>> {
    const found = new Map<string, EmployeeView>();
    for (let start = 0; start < employeeNumbers.length; start += MANY_CHUNK) {
      const chunk = employeeNumbers.slice(start, start + MANY_CHUNK);
      const rows = await this.db.all<EmployeeRow>(`SELECT * FROM employees WHERE employee_number IN (${placeholders(chunk.length)})`, chunk);
      for (const view of await this.views(rows)) found.set(view.employeeNumber, view);
    }
    return found;
  }

  async put(employee: EmployeeWrite, existing: EmployeeView | undefined, at: string): Promise<void> {
    const inactiveSince = inactiveSinceAfter(employee.status, existing, at);
    await this.db.run(
      `INSERT INTO employees (employee_number, name, name_zh, department, rank, phone, email, active_from, active_until, status, inactive_since, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(employee_number) DO UPDATE SET name = excluded.name, name_zh = excluded.name_zh, department = excluded.department,
         rank = excluded.rank, phone = excluded.phone, email = excluded.email, active_from = excluded.active_from,
         active_until = excluded.active_until, status = excluded.status, inactive_since = excluded.inactive_since, updated_at = excluded.updated_at`,
      [
        employee.employeeNumber,
        employee.name,
        employee.nameZh ?? null,
        employee.department ?? null,
        employee.rank ?? null,
        employee.phone ?? null,
        employee.email ?? null,
        employee.activeFrom ?? null,
        employee.activeUntil ?? null,
        employee.status,
        inactiveSince,
        existing?.createdAt ?? at,
        at,
      ],
    );
    // Most updates (a new phone, a name) leave the site list as it was: not rewritten then.
    if (existing && sameSites(existing.sites, employee.sites)) return;
    await this.db.run('DELETE FROM employee_sites WHERE employee_number = ?', [employee.employeeNumber]);
    for (const siteId of employee.sites) {
      await this.db.run('INSERT INTO employee_sites (employee_number, site_id) VALUES (?, ?)', [employee.employeeNumber, siteId]);
    }
  }

  /** The name the history views show for an actor id (see actorNameOf): one query, for writers that build views themselves. */
  async actorName(id: string): Promise<string | null> {
    const row = await this.db.get<{ user_name: string | null; token_name: string | null }>(
      'SELECT (SELECT username FROM users WHERE id = ?) AS user_name, (SELECT name FROM api_tokens WHERE id = ?) AS token_name',
      [id, id],
    );
    return actorNameOf(id, row?.user_name ?? null, row?.token_name ?? null);
  }

  /** Which of these site ids exist. */
  async existingSites(siteIds: readonly string[]): Promise<Set<string>> {
    if (siteIds.length === 0) return new Set();
    const rows = await this.db.all<{ id: string }>(`SELECT id FROM sites WHERE id IN (${placeholders(siteIds.length)})`, siteIds);
    return new Set(rows.map((row) => row.id));
  }

  /** The assignment in force for a credential, whoever holds it. */
  async currentAssignment(credential: Credential): Promise<BadgeView | undefined> {
    const row = await this.db.get<BadgeRow>(`${BADGE_SELECT} WHERE b.credential_kind = ? AND b.credential_uid = ? AND b.revoked_at IS NULL`, [
      credential.kind,
      credential.uid,
    ]);
    return row ? toBadgeView(row) : undefined;
  }

  /**
   * An assignment in force, of someone other than `notHeldBy`, of a badge that a tap of this one
   * can be taken for (core mistakableFor): an EM4100 card and a wiegand26 badge with its low 24 bits.
   */
  async mistakableAssignment(credential: Credential, notHeldBy: string): Promise<BadgeView | undefined> {
    const counterpart = mistakableCounterpart(credential);
    if (!counterpart) return undefined;
    const row = await this.db.get<BadgeRow>(
      `${BADGE_SELECT} WHERE b.credential_kind = ? AND substr(b.credential_uid, -?) = ? AND b.revoked_at IS NULL AND b.employee_number <> ?`,
      [counterpart.kind, counterpart.uidEndsWith.length, counterpart.uidEndsWith, notHeldBy],
    );
    return row ? toBadgeView(row) : undefined;
  }

  async badge(id: number): Promise<BadgeView | undefined> {
    const row = await this.db.get<BadgeRow>(`${BADGE_SELECT} WHERE b.id = ?`, [id]);
    return row ? toBadgeView(row) : undefined;
  }

  async assignBadge(employeeNumber: string, credential: Credential, at: string, by: string): Promise<number> {
    const result = await this.db.run('INSERT INTO badge_assignments (employee_number, credential_kind, credential_uid, assigned_at, assigned_by) VALUES (?, ?, ?, ?, ?)', [
      employeeNumber,
      credential.kind,
      credential.uid,
      at,
      by,
    ]);
    return result.lastID;
  }

  async revokeBadge(id: number, at: string, by: string, reason: string | null): Promise<void> {
    await this.db.run('UPDATE badge_assignments SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL', [at, by, reason, id]);
  }

  /** Every assignment of an employee (current and past), newest first, keyset-paged by id. */
  async badgeHistory(employeeNumber: string, page: { limit: number; cursor?: string }): Promise<Page<BadgeView>> {
    const before = page.cursor === undefined ? undefined : decodeCursor(page.cursor, 'number')[0];
    const rows = await this.db.all<BadgeRow>(
      `${BADGE_SELECT} WHERE b.employee_number = ? ${before === undefined ? '' : 'AND b.id < ?'} ORDER BY b.id DESC LIMIT ?`,
      before === undefined ? [employeeNumber, page.limit + 1] : [employeeNumber, before, page.limit + 1],
    );
    const { page: items, nextCursor } = keysetPage(rows, page.limit, (row) => [row.id]);
    return { items: items.map(toBadgeView), nextCursor };
  }

  async currentConsent(employeeNumber: string): Promise<ConsentView | undefined> {
    const row = await this.db.get<ConsentRow>(`${CONSENT_SELECT} WHERE c.employee_number = ? AND c.withdrawn_at IS NULL`, [employeeNumber]);
    return row ? toConsentView(row) : undefined;
  }

  async consent(id: number): Promise<ConsentView | undefined> {
    const row = await this.db.get<ConsentRow>(`${CONSENT_SELECT} WHERE c.id = ?`, [id]);
    return row ? toConsentView(row) : undefined;
  }

  async recordConsent(employeeNumber: string, at: string, by: string): Promise<number> {
    return (await this.db.run('INSERT INTO ble_consents (employee_number, recorded_at, recorded_by) VALUES (?, ?, ?)', [employeeNumber, at, by])).lastID;
  }

  async withdrawConsent(id: number, at: string, by: string): Promise<void> {
    await this.db.run('UPDATE ble_consents SET withdrawn_at = ?, withdrawn_by = ? WHERE id = ? AND withdrawn_at IS NULL', [at, by, id]);
  }

  /** Every consent recorded for an employee, newest first, keyset-paged by id. */
  async consentHistory(employeeNumber: string, page: { limit: number; cursor?: string }): Promise<Page<ConsentView>> {
    const before = page.cursor === undefined ? undefined : decodeCursor(page.cursor, 'number')[0];
    const rows = await this.db.all<ConsentRow>(
      `${CONSENT_SELECT} WHERE c.employee_number = ? ${before === undefined ? '' : 'AND c.id < ?'} ORDER BY c.id DESC LIMIT ?`,
      before === undefined ? [employeeNumber, page.limit + 1] : [employeeNumber, before, page.limit + 1],
    );
    const { page: items, nextCursor } = keysetPage(rows, page.limit, (row) => [row.id]);
    return { items: items.map(toConsentView), nextCursor };
  }

  /**
   * Every badge of every employee listed at a site that a roster may need: assignments in force,
   * and those revoked at or after `revokedSince`. The caller decides each one's roster status.
   */
  async siteBadges(siteId: string, revokedSince: string): Promise<SiteBadgeRow[]> {
    const rows = await this.db.all<{
      credential_kind: string;
      credential_uid: string;
      employee_number: string;
      name: string;
      name_zh: string | null;
      status: string;
      active_from: string | null;
      active_until: string | null;
      inactive_since: string | null;
      assigned_at: string;
      revoked_at: string | null;
      consent_at: string | null;
    }>(
      `SELECT b.credential_kind, b.credential_uid, e.employee_number, e.name, e.name_zh, e.status, e.active_from, e.active_until,
              e.inactive_since, b.assigned_at, b.revoked_at, c.recorded_at AS consent_at
         FROM employee_sites s
         JOIN employees e ON e.employee_number = s.employee_number
         JOIN badge_assignments b ON b.employee_number = s.employee_number
         LEFT JOIN ble_consents c ON c.employee_number = s.employee_number AND c.withdrawn_at IS NULL
        WHERE s.site_id = ? AND (b.revoked_at IS NULL OR b.revoked_at >= ?)`,
      [siteId, revokedSince],
    );
    return rows.map((row) => ({
      kind: row.credential_kind,
      uid: row.credential_uid,
      employeeNumber: row.employee_number,
      name: row.name,
      nameZh: row.name_zh,
      employeeStatus: row.status,
      activeFrom: row.active_from,
      activeUntil: row.active_until,
      inactiveSince: row.inactive_since,
      assignedAt: row.assigned_at,
      revokedAt: row.revoked_at,
      consentAt: row.consent_at,
    }));
  }
}
