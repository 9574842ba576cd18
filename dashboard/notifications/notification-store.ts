import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Database, SqlValue } from '../../platform/sqlite.js';
import type { AuditActor, AuditLog } from '../auth/audit.js';
import { decodeCursor, keysetPage } from '../db/keyset-cursor.js';
import { WhereClause } from '../db/where-clause.js';
import { AlertEvent, AlertKind } from './alert-event.js';
import type { RetryPolicy } from './retry-policy.js';
import type { WebhookTarget } from './webhook-endpoint-store.js';

/**
 * Notifications, their deliveries and the attempt log, in the central database: all the state of
 * alert delivery, so that it survives restarts.
 *
 * - enqueue: one notification per event key (INSERT .. ON CONFLICT(key) DO NOTHING); only a
 *   notification that was new gets deliveries (one per endpoint or e-mail address), in the same
 *   transaction. Enqueueing an event again, after any restart, makes nothing.
 * - claim: a due delivery gets its attempt counted and an open attempt row (outcome NULL) before
 *   it is sent; finish closes the row and sets the delivery delivered, failed (next attempt at
 *   the back-off), or gave-up. A row still open at the next start was cut by a stop or a crash:
 *   `recoverInterrupted` closes it as interrupted and makes its delivery due at once (the
 *   receiver may have had it: it de-duplicates by Punchgate-Event-Id).
 */

export const DeliveryStatus = z.enum(['pending', 'delivered', 'failed', 'gave-up']);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;
export const DeliveryChannel = z.enum(['webhook', 'email']);
export type DeliveryChannel = z.infer<typeof DeliveryChannel>;

export type DeliveryTarget = { channel: 'webhook'; endpointId: string } | { channel: 'email'; address: string };

export const NotificationView = z.object({
  id: z.string(),
  /** The event's idempotency key (sent as Punchgate-Event-Id). */
  key: z.string(),
  kind: AlertKind,
  employeeNumber: z.string(),
  siteId: z.string().nullable(),
  workDate: z.string().nullable(),
  occurredAt: z.string(),
  createdAt: z.string(),
  event: AlertEvent,
  deliveries: z.object({ total: z.number().int(), pending: z.number().int(), delivered: z.number().int(), failed: z.number().int(), gaveUp: z.number().int() }),
});
export type NotificationView = z.infer<typeof NotificationView>;

export const AttemptOutcomeName = z.enum(['delivered', 'failed', 'interrupted']);

export const AttemptView = z.object({
  attempt: z.number().int(),
  at: z.string(),
  /** null: in flight. */
  outcome: AttemptOutcomeName.nullable(),
  /** HTTP status (webhooks) or SMTP reply code (e-mail); null when no answer came. */
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int().nullable(),
});
export type AttemptView = z.infer<typeof AttemptView>;

export const DeliveryView = z.object({
  id: z.string(),
  notificationId: z.string(),
  channel: DeliveryChannel,
  /** The webhook endpoint (channel webhook). */
  endpoint: z.object({ id: z.string(), name: z.string(), deleted: z.boolean() }).nullable(),
  /** The e-mail address (channel email). */
  address: z.string().nullable(),
  status: DeliveryStatus,
  attemptCount: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  attempts: z.array(AttemptView),
});
export type DeliveryView = z.infer<typeof DeliveryView>;

export interface StoredNotification {
  id: string;
  key: string;
  kind: AlertKind;
  createdAt: string;
  event: AlertEvent;
}

/** A delivery taken for one attempt. */
export interface ClaimedDelivery {
  id: string;
  channel: DeliveryChannel;
  /** The attempt's number over the delivery's whole life (1-based). */
  attempt: number;
  /** Its number within the current cycle (since the first attempt or the last replay): what the back-off and the budget count. */
  attemptInCycle: number;
  attemptId: number;
  notification: StoredNotification;
  /** Channel webhook: where to, and the secret to sign with. */
  endpoint?: WebhookTarget;
  /** Channel email: to whom. */
  address?: string;
}

export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number | null }
  /** `permanent`: no point trying again (an SMTP 5xx refusal): given up at once. */
  | { kind: 'failed'; statusCode: number | null; error: string; permanent?: boolean }
  /** Cut by a stop: tried again as soon as the worker runs, whatever the budget says. */
  | { kind: 'interrupted'; error: string };

export type ReplayResult = { kind: 'replayed'; delivery: DeliveryView } | { kind: 'not-found' } | { kind: 'in-flight' } | { kind: 'endpoint-deleted' };

export interface NotificationQuery {
  kind?: AlertKind;
  /** Notifications with at least one delivery in this state. */
  status?: DeliveryStatus;
  employeeNumber?: string;
  limit: number;
  cursor?: string;
}

interface NotificationRow {
  id: string;
  key: string;
  kind: string;
  employee_number: string;
  site_id: string | null;
  work_date: string | null;
  occurred_at: string;
  event: string;
  created_at: string;
  [column: string]: SqlValue;
}

interface DeliveryRow {
  id: string;
  notification_id: string;
  channel: string;
  endpoint_id: string | null;
  address: string | null;
  status: string;
  attempts: number;
  replay_base: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  updated_at: string;
  endpoint_name: string | null;
  endpoint_url: string | null;
  endpoint_secret: string | null;
  endpoint_deleted_at: string | null;
  [column: string]: SqlValue;
}

interface AttemptRow {
  id: number;
  delivery_id: string;
  attempt: number;
  at: string;
  outcome: string | null;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  [column: string]: SqlValue;
}

const MAX_ERROR_LENGTH = 500;
const INTERRUPTED = 'interrupted: the dashboard stopped before the attempt ended';

const DELIVERY_SELECT = `
  SELECT d.*, w.name AS endpoint_name, w.url AS endpoint_url, w.secret AS endpoint_secret, w.deleted_at AS endpoint_deleted_at
  FROM notification_deliveries d LEFT JOIN webhook_endpoints w ON w.id = d.endpoint_id`;

/** Deliveries the worker may take: unfinished, and for webhooks only to enabled, live endpoints (a disabled endpoint's wait). */
function dueWhere(channels: readonly DeliveryChannel[], exclude: readonly string[]): { sql: string; params: SqlValue[] } {
  return {
    sql: `d.status IN ('pending', 'failed') AND d.next_attempt_at <= ?
      AND d.channel IN (${channels.map(() => '?').join(', ')})
      AND (d.channel <> 'webhook' OR (w.enabled = 1 AND w.deleted_at IS NULL))
      ${exclude.length ? `AND d.id NOT IN (${exclude.map(() => '?').join(', ')})` : ''}`,
    params: [...channels, ...exclude],
  };
}

function storedOf(row: NotificationRow): StoredNotification {
  return { id: row.id, key: row.key, kind: AlertKind.parse(row.kind), createdAt: row.created_at, event: AlertEvent.parse(JSON.parse(row.event)) };
}

function attemptView(row: AttemptRow): AttemptView {
  return {
    attempt: row.attempt,
    at: row.at,
    outcome: row.outcome === null ? null : AttemptOutcomeName.parse(row.outcome),
    statusCode: row.status_code,
    error: row.error,
    durationMs: row.duration_ms,
  };
}

function deliveryView(row: DeliveryRow, attempts: AttemptRow[]): DeliveryView {
  return {
    id: row.id,
    notificationId: row.notification_id,
    channel: DeliveryChannel.parse(row.channel),
    endpoint: row.endpoint_id === null ? null : { id: row.endpoint_id, name: row.endpoint_name ?? '', deleted: row.endpoint_deleted_at !== null },
    address: row.address,
    status: DeliveryStatus.parse(row.status),
    attemptCount: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    attempts: attempts.map(attemptView),
  };
}

const clip = (text: string): string => (text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text);

export class NotificationStore {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
  ) {}

  /**
   * Stores the events that are new (by key), each with its deliveries to `targetsOf(event)`, in
   * one transaction; events already stored change nothing. `targetsOf` runs inside the
   * transaction (it may read the database).
   */
  async enqueue(events: readonly AlertEvent[], targetsOf: (event: AlertEvent) => Promise<DeliveryTarget[]>): Promise<{ created: number; deliveries: number }> {
    const at = this.now().toISOString();
    return this.db.transaction(async () => {
      let created = 0;
      let deliveries = 0;
      for (const event of events) {
        const id = uuidv7();
        const { changes } = await this.db.run(
          `INSERT INTO notifications (id, key, kind, employee_number, site_id, work_date, occurred_at, event, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING`,
          [id, event.key, event.kind, event.employee.employeeNumber, event.siteId ?? null, event.workDate ?? null, event.occurredAt, JSON.stringify(event), at],
        );
        if (changes === 0) continue;
        created += 1;
        for (const target of await targetsOf(event)) {
          await this.db.run(
            `INSERT INTO notification_deliveries (id, notification_id, channel, endpoint_id, address, status, next_attempt_at, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
            [uuidv7(), id, target.channel, target.channel === 'webhook' ? target.endpointId : null, target.channel === 'email' ? target.address : null, at, at, at],
          );
          deliveries += 1;
        }
      }
      return { created, deliveries };
    });
  }

  /**
   * Takes up to `limit` due deliveries of these channels (oldest due first, none of `exclude`):
   * each gets its attempt counted, an open attempt row, and a next attempt time at its back-off
   * (where it stands should the process die before it is finished).
   */
  async claimDue(limit: number, channels: readonly DeliveryChannel[], exclude: readonly string[], policy: RetryPolicy): Promise<ClaimedDelivery[]> {
    if (limit <= 0 || channels.length === 0) return [];
    const now = this.now();
    const at = now.toISOString();
    return this.db.transaction(async () => {
      const due = dueWhere(channels, exclude);
      const rows = await this.db.all<DeliveryRow>(`${DELIVERY_SELECT} WHERE ${due.sql} ORDER BY d.next_attempt_at, d.id LIMIT ?`, [at, ...due.params, limit]);
      const claims: ClaimedDelivery[] = [];
      for (const row of rows) {
        const attempt = row.attempts + 1;
        const attemptInCycle = attempt - row.replay_base;
        const lease = new Date(now.getTime() + policy.delayMs(attemptInCycle)).toISOString();
        await this.db.run('UPDATE notification_deliveries SET attempts = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?', [attempt, lease, at, row.id]);
        const { lastID } = await this.db.run('INSERT INTO notification_attempts (delivery_id, attempt, at) VALUES (?, ?, ?)', [row.id, attempt, at]);
        const notification = (await this.db.get<NotificationRow>('SELECT * FROM notifications WHERE id = ?', [row.notification_id])) as NotificationRow;
        claims.push({
          id: row.id,
          channel: DeliveryChannel.parse(row.channel),
          attempt,
          attemptInCycle,
          attemptId: lastID,
          notification: storedOf(notification),
          ...(row.endpoint_id !== null ? { endpoint: { id: row.endpoint_id, name: row.endpoint_name ?? '', url: row.endpoint_url ?? '', secret: row.endpoint_secret ?? '' } } : {}),
          ...(row.address !== null ? { address: row.address } : {}),
        });
      }
      return claims;
    });
  }

  /** When the next delivery the worker could take falls due (the same rule as claimDue); undefined for none. */
  async nextDueAt(channels: readonly DeliveryChannel[], exclude: readonly string[]): Promise<Date | undefined> {
    if (channels.length === 0) return undefined;
    const due = dueWhere(channels, exclude);
    const row = await this.db.get<{ next: string | null }>(`SELECT MIN(d.next_attempt_at) AS next FROM notification_deliveries d LEFT JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE ${due.sql}`, [
      '9999-12-31T23:59:59.999Z',
      ...due.params,
    ]);
    return row?.next ? new Date(row.next) : undefined;
  }

  /** Closes a claimed attempt with its outcome and moves the delivery on; the delivery's new status. */
  async finish(claim: ClaimedDelivery, outcome: AttemptOutcome, durationMs: number, policy: RetryPolicy): Promise<DeliveryStatus> {
    const now = this.now();
    const at = now.toISOString();
    const error = outcome.kind === 'delivered' ? null : clip(outcome.error);
    const statusCode = outcome.kind === 'interrupted' ? null : outcome.statusCode;
    let status: DeliveryStatus;
    let next: string | null = null;
    if (outcome.kind === 'delivered') status = 'delivered';
    else if (outcome.kind === 'interrupted') {
      status = 'failed';
      next = at;
    } else if (outcome.permanent || claim.attemptInCycle >= policy.maxAttempts) status = 'gave-up';
    else {
      status = 'failed';
      next = new Date(now.getTime() + policy.delayMs(claim.attemptInCycle)).toISOString();
    }
    await this.db.transaction(async () => {
      // An endpoint deleted while this attempt was in flight takes no more attempts: give up rather than wait for it forever.
      if (status === 'failed' && claim.endpoint) {
        const endpoint = await this.db.get<{ deleted_at: string | null }>('SELECT deleted_at FROM webhook_endpoints WHERE id = ?', [claim.endpoint.id]);
        if (endpoint?.deleted_at) {
          status = 'gave-up';
          next = null;
        }
      }
      await this.db.run('UPDATE notification_attempts SET outcome = ?, status_code = ?, error = ?, duration_ms = ? WHERE id = ?', [
        outcome.kind,
        statusCode,
        error,
        Math.round(durationMs),
        claim.attemptId,
      ]);
      await this.db.run(
        `UPDATE notification_deliveries SET status = ?, next_attempt_at = ?, last_status_code = ?, last_error = ?,
           delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, updated_at = ? WHERE id = ?`,
        [status, next, statusCode, error, status, at, at, claim.id],
      );
    });
    return status;
  }

  /**
   * At start: attempts left open by a stop or a crash are closed as interrupted, and their
   * unfinished deliveries fall due now. The number of attempts closed.
   */
  async recoverInterrupted(): Promise<number> {
    const at = this.now().toISOString();
    return this.db.transaction(async () => {
      await this.db.run(
        `UPDATE notification_deliveries SET status = 'failed', next_attempt_at = ?, last_error = ?, updated_at = ?
         WHERE status IN ('pending', 'failed') AND id IN (SELECT delivery_id FROM notification_attempts WHERE outcome IS NULL)`,
        [at, INTERRUPTED, at],
      );
      const { changes } = await this.db.run("UPDATE notification_attempts SET outcome = 'interrupted', error = ? WHERE outcome IS NULL", [INTERRUPTED]);
      return changes;
    });
  }

  /**
   * Queues a delivery again, now, whatever its state (delivered, gave-up, waiting for a retry),
   * with a fresh retry budget; audited. Refused while an attempt is in flight, and for a deleted
   * endpoint.
   */
  async replay(id: string, actor: AuditActor | undefined): Promise<ReplayResult> {
    const at = this.now().toISOString();
    return this.db.transaction(async (): Promise<ReplayResult> => {
      const before = await this.delivery(id);
      if (!before) return { kind: 'not-found' };
      if (before.attempts.some((attempt) => attempt.outcome === null)) return { kind: 'in-flight' };
      if (before.endpoint?.deleted) return { kind: 'endpoint-deleted' };
      await this.db.run("UPDATE notification_deliveries SET status = 'pending', next_attempt_at = ?, replay_base = attempts, updated_at = ? WHERE id = ?", [at, at, id]);
      const after = (await this.delivery(id)) as DeliveryView;
      const summary = (view: DeliveryView): Record<string, unknown> => ({
        notificationId: view.notificationId,
        channel: view.channel,
        endpointId: view.endpoint?.id ?? null,
        address: view.address,
        status: view.status,
        attemptCount: view.attemptCount,
      });
      await this.audit.record({ actor, action: 'delivery.replay', entity: 'delivery', entityId: id, before: summary(before), after: summary(after) });
      return { kind: 'replayed', delivery: after };
    });
  }

  async delivery(id: string): Promise<DeliveryView | undefined> {
    const row = await this.db.get<DeliveryRow>(`${DELIVERY_SELECT} WHERE d.id = ?`, [id]);
    if (!row) return undefined;
    const attempts = await this.db.all<AttemptRow>('SELECT * FROM notification_attempts WHERE delivery_id = ? ORDER BY id', [id]);
    return deliveryView(row, attempts);
  }

  async notification(id: string): Promise<NotificationView | undefined> {
    const row = await this.db.get<NotificationRow>('SELECT * FROM notifications WHERE id = ?', [id]);
    return row ? (await this.views([row]))[0] : undefined;
  }

  /** A notification's deliveries (in creation order) with every attempt; undefined for an unknown notification. */
  async deliveriesOf(notificationId: string): Promise<{ notification: NotificationView; deliveries: DeliveryView[] } | undefined> {
    const notification = await this.notification(notificationId);
    if (!notification) return undefined;
    const rows = await this.db.all<DeliveryRow>(`${DELIVERY_SELECT} WHERE d.notification_id = ? ORDER BY d.id`, [notificationId]);
    const attempts = await this.db.all<AttemptRow>(
      'SELECT a.* FROM notification_attempts a JOIN notification_deliveries d ON d.id = a.delivery_id WHERE d.notification_id = ? ORDER BY a.id',
      [notificationId],
    );
    return { notification, deliveries: rows.map((row) => deliveryView(row, attempts.filter((attempt) => attempt.delivery_id === row.id))) };
  }

  /** Newest first, keyset-paged; every filter optional. */
  async list(query: NotificationQuery): Promise<{ notifications: NotificationView[]; nextCursor: string | null }> {
    const where = new WhereClause()
      .add('kind = ?', query.kind)
      .add('employee_number = ?', query.employeeNumber)
      .add('id IN (SELECT notification_id FROM notification_deliveries WHERE status = ?)', query.status);
    if (query.cursor !== undefined) where.add('id < ?', decodeCursor(query.cursor, 'string')[0]);
    const rows = await this.db.all<NotificationRow>(`SELECT * FROM notifications ${where.sql} ORDER BY id DESC LIMIT ?`, [...where.params, query.limit + 1]);
    const { page, nextCursor } = keysetPage(rows, query.limit, (row) => [row.id]);
    return { notifications: await this.views(page), nextCursor };
  }

  private async views(rows: readonly NotificationRow[]): Promise<NotificationView[]> {
    if (rows.length === 0) return [];
    const counts = await this.db.all<{ notification_id: string; status: string; count: number }>(
      `SELECT notification_id, status, COUNT(*) AS count FROM notification_deliveries WHERE notification_id IN (${rows.map(() => '?').join(', ')}) GROUP BY notification_id, status`,
      rows.map((row) => row.id),
    );
    return rows.map((row) => {
      const stored = storedOf(row);
      const of = (status: DeliveryStatus): number => counts.find((count) => count.notification_id === row.id && count.status === status)?.count ?? 0;
      const tally = { pending: of('pending'), delivered: of('delivered'), failed: of('failed'), gaveUp: of('gave-up') };
      return {
        id: row.id,
        key: row.key,
        kind: stored.kind,
        employeeNumber: row.employee_number,
        siteId: row.site_id,
        workDate: row.work_date,
        occurredAt: row.occurred_at,
        createdAt: row.created_at,
        event: stored.event,
        deliveries: { total: tally.pending + tally.delivered + tally.failed + tally.gaveUp, ...tally },
      };
    });
  }
}
