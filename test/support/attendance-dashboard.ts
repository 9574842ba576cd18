import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { Punch } from '../../core/punch.js';
import type { Role } from '../../dashboard/auth/permissions.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { bearer } from './dashboard-auth.js';
import { testLogger } from './logger.js';
import { testPunch } from './punch-fixture.js';
import { wifiOnlyPolicy } from './site-policy.js';

/**
 * A real dashboard (SQLite file, embedded broker) for attendance tests: two sites, API tokens per
 * role (two HR, two Mong Kok managers, one Tsim Sha Tsui manager), staff, and helpers to call the
 * API as any of them and to store punches at Hong Kong wall-clock times.
 */

export type Json = Record<string, any>;

/** "2026-11-23 09:03" Hong Kong time, as a UTC instant. */
export const hk = (local: string): string => new Date(`${local.replace(' ', 'T')}:00+08:00`).toISOString();

export const ATTENDANCE_TOKENS: ReadonlyArray<readonly [name: string, role: Role, sites?: readonly string[]]> = [
  ['admin', 'admin'],
  ['hr', 'hr'],
  ['hr2', 'hr'],
  ['facilities', 'facilities'],
  ['mgr-mk', 'store-manager', ['mk-01']],
  ['mgr-mk-2', 'store-manager', ['mk-01']],
  ['mgr-tst', 'store-manager', ['tst-02']],
];

export interface AttendanceDashboard {
  dashboard: Dashboard;
  api(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, as?: string, headers?: Record<string, string>): Promise<{ status: number; body: Json; text: string; raw: Buffer; headers: Record<string, unknown> }>;
  count(table: string): Promise<number>;
  store(punches: Punch[]): Promise<void>;
  /** A badge punch of this person at this Hong Kong wall-clock time. */
  badge(employeeId: string, local: string, siteId?: string): Punch;
  stop(): Promise<void>;
}

export async function startAttendanceDashboard(now: Date | (() => Date), staff: ReadonlyArray<{ number: string; name: string; nameZh?: string; site: string; department?: string; email?: string }>): Promise<AttendanceDashboard> {
  const dir = await mkdtemp(path.join(tmpdir(), 'punchgate-attendance-'));
  const clock = typeof now === 'function' ? now : () => now;
  const dashboard = await startDashboard(DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }), testLogger(), { onFirstAdmin: () => undefined, now: clock });
  const tokens = new Map<string, string>();
  for (const [name, role, sites] of ATTENDANCE_TOKENS) tokens.set(name, (await dashboard.auth.tokens.create({ name, role, ...(sites ? { sites: [...sites] } : {}) }, undefined)).secret);
  const api: AttendanceDashboard['api'] = async (method, url, payload, as = 'admin', headers = {}) => {
    const response = await dashboard.http.inject({ method, url: `/api/v1${url}`, headers: { ...bearer(tokens.get(as) ?? 'no-such-token'), ...headers }, ...(payload === undefined ? {} : typeof payload === 'string' || Buffer.isBuffer(payload) ? { payload } : { payload: payload as Json }) });
    let body: Json = {};
    try {
      body = response.json<Json>();
    } catch {
      body = {};
    }
    return { status: response.statusCode, body, text: response.body, raw: response.rawPayload, headers: response.headers };
  };
  for (const id of ['mk-01', 'tst-02']) expect((await api('PUT', `/sites/${id}`, { name: id === 'mk-01' ? 'Mong Kok' : 'Tsim Sha Tsui', nameZh: id === 'mk-01' ? '旺角' : '尖沙咀', policy: wifiOnlyPolicy(id) })).status).toBe(201);
  for (const person of staff) {
    expect((await api('PUT', `/employees/${person.number}`, { name: person.name, ...(person.nameZh ? { nameZh: person.nameZh } : {}), department: person.department ?? 'retail', ...(person.email ? { email: person.email } : {}), sites: [person.site], status: 'active' })).status).toBe(201);
  }
  let seq = 0;
  return {
    dashboard,
    api,
    count: async (table) => (await dashboard.db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))?.n ?? 0,
    store: async (punches) => {
      await dashboard.db.transaction(() => dashboard.punches.insertNewInTransaction(punches, clock().toISOString()));
    },
    badge: (employeeId, local, siteId = 'mk-01') => testPunch({ employeeId, at: hk(local), siteId, seq: ++seq, direction: 'auto' }),
    stop: async () => {
      await dashboard.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
