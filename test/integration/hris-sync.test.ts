import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayConfig } from '../../gateway/config.js';
import { startGateway, type Gateway } from '../../gateway/main.js';
import type { TapResult } from '../../gateway/punch-desk.js';
import { hashDeviceSecret, newDeviceSecret } from '../../provisioning/device-secrets.js';
import { startAttendanceDashboard, type AttendanceDashboard, type Json } from '../support/attendance-dashboard.js';
import { testLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

/**
 * POST /api/v1/hris/employees on a real dashboard with a real gateway connected over the embedded
 * broker: bulk upsert with per-record results, incremental fields, Idempotency-Key replays, record
 * errors by record and field, and a full sync whose deactivation reaches the gateway, which then
 * refuses the badge (timed end to end on loopback).
 */

const person = (number: string, more: Json = {}): Json => ({ employeeNumber: number, name: `Person ${number}`, sites: ['mk-01'], ...more });

describe('HRIS sync: /api/v1/hris/employees', () => {
  let t: AttendanceDashboard;
  let gateway: Gateway;
  let dir: string;
  const sync = (body: unknown, headers: Record<string, string> = {}, query = '') => t.api('POST', `/hris/employees${query}`, body, 'admin', headers);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-hris-'));
    t = await startAttendanceDashboard(() => new Date(), []);
    const secret = newDeviceSecret();
    await t.dashboard.devices.register({ id: 'gw-1', siteId: 'mk-01', secretHash: await hashDeviceSecret(secret), createdAt: new Date().toISOString() });
    gateway = await startGateway(
      GatewayConfig.parse({
        deviceId: 'gw-1',
        siteId: 'mk-01',
        dataDir: path.join(dir, 'gateway'),
        http: { port: 0 },
        mqtt: { url: t.dashboard.brokerUrl, password: secret, batch: { ackTimeoutSeconds: 1 }, reconnect: { minSeconds: 0.05, maxSeconds: 0.3 } },
        clock: { syncCommand: null },
      }),
      testLogger(),
      { uplink: { statusMinIntervalMs: 0 } },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('upserts by employee number with per-record results; fields left out stay as they are', async () => {
    const first = await sync({ records: [person('H001', { phone: '9123 4567', badges: [{ kind: 'mifare', uid: '04A1B2C3' }] }), person('H002', { department: 'Retail' })] });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ dryRun: false, mode: 'upsert', counts: { create: 2, update: 0, deactivate: 0, unchanged: 0 }, accounts: [] });
    expect(first.body.results.map((r: Json) => [r.record, r.employeeNumber, r.outcome])).toEqual([
      [1, 'H001', 'create'],
      [2, 'H002', 'create'],
    ]);

    // No phone and no badges in this record: both are kept; the name changes.
    const second = await sync({ records: [{ employeeNumber: 'H001', name: 'Chan Tai Man' }] });
    expect(second.body.results).toEqual([{ record: 1, employeeNumber: 'H001', outcome: 'update', changes: [{ field: 'name', before: 'Person H001', after: 'Chan Tai Man' }] }]);
    expect((await t.api('GET', '/employees/H001')).body.employee).toMatchObject({ name: 'Chan Tai Man', phone: '+85291234567', badges: [{ credential: { uid: '04A1B2C3' } }] });
    // null clears.
    const cleared = await sync({ records: [{ employeeNumber: 'H001', name: 'Chan Tai Man', phone: null }] });
    expect(cleared.body.results[0].changes).toEqual([{ field: 'phone', before: '+85291234567', after: null }]);
  });

  it('dry run answers what would change and writes nothing', async () => {
    const before = await t.count('employees');
    const dry = await sync({ records: [person('H100')] }, {}, '?dryRun=true');
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, counts: { create: 1 } });
    expect(await t.count('employees')).toBe(before);
  });

  it('replays an Idempotency-Key with the first answer, and refuses the key for another request', async () => {
    const key = { 'idempotency-key': 'c1b7a7b2-0d4c-4d1e-9a8f-2f3b5a6c7d8e' };
    const first = await sync({ records: [person('H200')] }, key);
    expect(first.status).toBe(200);
    expect(first.body.counts.create).toBe(1);
    const audit = await t.count('audit_log');
    const replay = await sync({ records: [person('H200')] }, key);
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await t.count('audit_log')).toBe(audit);
    const other = await sync({ records: [person('H201')] }, key);
    expect(other.status).toBe(422);
    expect(other.body.error).toContain('different request');
    expect(await t.count("employees WHERE employee_number = 'H201'")).toBe(0);
    // Without a key the same request is simply idempotent: nothing changes the second time.
    expect((await sync({ records: [person('H200')] })).body.counts).toEqual({ create: 0, update: 0, deactivate: 0, unchanged: 1 });
  });

  it('refuses a request with bad records by record and field, writing nothing; malformed bodies are 400 with the field', async () => {
    const before = await t.count('employees');
    const refused = await sync({ records: [person('H300'), person('H301', { phone: '12', sites: ['nowhere'] }), person('H300'), person('H303', { badges: [{ kind: 'mifare', uid: '04A1B2C3' }] })] });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.body.errors.map((e: Json) => [e.record, e.field])).toEqual([
      [2, 'sites'],
      [2, 'phone'],
      [3, 'employeeNumber'],
      [4, 'badges'],
    ]);
    expect(refused.body.errors[3]).toMatchObject({ message: 'badge mifare:04A1B2C3 is assigned to employee H001; revoke it there first', messageZh: expect.stringContaining('H001') });
    expect(await t.count('employees')).toBe(before);

    for (const [body, field] of [
      [{ records: [] }, 'records'],
      [{ records: [{ name: 'No number' }] }, 'records[0].employeeNumber'],
      [{ records: [person('H304', { shoeSize: 42 })] }, 'records[0].shoeSize'],
      [{ mode: 'everything', records: [person('H305')] }, 'mode'],
    ] as const) {
      const bad = await sync(body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.issues.map((issue: Json) => issue.field)).toContain(field);
    }
    const badKey = await sync({ records: [person('H306')] }, { 'idempotency-key': 'has space' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.issues).toEqual([{ in: 'headers', field: 'idempotency-key', message: expect.stringContaining('visible ASCII') }]);
    expect((await t.api('POST', '/hris/employees', { records: [person('H307')] }, 'hr')).status).toBe(403);
  });

  it('a full sync deactivates everyone absent and revokes their badges; the gateway refuses the badge within seconds', async () => {
    await waitFor('the badge of H001 in the gateway roster', async () => (await gateway.health()).roster.entries >= 1, 10_000);
    const tap = async (): Promise<TapResult> => (await gateway.desk.submit({ readerId: 'door', read: { kind: 'mifare', uid: '04A1B2C3' } })).result;
    expect(await tap()).toBe('accepted');
    const everyoneElse = (await t.dashboard.db.all<{ employee_number: string }>("SELECT employee_number FROM employees WHERE status = 'active' AND employee_number <> 'H001'")).map((row) => row.employee_number);

    const started = performance.now();
    const full = await sync({ mode: 'full', records: everyoneElse.map((number) => ({ employeeNumber: number, name: `Person ${number}` })) });
    const answeredMs = performance.now() - started;
    expect(full.status, full.text).toBe(200);
    expect(full.body.counts).toEqual({ create: 0, update: 0, deactivate: 1, unchanged: everyoneElse.length });
    expect(full.body.results.at(-1)).toEqual({
      record: null,
      employeeNumber: 'H001',
      outcome: 'deactivate',
      changes: [
        { field: 'status', before: 'active', after: 'inactive' },
        { field: 'badges', before: ['mifare:04A1B2C3'], after: [] },
      ],
    });
    expect(await t.dashboard.db.get("SELECT revoked_at IS NOT NULL AS revoked, revoke_reason FROM badge_assignments WHERE credential_uid = '04A1B2C3'")).toEqual({ revoked: 1, revoke_reason: 'employee deactivated by hris admin' });

    let result: TapResult = 'accepted';
    let taps = 0;
    while (result === 'accepted' || result === 'duplicate') {
      expect(performance.now() - started, 'the deactivation never reached the gateway').toBeLessThan(20_000);
      result = await tap();
      taps += 1;
      if (result === 'accepted' || result === 'duplicate') await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const refusedMs = performance.now() - started;
    console.info(`[hris] full sync -> gateway refuses the badge: ${refusedMs.toFixed(0)} ms (HTTP answer ${answeredMs.toFixed(0)} ms, ${taps} taps)`);
    expect(result).toBe('revoked');
  });
});
