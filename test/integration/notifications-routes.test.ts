import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { lateEvent } from '../support/alert-event-fixture.js';
import { bearer } from '../support/dashboard-auth.js';
import { testLogger } from '../support/logger.js';
import { rowsOf } from '../support/sqlite-rows.js';
import { waitFor } from '../support/wait.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The alert routes on the real dashboard (auth plugin, SQLite file, embedded broker, the worker on
 * real timers) against real receivers: webhook management with the secret shown once, test sends,
 * the notification list and delivery log, replays, audit rows, field-level validation errors,
 * and enqueue's idempotency across a restart on the same database.
 */

type Json = Record<string, any>;
interface Answer {
  status: number;
  body: Json;
  raw: string;
}

describe('alert routes', () => {
  let dir: string;
  let dashboard: Dashboard;
  const receivers: WebhookReceiver[] = [];
  const rows = (sql: string): Promise<Json[]> => rowsOf(path.join(dir, 'dashboard.sqlite'), sql);
  // Receivers that fail are given up at the first failure: no real back-off to wait for.
  const config = (): DashboardConfig => DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, notifications: { maxAttempts: 1 } });
  const start = (): Promise<Dashboard> => startDashboard(config(), testLogger(), { onFirstAdmin: () => undefined });

  async function api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown): Promise<Answer> {
    const response = await dashboard.http.inject({ method, url, headers: bearer(dashboard.apiToken), ...(payload === undefined ? {} : { payload: payload as Json }) });
    return { status: response.statusCode, body: response.body ? response.json<Json>() : {}, raw: response.body };
  }

  /** A 400 whose issues name exactly these fields of this part of the request, each also in the error text. */
  function expectRefused(answer: Answer, part: 'body' | 'params' | 'querystring', fields: string[]): void {
    const where = `${answer.status} ${answer.raw}`;
    expect(answer.status, where).toBe(400);
    const issues = answer.body.issues as Array<{ in: string; field: string; message: string }>;
    expect([...new Set(issues.map((issue) => issue.field))].sort(), where).toEqual([...fields].sort());
    for (const issue of issues) {
      expect(issue.in, where).toBe(part);
      expect(answer.body.error, where).toContain(`${issue.field}: `);
    }
  }

  async function receiver(behaviour: ConstructorParameters<typeof WebhookReceiver>[0] = () => 'ok'): Promise<WebhookReceiver> {
    const started = await new WebhookReceiver(behaviour).start();
    receivers.push(started);
    return started;
  }

  /** Adds an endpoint through the API and gives its receiver the secret. */
  async function addWebhook(at: WebhookReceiver, body: Json = {}): Promise<Json> {
    const created = await api('POST', '/api/v1/webhooks', { name: 'payroll bridge', url: at.url, ...body });
    expect(created.status, created.raw).toBe(201);
    at.secret = created.body.secret;
    return created.body.webhook;
  }

  async function deliveryStatus(endpointId: string): Promise<string | undefined> {
    return (await rows(`SELECT status FROM notification_deliveries WHERE endpoint_id = '${endpointId}'`))[0]?.status;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-alert-routes-'));
    dashboard = await start();
  });

  // Each test's endpoints go with it: an endpoint for every kind would get the next tests' events too.
  afterEach(async () => {
    for (const webhook of (await api('GET', '/api/v1/webhooks?limit=500')).body.webhooks as Json[]) {
      expect((await api('DELETE', `/api/v1/webhooks/${webhook.id}`)).status).toBe(200);
    }
  });

  afterAll(async () => {
    await dashboard?.stop();
    for (const started of receivers) await started.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe('webhooks', () => {
    it('POST makes an endpoint and shows its secret once: never again in a list, a read or the audit log', async () => {
      const at = await receiver();
      const created = await api('POST', '/api/v1/webhooks', { name: ' HR bridge ', url: at.url, kinds: ['absence', 'late', 'late'] });
      expect(created.status, created.raw).toBe(201);
      const { webhook, secret } = created.body;
      expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      expect(webhook).toEqual({
        id: expect.any(String),
        name: 'HR bridge',
        url: at.url,
        kinds: ['absence', 'late'],
        enabled: true,
        secretHint: secret.slice(0, 10),
        createdAt: expect.any(String),
        updatedAt: webhook.createdAt,
      });
      // Stored as it is: it signs every delivery.
      expect(await rows(`SELECT secret FROM webhook_endpoints WHERE id = '${webhook.id}'`)).toEqual([{ secret }]);

      const listed = await api('GET', '/api/v1/webhooks');
      expect(listed.status).toBe(200);
      expect(listed.body.webhooks).toContainEqual(webhook);
      const read = await api('GET', `/api/v1/webhooks/${webhook.id}`);
      expect(read.body).toEqual({ webhook });
      for (const answer of [listed, read]) expect(answer.raw).not.toContain(secret);
      const audit = await rows(`SELECT action, actor_kind, after FROM audit_log WHERE entity = 'webhook' AND entity_id = '${webhook.id}'`);
      expect(audit).toEqual([{ action: 'webhook.create', actor_kind: 'token', after: JSON.stringify(webhook) }]);
      expect(JSON.stringify(audit)).not.toContain(secret);
    });

    it('POST refuses a URL that is not http(s), carries credentials or is no URL, naming url; and other bad fields by name', async () => {
      const before = await rows('SELECT COUNT(*) AS n FROM webhook_endpoints');
      for (const url of ['ftp://example.com/hook', 'file:///etc/passwd', 'javascript:alert(1)', 'https://user:secret@example.com/hook', 'https://:secret@example.com/hook', 'example.com/hook', '']) {
        const refused = await api('POST', '/api/v1/webhooks', { name: 'bad', url });
        expectRefused(refused, 'body', ['url']);
      }
      expect((await api('POST', '/api/v1/webhooks', { name: 'bad', url: 'https://user:pw@example.com/' })).body.issues[0].message).toBe('must not carry a user name or password');
      expect((await api('POST', '/api/v1/webhooks', { name: 'bad', url: 'ftp://example.com/' })).body.issues[0].message).toBe('must be an http:// or https:// URL, not ftp:');
      expectRefused(await api('POST', '/api/v1/webhooks', { name: '', url: 'https://example.com/hook', kinds: ['tardy'], secret: 'mine' }), 'body', ['name', 'kinds[0]', 'secret']);
      expectRefused(await api('POST', '/api/v1/webhooks', { name: 'x', url: 'https://example.com/hook', kinds: [], enabled: 'yes' }), 'body', ['kinds', 'enabled']);
      expectRefused(await api('POST', '/api/v1/webhooks', {}), 'body', ['name', 'url']);
      expect(await rows('SELECT COUNT(*) AS n FROM webhook_endpoints')).toEqual(before);
    });

    it('GET lists in creation order, paged; refuses bad paging and a malformed id', async () => {
      const at = await receiver();
      const first = await addWebhook(at, { name: 'page one' });
      const second = await addWebhook(at, { name: 'page two' });
      const all = (await api('GET', '/api/v1/webhooks?limit=500')).body.webhooks as Json[];
      const ids = all.map((webhook) => webhook.id);
      expect(ids.indexOf(second.id)).toBe(ids.indexOf(first.id) + 1);
      const page = await api('GET', `/api/v1/webhooks?limit=1`);
      expect(page.body.webhooks).toHaveLength(1);
      const next = await api('GET', `/api/v1/webhooks?limit=500&cursor=${page.body.nextCursor}`);
      expect(next.body.webhooks.map((webhook: Json) => webhook.id)).toEqual(ids.slice(1));
      expectRefused(await api('GET', '/api/v1/webhooks?limit=0&page=2'), 'querystring', ['limit', 'page']);
      expectRefused(await api('GET', '/api/v1/webhooks?cursor=nonsense'), 'querystring', ['cursor']);
      expectRefused(await api('GET', '/api/v1/webhooks/not-an-id'), 'params', ['id']);
      expect((await api('GET', '/api/v1/webhooks/0190a000-0000-7000-8000-000000000000')).status).toBe(404);
    });

    it('PATCH changes name, url, kinds and enabled, audited with before and after; refuses bad fields and an empty change', async () => {
      const at = await receiver();
      const webhook = await addWebhook(at);
      const changed = await api('PATCH', `/api/v1/webhooks/${webhook.id}`, { name: 'renamed', kinds: ['absence'], enabled: false });
      expect(changed.status, changed.raw).toBe(200);
      expect(changed.body.webhook).toMatchObject({ id: webhook.id, name: 'renamed', url: at.url, kinds: ['absence'], enabled: false });
      const all = await api('PATCH', `/api/v1/webhooks/${webhook.id}`, { kinds: null, enabled: true });
      expect(all.body.webhook).toMatchObject({ kinds: null, enabled: true });
      const audit = await rows(`SELECT action, before, after FROM audit_log WHERE entity_id = '${webhook.id}' ORDER BY id`);
      expect(audit.map((row) => row.action)).toEqual(['webhook.create', 'webhook.update', 'webhook.update']);
      expect(JSON.parse(audit[1]?.before)).toMatchObject({ name: 'payroll bridge', enabled: true });
      expect(JSON.parse(audit[1]?.after)).toMatchObject({ name: 'renamed', enabled: false, kinds: ['absence'] });

      expectRefused(await api('PATCH', `/api/v1/webhooks/${webhook.id}`, { url: 'gopher://example.com/' }), 'body', ['url']);
      expectRefused(await api('PATCH', `/api/v1/webhooks/${webhook.id}`, { name: '  ', colour: 'red' }), 'body', ['name', 'colour']);
      const empty = await api('PATCH', `/api/v1/webhooks/${webhook.id}`, {});
      expect(empty.status).toBe(400);
      expect(empty.body.error).toContain('change at least one of name, url, kinds, enabled');
      expectRefused(await api('PATCH', '/api/v1/webhooks/42', { name: 'x' }), 'params', ['id']);
      expect((await api('PATCH', '/api/v1/webhooks/0190a000-0000-7000-8000-000000000000', { name: 'x' })).status).toBe(404);
      expect((await api('GET', `/api/v1/webhooks/${webhook.id}`)).body.webhook).toMatchObject({ name: 'renamed', kinds: null, enabled: true });
    });

    it('a disabled endpoint gets no deliveries of new events; one subscribed to other kinds neither', async () => {
      const at = await receiver();
      const off = await addWebhook(at, { enabled: false });
      const absences = await addWebhook(at, { kinds: ['absence'] });
      await dashboard.notifications.enqueue([lateEvent({ key: 'late:E010:2026-11-20' })]);
      expect(await rows(`SELECT COUNT(*) AS n FROM notification_deliveries WHERE endpoint_id IN ('${off.id}', '${absences.id}')`)).toEqual([{ n: 0 }]);
    });

    it('DELETE removes an endpoint (audited, secret wiped, 404 afterwards); its deliveries cannot be replayed', async () => {
      const at = await receiver();
      const webhook = await addWebhook(at);
      await dashboard.notifications.enqueue([lateEvent({ key: 'late:E011:2026-11-20' })]);
      await waitFor('delivered', async () => (await deliveryStatus(webhook.id)) === 'delivered');
      const [delivery] = await rows(`SELECT id FROM notification_deliveries WHERE endpoint_id = '${webhook.id}'`);

      expectRefused(await api('DELETE', '/api/v1/webhooks/nope'), 'params', ['id']);
      const deleted = await api('DELETE', `/api/v1/webhooks/${webhook.id}`);
      expect(deleted.status, deleted.raw).toBe(200);
      expect(deleted.body).toEqual({ webhook: expect.objectContaining({ id: webhook.id, name: 'payroll bridge' }), deliveriesGivenUp: 0 });
      expect((await api('GET', `/api/v1/webhooks/${webhook.id}`)).status).toBe(404);
      expect((await api('DELETE', `/api/v1/webhooks/${webhook.id}`)).status).toBe(404);
      expect(await rows(`SELECT secret, enabled, deleted_at IS NOT NULL AS deleted FROM webhook_endpoints WHERE id = '${webhook.id}'`)).toEqual([{ secret: '', enabled: 0, deleted: 1 }]);
      expect((await rows(`SELECT action FROM audit_log WHERE entity_id = '${webhook.id}' ORDER BY id`)).map((row) => row.action)).toEqual(['webhook.create', 'webhook.delete']);

      const replay = await api('POST', `/api/v1/deliveries/${delivery?.id}/replay`);
      expect(replay.status, replay.raw).toBe(409);
      expect(replay.body.error).toContain('was deleted');
      expect(at.requests).toHaveLength(1);
    });

    it('POST /webhooks/:id/test sends one signed sample event and says how it went, storing no notification', async () => {
      const at = await receiver((n) => (n === 1 ? 'ok' : 500));
      const webhook = await addWebhook(at);
      const before = await rows('SELECT COUNT(*) AS n FROM notifications');
      const tested = await api('POST', `/api/v1/webhooks/${webhook.id}/test`, { kind: 'absence' });
      expect(tested.status, tested.raw).toBe(200);
      expect(tested.body.test).toEqual({ eventId: expect.stringMatching(/^test:/), delivered: true, statusCode: 200, error: null, durationMs: expect.any(Number) });
      expect(at.requests).toHaveLength(1);
      const [request] = at.requests;
      expect(request?.verified.ok).toBe(true);
      expect(request?.eventId).toBe(tested.body.test.eventId);
      expect(JSON.parse(request?.rawBody ?? '')).toMatchObject({ id: tested.body.test.eventId, type: 'absence', test: true, employee: { employeeNumber: 'TEST-0001' } });

      const failing = await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
      expect(failing.status).toBe(200);
      expect(failing.body.test).toMatchObject({ delivered: false, statusCode: 500, error: 'HTTP 500: receiver is down' });
      expect(JSON.parse(at.requests[1]?.rawBody ?? '').type).toBe('late');
      expect(await rows('SELECT COUNT(*) AS n FROM notifications')).toEqual(before);

      expectRefused(await api('POST', `/api/v1/webhooks/${webhook.id}/test`, { kind: 'tardy', extra: 1 }), 'body', ['kind', 'extra']);
      expectRefused(await api('POST', '/api/v1/webhooks/not-a-uuid/test', {}), 'params', ['id']);
      expect((await api('POST', '/api/v1/webhooks/0190a000-0000-7000-8000-000000000000/test', {})).status).toBe(404);
      expect(at.requests).toHaveLength(2);
    });
  });

  describe('notifications, deliveries and replay', () => {
    it('GET /notifications lists newest first with delivery counts, filtered by kind, status and employee, paged', async () => {
      const at = await receiver();
      await addWebhook(at, { kinds: ['absence', 'missed-punch'] });
      await dashboard.notifications.enqueue([
        lateEvent({ key: 'absence:E020:2026-11-20', kind: 'absence', employee: { employeeNumber: 'E020', name: 'Lee Ka Yan' } }),
        lateEvent({ key: 'missed-punch:E021:2026-11-20:out', kind: 'missed-punch', employee: { employeeNumber: 'E021', name: 'Ho Wai Lam' } }),
      ]);
      await waitFor('both delivered', () => at.accepted().length === 2);
      await waitFor('both recorded', async () => (await rows("SELECT COUNT(*) AS n FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.employee_number IN ('E020', 'E021') AND d.status = 'delivered'"))[0]?.n === 2);

      const absence = await api('GET', '/api/v1/notifications?kind=absence');
      expect(absence.status, absence.raw).toBe(200);
      expect(absence.body.notifications).toEqual([
        expect.objectContaining({ key: 'absence:E020:2026-11-20', kind: 'absence', employeeNumber: 'E020', siteId: 'mk-01', workDate: '2026-11-20', deliveries: { total: 1, pending: 0, delivered: 1, failed: 0, gaveUp: 0 } }),
      ]);
      expect(absence.body.notifications[0].event.employee).toEqual({ employeeNumber: 'E020', name: 'Lee Ka Yan' });
      expect((await api('GET', '/api/v1/notifications?employeeNumber=E021')).body.notifications.map((n: Json) => n.key)).toEqual(['missed-punch:E021:2026-11-20:out']);
      const delivered = (await api('GET', '/api/v1/notifications?status=delivered&limit=500')).body.notifications.map((n: Json) => n.key);
      expect(delivered).toEqual(expect.arrayContaining(['absence:E020:2026-11-20', 'missed-punch:E021:2026-11-20:out']));
      expect(delivered.indexOf('missed-punch:E021:2026-11-20:out')).toBeLessThan(delivered.indexOf('absence:E020:2026-11-20'));
      expect((await api('GET', '/api/v1/notifications?status=gave-up&employeeNumber=E020')).body.notifications).toEqual([]);

      const first = await api('GET', '/api/v1/notifications?limit=1');
      expect(first.body.notifications).toHaveLength(1);
      const rest = await api('GET', `/api/v1/notifications?limit=500&cursor=${first.body.nextCursor}`);
      const total = (await rows('SELECT COUNT(*) AS n FROM notifications'))[0]?.n;
      expect(rest.body.notifications).toHaveLength(total - 1);
      expect(rest.body.nextCursor).toBeNull();

      expectRefused(await api('GET', '/api/v1/notifications?kind=tardy&status=lost&employeeNumber=-x&limit=0'), 'querystring', ['kind', 'status', 'employeeNumber', 'limit']);
      expectRefused(await api('GET', '/api/v1/notifications?cursor=nonsense'), 'querystring', ['cursor']);
    });

    it('GET /notifications/:id/deliveries shows each delivery with its attempts', async () => {
      const at = await receiver();
      const webhook = await addWebhook(at, { kinds: ['early-leave'] });
      await dashboard.notifications.enqueue([lateEvent({ key: 'early-leave:E030:2026-11-20', kind: 'early-leave', employee: { employeeNumber: 'E030', name: 'Tam Chi Keung' } })]);
      await waitFor('delivered', async () => (await deliveryStatus(webhook.id)) === 'delivered');
      const [notification] = (await api('GET', '/api/v1/notifications?employeeNumber=E030')).body.notifications;
      const answer = await api('GET', `/api/v1/notifications/${notification.id}/deliveries`);
      expect(answer.status, answer.raw).toBe(200);
      expect(answer.body.notification).toMatchObject({ id: notification.id, key: 'early-leave:E030:2026-11-20' });
      expect(answer.body.deliveries).toEqual([
        expect.objectContaining({
          notificationId: notification.id,
          channel: 'webhook',
          endpoint: { id: webhook.id, name: 'payroll bridge', deleted: false },
          address: null,
          status: 'delivered',
          attemptCount: 1,
          lastStatusCode: 200,
          deliveredAt: expect.any(String),
          attempts: [{ attempt: 1, at: expect.any(String), outcome: 'delivered', statusCode: 200, error: null, durationMs: expect.any(Number) }],
        }),
      ]);
      expectRefused(await api('GET', '/api/v1/notifications/E030/deliveries'), 'params', ['id']);
      expect((await api('GET', '/api/v1/notifications/0190a000-0000-7000-8000-000000000000/deliveries')).status).toBe(404);
    });

    it('POST /deliveries/:id/replay sends a delivered one again with the same Punchgate-Event-Id, audited', async () => {
      const at = await receiver();
      const webhook = await addWebhook(at, { kinds: ['punch-on-leave'] });
      await dashboard.notifications.enqueue([lateEvent({ key: 'punch-on-leave:E040:2026-11-20', kind: 'punch-on-leave' })]);
      await waitFor('delivered', async () => (await deliveryStatus(webhook.id)) === 'delivered');
      const [delivery] = await rows(`SELECT id FROM notification_deliveries WHERE endpoint_id = '${webhook.id}'`);

      const replayed = await api('POST', `/api/v1/deliveries/${delivery?.id}/replay`);
      expect(replayed.status, replayed.raw).toBe(202);
      expect(replayed.body.delivery).toMatchObject({ id: delivery?.id, status: 'pending', attemptCount: 1 });
      await waitFor('the second POST', () => at.accepted().length === 2);
      // The attempt is counted when it is taken, before its answer: wait for the outcome too.
      await waitFor('delivered again', async () => {
        const [row] = await rows(`SELECT status, attempts FROM notification_deliveries WHERE id = '${delivery?.id}'`);
        return row?.attempts === 2 && row.status === 'delivered';
      });
      expect(await rows(`SELECT status, attempts, replay_base FROM notification_deliveries WHERE id = '${delivery?.id}'`)).toEqual([{ status: 'delivered', attempts: 2, replay_base: 1 }]);
      expect(at.requests.map((request) => [request.eventId, request.deliveryId, request.verified.ok])).toEqual([
        ['punch-on-leave:E040:2026-11-20', delivery?.id, true],
        ['punch-on-leave:E040:2026-11-20', delivery?.id, true],
      ]);
      expect(at.requests[1]?.rawBody).toBe(at.requests[0]?.rawBody);
      const audit = await rows(`SELECT action, actor_kind, before, after FROM audit_log WHERE entity = 'delivery' AND entity_id = '${delivery?.id}'`);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ action: 'delivery.replay', actor_kind: 'token' });
      expect(JSON.parse(audit[0]?.before)).toMatchObject({ status: 'delivered', endpointId: webhook.id });
      expect(JSON.parse(audit[0]?.after)).toMatchObject({ status: 'pending' });

      expectRefused(await api('POST', '/api/v1/deliveries/12/replay'), 'params', ['id']);
      expect((await api('POST', '/api/v1/deliveries/0190a000-0000-7000-8000-000000000000/replay')).status).toBe(404);
    });

    it('replays a delivery that gave up, and it is delivered once the receiver is back', async () => {
      const at = await receiver(() => 502);
      const webhook = await addWebhook(at, { kinds: ['serious-late'] });
      await dashboard.notifications.enqueue([lateEvent({ key: 'serious-late:E050:2026-11-20', kind: 'serious-late' })]);
      await waitFor('given up (maxAttempts 1)', async () => (await deliveryStatus(webhook.id)) === 'gave-up');
      const [delivery] = await rows(`SELECT id, last_status_code FROM notification_deliveries WHERE endpoint_id = '${webhook.id}'`);
      expect(delivery?.last_status_code).toBe(502);

      at.behaviour = () => 'ok';
      expect((await api('POST', `/api/v1/deliveries/${delivery?.id}/replay`)).status).toBe(202);
      await waitFor('delivered after the replay', async () => (await deliveryStatus(webhook.id)) === 'delivered');
      expect(at.requests.map((request) => request.answer)).toEqual([502, 200]);
      expect(await rows(`SELECT attempt, outcome, status_code FROM notification_attempts WHERE delivery_id = '${delivery?.id}' ORDER BY id`)).toEqual([
        { attempt: 1, outcome: 'failed', status_code: 502 },
        { attempt: 2, outcome: 'delivered', status_code: 200 },
      ]);
    });
  });

  it('enqueue is idempotent across a restart on the same database: one notification, one delivery per endpoint, one accepted POST', async () => {
    const at = await receiver();
    const webhook = await addWebhook(at, { kinds: ['shift-reminder'] });
    const event = lateEvent({ key: 'shift-reminder:E060:2026-11-21T01:00Z', kind: 'shift-reminder', occurredAt: '2026-11-21T01:00:00Z', workDate: '2026-11-21' });
    expect(await dashboard.notifications.enqueue([event])).toEqual({ created: 1 });
    expect(await dashboard.notifications.enqueue([event])).toEqual({ created: 0 });
    await waitFor('delivered', async () => (await deliveryStatus(webhook.id)) === 'delivered');

    await dashboard.stop();
    dashboard = await start();
    expect(await dashboard.notifications.enqueue([event])).toEqual({ created: 0 });
    await dashboard.notifications.worker.settled();

    expect(await rows("SELECT COUNT(*) AS n FROM notifications WHERE key = 'shift-reminder:E060:2026-11-21T01:00Z'")).toEqual([{ n: 1 }]);
    expect(await rows(`SELECT status, attempts FROM notification_deliveries WHERE endpoint_id = '${webhook.id}'`)).toEqual([{ status: 'delivered', attempts: 1 }]);
    expect(at.accepted().map((request) => request.eventId)).toEqual(['shift-reminder:E060:2026-11-21T01:00Z']);
    // And the restarted dashboard still serves it.
    expect((await api('GET', '/api/v1/notifications?kind=shift-reminder')).body.notifications.map((n: Json) => n.key)).toEqual(['shift-reminder:E060:2026-11-21T01:00Z']);
  });
});
