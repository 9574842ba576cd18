import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Punch } from '../../core/punch.js';
import { DashboardConfig } from '../../dashboard/config.js';
import { startDashboard, type Dashboard } from '../../dashboard/server.js';
import { testPunch } from '../support/punch-fixture.js';
import { testLogger } from '../support/logger.js';

const punch = (seq: number): Punch => testPunch({ seq, at: new Date(Date.parse('2026-11-23T01:00:00.000Z') + seq * 1000).toISOString() });

// Punch search reads on its own read-only connection (dashboard/server.ts).
describe('punch search reads committed punches only, on a connection of its own', () => {
  let dir: string;
  let dashboard: Dashboard;
  const search = async (): Promise<number[]> => {
    const response = await dashboard.http.inject({ url: '/api/v1/punches?limit=50', headers: { authorization: `Bearer ${dashboard.apiToken}` } });
    expect(response.statusCode).toBe(200);
    return (response.json() as { punches: Punch[] }).punches.map((found) => found.seq);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'punchgate-search-'));
    dashboard = await startDashboard(DashboardConfig.parse({ dataDir: dir, http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 } }), testLogger(), { onFirstAdmin: () => undefined });
  });

  afterAll(async () => {
    await dashboard?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a search while a write transaction is open, without the rows it has not committed', async () => {
    await dashboard.punches.insertBatch([punch(1)], new Date().toISOString());
    let commit: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (commit = resolve));
    let inserted: () => void = () => undefined;
    const insertedInside = new Promise<void>((resolve) => (inserted = resolve));
    // An ingest transaction that stays open: on one shared connection a search would wait for it
    // (or, run inside it, see its rows before they are committed).
    const writing = dashboard.db.transaction(async () => {
      await dashboard.punches.insertInTransaction([punch(2)], new Date().toISOString());
      inserted();
      await holding;
    });
    await insertedInside;
    expect(await search()).toEqual([1]);
    commit();
    await writing;
    expect(await search()).toEqual([2, 1]);
  });
});
