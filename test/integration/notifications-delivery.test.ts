import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../dashboard/auth/audit.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { openCentralDb } from '../../dashboard/db/central-db.js';
import { Notifications } from '../../dashboard/notifications/notifications.js';
import type { Database } from '../../platform/sqlite.js';
import { lateEvent } from '../support/alert-event-fixture.js';
import { testLogger } from '../support/logger.js';
import { ManualTimers } from '../support/manual-timers.js';
import { rowsOf } from '../support/sqlite-rows.js';
import { waitFor } from '../support/wait.js';
import { WebhookReceiver, type Behaviour } from '../support/webhook-receiver.js';

/**
 * The delivery worker on a real SQLite file against a real HTTP receiver that checks every
 * signature: retries with back-off (the clock and timers are manual, so the test moves time
 * instead of waiting), giving up, idempotent enqueue, the concurrency bound, and deliveries cut
 * by a stop or a crash being tried again at the next start.
 */

const START = '2026-11-20T01:15:00.000Z';
const ACTOR = { kind: 'system' as const, id: 'test', name: 'test' };

interface Harness {
  db: Database;
  time: ManualTimers;
  notifications: Notifications;
  receiver: WebhookReceiver;
  endpointId: string;
  rows: (sql: string) => Promise<Array<Record<string, unknown>>>;
}

describe('alert delivery worker', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function harness(behaviour: (n: number) => Behaviour, settings: { maxAttempts?: number; timeoutSeconds?: number; concurrency?: number } = {}): Promise<Harness> {
    const dir = await mkdtemp(path.join(tmpdir(), 'punchgate-delivery-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const time = new ManualTimers(START);
    const receiver = await new WebhookReceiver(behaviour, () => Math.floor(time.now().getTime() / 1000)).start();
    cleanups.push(() => receiver.stop());
    const { db } = await openCentralDb(dir);
    cleanups.push(() => db.close());
    const config = DashboardConfig.parse({
      dataDir: dir,
      notifications: { maxAttempts: settings.maxAttempts ?? 8, webhookTimeoutSeconds: settings.timeoutSeconds ?? 10 },
    }).notifications;
    const notifications = new Notifications({
      db,
      audit: new AuditLog(db, time.now),
      config,
      now: time.now,
      logger: testLogger(),
      timers: time,
      // No jitter: the back-off is exactly 10 s, 30 s, 90 s, ...
      backoff: { random: () => 0.5 },
      concurrency: settings.concurrency ?? 4,
    });
    const { webhook, secret } = await notifications.endpoints.create({ name: 'payroll bridge', url: receiver.url }, ACTOR);
    receiver.secret = secret;
    await notifications.start();
    cleanups.push(() => notifications.stop());
    return { db, time, notifications, receiver, endpointId: webhook.id, rows: (sql) => rowsOf(path.join(dir, 'dashboard.sqlite'), sql) };
  }

  /** Moves the manual clock and waits for what falls due on the way to be sent and recorded. */
  async function advance(h: Harness, ms: number): Promise<void> {
    await h.time.advance(ms, () => h.notifications.worker.settled());
  }

  it('retries a receiver that fails twice (500, then a reset connection) with back-off, and ends delivered after 3 attempts', async () => {
    const h = await harness((n) => (n === 1 ? 500 : n === 2 ? 'reset' : 'ok'));
    expect(await h.notifications.enqueue([lateEvent()])).toEqual({ created: 1 });
    await h.notifications.worker.settled();

    const delivery = async () =>
      (await h.rows('SELECT status, attempts, next_attempt_at, last_status_code, last_error, delivered_at FROM notification_deliveries'))[0] as Record<string, unknown>;
    expect(await delivery()).toMatchObject({ status: 'failed', attempts: 1, next_attempt_at: '2026-11-20T01:15:10.000Z', last_status_code: 500 });
    expect((await delivery()).last_error).toContain('HTTP 500');

    // Not yet due: nothing is sent a second early.
    await advance(h, 9_999);
    expect(h.receiver.requests).toHaveLength(1);
    await advance(h, 1);
    expect(h.receiver.requests).toHaveLength(2);
    expect(await delivery()).toMatchObject({ status: 'failed', attempts: 2, next_attempt_at: '2026-11-20T01:15:40.000Z', last_status_code: null });

    await advance(h, 30_000);
    expect(await delivery()).toMatchObject({ status: 'delivered', attempts: 3, next_attempt_at: null, last_status_code: 200, last_error: null, delivered_at: '2026-11-20T01:15:40.000Z' });

    const attempts = await h.rows('SELECT attempt, at, outcome, status_code, error, duration_ms FROM notification_attempts ORDER BY id');
    expect(attempts).toHaveLength(3);
    expect(attempts.map((row) => [row.attempt, row.at, row.outcome, row.status_code])).toEqual([
      [1, '2026-11-20T01:15:00.000Z', 'failed', 500],
      [2, '2026-11-20T01:15:10.000Z', 'failed', null],
      [3, '2026-11-20T01:15:40.000Z', 'delivered', 200],
    ]);
    expect(attempts[1]?.error).toMatch(/fetch failed|socket|ECONNRESET|closed/i);
    for (const row of attempts) expect(row.duration_ms).toEqual(expect.any(Number));

    // What the receiver saw: three signed POSTs of the same bytes, the same event and delivery ids, each signed at its own time.
    const { requests } = h.receiver;
    expect(requests.map((request) => request.answer)).toEqual([500, 'reset', 200]);
    for (const request of requests) {
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/hooks/punchgate?source=test');
      expect(request.verified.ok).toBe(true);
      expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(request.eventId).toBe('late:E001:2026-11-20');
      expect(request.rawBody).toBe(requests[0]?.rawBody);
      expect(request.deliveryId).toBe(requests[0]?.deliveryId);
    }
    expect(requests.map((request) => request.t)).toEqual([Date.parse('2026-11-20T01:15:00Z') / 1000, Date.parse('2026-11-20T01:15:10Z') / 1000, Date.parse('2026-11-20T01:15:40Z') / 1000]);
    expect(JSON.parse(requests[2]?.rawBody ?? '')).toEqual({
      id: 'late:E001:2026-11-20',
      type: 'late',
      test: false,
      createdAt: START,
      occurredAt: '2026-11-20T01:12:00Z',
      employee: { employeeNumber: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', email: 'taiman@example.com' },
      managers: [{ name: 'Wong Siu Ming', email: 'siuming@example.com' }],
      siteId: 'mk-01',
      workDate: '2026-11-20',
      details: { minutesLate: 12, shiftStart: '09:00' },
    });

    // Delivered stays delivered: hours later nothing more is sent.
    await advance(h, 6 * 60 * 60_000);
    expect(h.receiver.requests).toHaveLength(3);
  });

  it('counts a receiver that does not answer within the time-out as a failed attempt', async () => {
    const h = await harness((n) => (n === 1 ? 'hold' : 'ok'), { timeoutSeconds: 1 });
    await h.notifications.enqueue([lateEvent()]);
    await h.notifications.worker.settled();
    const [first] = await h.rows('SELECT outcome, status_code, error FROM notification_attempts');
    expect(first).toEqual({ outcome: 'failed', status_code: null, error: 'no answer within 1 s' });
    await advance(h, 10_000);
    expect(await h.rows('SELECT status, attempts FROM notification_deliveries')).toEqual([{ status: 'delivered', attempts: 2 }]);
  });

  it('gives up after maxAttempts with a receiver that never accepts, and then sends nothing more', async () => {
    const h = await harness(() => 503, { maxAttempts: 4 });
    await h.notifications.enqueue([lateEvent()]);
    await h.notifications.worker.settled();
    // The back-off between the attempts: 10 s, 30 s, 90 s.
    for (const wait of [10_000, 30_000, 90_000]) await advance(h, wait);
    expect(await h.rows('SELECT status, attempts, next_attempt_at, last_status_code FROM notification_deliveries')).toEqual([
      { status: 'gave-up', attempts: 4, next_attempt_at: null, last_status_code: 503 },
    ]);
    expect(await h.rows('SELECT attempt, outcome, status_code FROM notification_attempts ORDER BY id')).toEqual([1, 2, 3, 4].map((attempt) => ({ attempt, outcome: 'failed', status_code: 503 })));
    await advance(h, 3 * 60 * 60_000);
    expect(h.receiver.requests).toHaveLength(4);
    expect(h.receiver.requests.every((request) => request.verified.ok)).toBe(true);
  });

  it('makes one notification and one delivery per endpoint of an event enqueued again (or twice in one batch), and posts it once', async () => {
    const h = await harness(() => 'ok');
    const second = await h.notifications.endpoints.create({ name: 'late only', url: h.receiver.url, kinds: ['late'] }, ACTOR);
    await h.notifications.endpoints.create({ name: 'absences only', url: h.receiver.url, kinds: ['absence'] }, ACTOR);
    await h.notifications.endpoints.create({ name: 'switched off', url: h.receiver.url, enabled: false }, ACTOR);
    expect(await h.notifications.enqueue([lateEvent(), lateEvent()])).toEqual({ created: 1 });
    expect(await h.notifications.enqueue([lateEvent({ details: { minutesLate: 99 } })])).toEqual({ created: 0 });
    await h.notifications.worker.settled();
    expect(await h.rows('SELECT key FROM notifications')).toEqual([{ key: 'late:E001:2026-11-20' }]);
    expect((await h.rows('SELECT endpoint_id, status FROM notification_deliveries ORDER BY endpoint_id')).map((row) => row.endpoint_id)).toEqual([h.endpointId, second.webhook.id].sort());
    // Two endpoints, both at this receiver: one accepted POST each, one secret (the first's) verifies.
    expect(h.receiver.requests).toHaveLength(2);
    expect(new Set(h.receiver.requests.map((request) => request.deliveryId)).size).toBe(2);
    expect(h.receiver.requests.every((request) => request.eventId === 'late:E001:2026-11-20')).toBe(true);
    // The first stored version of the event is the one sent.
    expect(JSON.parse(h.receiver.requests[0]?.rawBody ?? '').details).toEqual({ minutesLate: 12, shiftStart: '09:00' });
  });

  it('refuses an invalid event with a ZodError naming the field, and stores none of the batch', async () => {
    const h = await harness(() => 'ok');
    await expect(h.notifications.enqueue([lateEvent({ key: 'late:E002:2026-11-20' }), lateEvent({ occurredAt: '2026-11-20 09:12' })])).rejects.toThrow(/occurredAt/);
    await expect(h.notifications.enqueue([lateEvent({ kind: 'tardy' as 'late' })])).rejects.toThrow(/kind/);
    expect(await h.rows('SELECT COUNT(*) AS n FROM notifications')).toEqual([{ n: 0 }]);
  });

  it('holds the deliveries of a disabled endpoint, neither sent nor given up, and sends them once it is enabled again', async () => {
    const h = await harness(() => 'ok', { maxAttempts: 2 });
    await h.notifications.stop();
    await h.notifications.enqueue([lateEvent()]);
    await h.notifications.endpoints.update(h.endpointId, { enabled: false }, ACTOR);
    await h.notifications.start();
    await advance(h, 6 * 60 * 60_000);
    expect(h.receiver.requests).toHaveLength(0);
    expect(await h.rows('SELECT status, attempts FROM notification_deliveries')).toEqual([{ status: 'pending', attempts: 0 }]);

    await h.notifications.endpoints.update(h.endpointId, { enabled: true }, ACTOR);
    h.notifications.worker.kick();
    await h.notifications.worker.settled();
    expect(await h.rows('SELECT status, attempts FROM notification_deliveries')).toEqual([{ status: 'delivered', attempts: 1 }]);
    expect(h.receiver.accepted()).toHaveLength(1);
  });

  it('gives up a delivery whose endpoint was deleted while its attempt was in flight, instead of waiting for it forever', async () => {
    const h = await harness(() => 'hold');
    await h.notifications.enqueue([lateEvent()]);
    await waitFor('the POST at the receiver', () => h.receiver.requests.length === 1);
    await h.notifications.endpoints.delete(h.endpointId, ACTOR);
    h.receiver.release(500);
    await h.notifications.worker.settled();
    expect(await h.rows('SELECT status, attempts, next_attempt_at, last_status_code FROM notification_deliveries')).toEqual([
      { status: 'gave-up', attempts: 1, next_attempt_at: null, last_status_code: 500 },
    ]);
    await advance(h, 60 * 60_000);
    expect(h.receiver.requests).toHaveLength(1);
  });

  it('keeps no more than `concurrency` deliveries in flight', async () => {
    const h = await harness(() => 'hold', { concurrency: 2 });
    await h.notifications.enqueue([1, 2, 3, 4, 5, 6].map((day) => lateEvent({ key: `late:E001:2026-11-0${day}`, workDate: `2026-11-0${day}` })));
    await waitFor('two requests held at the receiver', () => h.receiver.openCount === 2);
    // Claimed together in one transaction before any POST left: the other four were not taken.
    expect(await h.rows('SELECT attempts, COUNT(*) AS n FROM notification_deliveries GROUP BY attempts ORDER BY attempts')).toEqual([
      { attempts: 0, n: 4 },
      { attempts: 1, n: 2 },
    ]);
    h.receiver.behaviour = () => 'ok';
    h.receiver.release();
    await waitFor('all six delivered', async () => (await h.rows("SELECT COUNT(*) AS n FROM notification_deliveries WHERE status = 'delivered'"))[0]?.n === 6);
    expect(h.receiver.maxOpen).toBe(2);
    expect(h.receiver.accepted()).toHaveLength(6);
  });

  it('records an attempt cut by a stop as interrupted and sends it again at the next start, with the same event id', async () => {
    const h = await harness((n) => (n === 1 ? 'hold' : 'ok'));
    await h.notifications.enqueue([lateEvent()]);
    await waitFor('the first POST at the receiver', () => h.receiver.requests.length === 1);
    await h.notifications.stop();
    expect(await h.rows('SELECT outcome, error FROM notification_attempts')).toEqual([{ outcome: 'interrupted', error: expect.stringContaining('interrupted') }]);
    expect(await h.rows('SELECT status, next_attempt_at FROM notification_deliveries')).toEqual([{ status: 'failed', next_attempt_at: START }]);

    await h.notifications.start();
    await h.notifications.worker.settled();
    expect(await h.rows('SELECT status, attempts FROM notification_deliveries')).toEqual([{ status: 'delivered', attempts: 2 }]);
    // The receiver saw the event twice (the first POST arrived, its answer never did): it de-duplicates by Punchgate-Event-Id.
    expect(h.receiver.requests.map((request) => request.eventId)).toEqual(['late:E001:2026-11-20', 'late:E001:2026-11-20']);
    expect(h.receiver.accepted()).toHaveLength(1);
  });

  it('sends again at start a delivery whose attempt a crash left open, even on its last attempt', async () => {
    const h = await harness(() => 'ok', { maxAttempts: 1 });
    await h.notifications.stop();
    await h.notifications.enqueue([lateEvent()]);
    // As if a process took the delivery and died before any answer: the attempt row stays open.
    const [claimed] = await h.notifications.store.claimDue(1, ['webhook'], [], h.notifications.retry);
    expect(claimed?.attempt).toBe(1);
    expect(await h.rows('SELECT outcome FROM notification_attempts')).toEqual([{ outcome: null }]);

    await h.notifications.start();
    await h.notifications.worker.settled();
    expect(await h.rows('SELECT attempt, outcome FROM notification_attempts ORDER BY id')).toEqual([
      { attempt: 1, outcome: 'interrupted' },
      { attempt: 2, outcome: 'delivered' },
    ]);
    expect(await h.rows('SELECT status FROM notification_deliveries')).toEqual([{ status: 'delivered' }]);
    expect(h.receiver.accepted().map((request) => request.eventId)).toEqual(['late:E001:2026-11-20']);
  });
});
