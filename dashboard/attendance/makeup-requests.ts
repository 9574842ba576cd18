import { z } from 'zod';
import { newPunchId } from '../../core/ids.js';
import { EntityId, type Punch } from '../../core/punch.js';
import { UtcInstant } from '../../core/time.js';
import type { Database } from '../../platform/sqlite.js';
import type { Principal } from '../auth/permissions.js';
import { reachesSite } from '../auth/permissions.js';
import { decodeCursor, keysetPage } from '../db/keyset-cursor.js';
import { WhereClause } from '../db/where-clause.js';
import type { PunchRepository } from '../db/punch-repository.js';
import { mobileCredentialUid } from '../mobile/mobile-punch-desk.js';
import type { MakeupPolicy } from './attendance-settings.js';

/** The pseudo device that make-up punches are stored under. */
export const MAKEUP_DEVICE_ID = 'makeup';

export const MakeupStatus = z.enum(['pending-manager', 'pending-hr', 'approved', 'rejected']);
export type MakeupStatus = z.infer<typeof MakeupStatus>;

export const MakeupRequestBody = z
  .object({
    employeeNumber: EntityId,
    siteId: EntityId,
    at: UtcInstant,
    direction: z.enum(['in', 'out'], { error: 'direction must be in or out' }),
    reason: z.string({ error: 'reason must be a string' }).trim().min(3, 'reason must say why (at least 3 characters)').max(500, 'reason may be at most 500 characters'),
  })
  .strict();
export type MakeupRequestBody = z.output<typeof MakeupRequestBody>;

export interface MakeupDecision {
  tier: 'manager' | 'hr';
  decision: 'approved' | 'rejected';
  by: string;
  byName: string;
  role: string;
  at: string;
  note: string | null;
}

export interface MakeupRequestView extends MakeupRequestBody {
  id: string;
  status: MakeupStatus;
  needsHr: boolean;
  /** Why HR must review it too, if it must. */
  hrReason: string | null;
  requestedBy: string;
  requestedByName: string;
  requestedAt: string;
  decisions: MakeupDecision[];
  punchId: string | null;
}

export class MakeupError extends Error {
  override name = 'MakeupError';
  constructor(
    readonly code: 'not-found' | 'not-pending' | 'own-request' | 'wrong-tier' | 'site-out-of-reach' | 'same-approver' | 'unknown-employee' | 'in-the-future',
    message: string,
  ) {
    super(message);
  }
}

type Row = {
  id: string;
  employee_number: string;
  site_id: string;
  at: string;
  direction: string;
  reason: string;
  status: string;
  needs_hr: number;
  requested_by: string;
  requested_by_name: string;
  requested_at: string;
  decisions: string;
  punch_id: string | null;
};

function toView(row: Row): MakeupRequestView {
  const decisions = JSON.parse(row.decisions) as { hrReason?: string | null; list: MakeupDecision[] };
  return {
    id: row.id,
    employeeNumber: row.employee_number,
    siteId: row.site_id,
    at: row.at,
    direction: row.direction === 'out' ? 'out' : 'in',
    reason: row.reason,
    status: MakeupStatus.parse(row.status),
    needsHr: row.needs_hr === 1,
    hrReason: decisions.hrReason ?? null,
    requestedBy: row.requested_by,
    requestedByName: row.requested_by_name,
    requestedAt: row.requested_at,
    decisions: decisions.list,
    punchId: row.punch_id,
  };
}

const principalKey = (principal: Principal): string => `${principal.kind}:${principal.id}`;

/**
 * Make-up punch (補卡) requests: filed by a store manager or HR with a reason; approved first by a
 * store manager of the site (or HR or an admin standing in), then by HR as well when the policy
 * says so (too many in a month, or too far back). Nobody approves a request they filed, and
 * nobody approves both tiers. The final approval stores the punch (method `manual`, the request's
 * id as `approvalRef`) in the same transaction.
 */
export class MakeupRequests {
  constructor(
    private readonly db: Database,
    private readonly punches: PunchRepository,
  ) {}

  async get(id: string): Promise<MakeupRequestView | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM makeup_requests WHERE id = ?', [id]);
    return row ? toView(row) : undefined;
  }

  async list(query: { status?: MakeupStatus; employeeNumber?: string; siteIds?: readonly string[]; limit: number; cursor?: string }): Promise<{ requests: MakeupRequestView[]; nextCursor: string | null }> {
    const where = new WhereClause().add('status = ?', query.status).add('employee_number = ?', query.employeeNumber).addIn('site_id', query.siteIds);
    if (query.cursor) where.add('(requested_at, id) < (?, ?)', ...decodeCursor(query.cursor, 'string', 'string'));
    const rows = await this.db.all<Row>(`SELECT * FROM makeup_requests ${where.sql} ORDER BY requested_at DESC, id DESC LIMIT ?`, [...where.params, query.limit + 1]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.requested_at, row.id]);
    return { requests: page.map(toView), nextCursor };
  }

  /** Files a request; run inside the caller's transaction (with its audit row). */
  async file(body: MakeupRequestBody, by: Principal, policy: MakeupPolicy, now: Date, monthOf: (at: string) => { from: string; to: string }): Promise<MakeupRequestView> {
    if (Date.parse(body.at) > now.getTime()) throw new MakeupError('in-the-future', 'at must not be in the future: a make-up punch records what happened');
    const employee = await this.db.get<{ n: number }>('SELECT 1 AS n FROM employees WHERE employee_number = ?', [body.employeeNumber]);
    if (!employee) throw new MakeupError('unknown-employee', `no employee has the number ${body.employeeNumber}`);
    const month = monthOf(body.at);
    const earlier = await this.db.get<{ n: number }>("SELECT count(*) AS n FROM makeup_requests WHERE employee_number = ? AND at >= ? AND at < ? AND status != 'rejected'", [body.employeeNumber, month.from, month.to]);
    const count = (earlier?.n ?? 0) + 1;
    const ageDays = (now.getTime() - Date.parse(body.at)) / 86_400_000;
    const hrReason =
      count > policy.hrReviewAfterPerMonth
        ? `request ${count} this month for ${body.employeeNumber} (HR reviews more than ${policy.hrReviewAfterPerMonth})`
        : ageDays > policy.hrReviewAfterDays
          ? `the punch is ${Math.floor(ageDays)} days back (HR reviews more than ${policy.hrReviewAfterDays})`
          : null;
    const id = `mu-${newPunchId()}`;
    const at = now.toISOString();
    await this.db.run(
      `INSERT INTO makeup_requests (id, employee_number, site_id, at, direction, reason, status, needs_hr, requested_by, requested_by_name, requested_at, decisions, punch_id, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending-manager', ?, ?, ?, ?, ?, NULL, ?)`,
      [id, body.employeeNumber, body.siteId, body.at, body.direction, body.reason, hrReason ? 1 : 0, principalKey(by), by.name, at, JSON.stringify({ hrReason, list: [] }), at],
    );
    const view = await this.get(id);
    if (!view) throw new Error(`make-up request ${id} vanished`);
    return view;
  }

  /**
   * Approves or rejects at the request's current tier; run inside the caller's transaction. On
   * the last approval the punch is stored and returned.
   */
  async decide(id: string, decision: 'approved' | 'rejected', by: Principal, note: string | null, now: Date): Promise<{ request: MakeupRequestView; punch: Punch | null }> {
    const request = await this.get(id);
    if (!request) throw new MakeupError('not-found', `no make-up request has the id ${id}`);
    if (request.status !== 'pending-manager' && request.status !== 'pending-hr') throw new MakeupError('not-pending', `request ${id} is already ${request.status}`);
    if (request.requestedBy === principalKey(by)) throw new MakeupError('own-request', 'a request is decided by someone other than who filed it');
    if (!reachesSite(by, request.siteId)) throw new MakeupError('site-out-of-reach', `site ${request.siteId} is not one of yours`);
    const tier = request.status === 'pending-manager' ? 'manager' : 'hr';
    if (tier === 'hr' && by.role !== 'hr' && by.role !== 'admin') throw new MakeupError('wrong-tier', 'this request waits for HR: only HR or an admin may decide it now');
    if (tier === 'hr' && request.decisions.some((earlier) => earlier.by === principalKey(by))) throw new MakeupError('same-approver', 'the HR review must be made by someone other than the first approver');
    const at = now.toISOString();
    const decisions = [...request.decisions, { tier, decision, by: principalKey(by), byName: by.name, role: by.role, at, note } satisfies MakeupDecision];
    const status: MakeupStatus = decision === 'rejected' ? 'rejected' : tier === 'manager' && request.needsHr ? 'pending-hr' : 'approved';
    let punch: Punch | null = null;
    if (status === 'approved') {
      punch = {
        id: newPunchId(),
        deviceId: MAKEUP_DEVICE_ID,
        siteId: request.siteId,
        credential: { kind: 'mobile', uid: mobileCredentialUid(request.employeeNumber) },
        employeeId: request.employeeNumber,
        at: request.at,
        clock: { synced: true },
        method: 'manual',
        direction: request.direction,
        seq: await this.punches.nextServerSeq(MAKEUP_DEVICE_ID),
        approvalRef: request.id,
      };
      await this.punches.insertInTransaction([punch], at);
    }
    await this.db.run('UPDATE makeup_requests SET status = ?, decisions = ?, punch_id = ?, updated_at = ? WHERE id = ?', [status, JSON.stringify({ hrReason: request.hrReason, list: decisions }), punch?.id ?? null, at, id]);
    const updated = await this.get(id);
    if (!updated) throw new Error(`make-up request ${id} vanished`);
    return { request: updated, punch };
  }
}
