import { Punch } from '../../core/punch.js';
import { localDay } from '../../core/time.js';
import type { Database } from '../../platform/sqlite.js';

export interface CorrectionRequest {
  /** Only punches of this boot: monotonic readings of other boots mean nothing now. */
  bootId: string;
  /** Wall ms minus monotonic ms of a synchronised clock: a punch's true time is `offsetMs + mono_ms`. */
  offsetMs: number;
  /** The monotonic reading when the offset was taken; a punch reading above it is impossible and left alone. */
  monoMs: number;
  /** The site's time zone, for the corrected local day. */
  timeZone: string;
}

export interface CorrectionReport {
  bootId: string;
  offsetMs: number;
  corrected: number;
  /** Rows that could not be corrected, with why; they keep clock_synced = 0 and are tried again next time. */
  skipped: Array<{ seq: number; reason: string }>;
}

export type UnsyncedRow = {
  seq: number;
  body: string;
  mono_ms: number | null;
};

/**
 * Rewrites the time of punches taken before the wall clock synced. A row qualifies when
 * clock_synced = 0, it was taken in this boot, and it is still pending (not yet acknowledged by
 * the server: the server keeps what it stored first, so rewriting an acked row would only make the
 * gateway disagree with it).
 *
 * After correction the row has clock_synced = 1, which from then on means "its `at` can be
 * trusted" (taken synced, or corrected), while the body keeps `clock.synced: false` (it was not
 * synced when taken) and gains `clock.corrected: true`.
 */
export class ClockCorrections {
  constructor(private readonly db: Database) {}

  /** How many pending punches of this boot still wait for a correction. */
  async countUncorrected(bootId: string): Promise<number> {
    const row = await this.db.get<{ n: number }>("SELECT count(*) AS n FROM punches WHERE clock_synced = 0 AND boot_id = ? AND state = 'pending'", [bootId]);
    return row?.n ?? 0;
  }

  /** Corrects every qualifying punch in one transaction: all of them are rewritten, or none. */
  async correct(request: CorrectionRequest): Promise<CorrectionReport> {
    const report: CorrectionReport = { bootId: request.bootId, offsetMs: request.offsetMs, corrected: 0, skipped: [] };
    // A cheap read first (partial index on clock_synced = 0): most checks find nothing, and then no
    // write transaction is opened at all.
    if ((await this.countUncorrected(request.bootId)) === 0) return report;
    await this.db.transaction(async () => {
      const rows = await this.db.all<UnsyncedRow>(
        "SELECT seq, body, mono_ms FROM punches WHERE clock_synced = 0 AND boot_id = ? AND state = 'pending' ORDER BY seq",
        [request.bootId],
      );
      for (const row of rows) {
        const outcome = correctedRow(row, request);
        if ('reason' in outcome) {
          report.skipped.push({ seq: row.seq, reason: outcome.reason });
          continue;
        }
        const result = await this.db.run('UPDATE punches SET at = ?, local_day = ?, body = ?, clock_synced = 1 WHERE seq = ? AND clock_synced = 0', [
          outcome.punch.at,
          outcome.localDay,
          JSON.stringify(outcome.punch),
          row.seq,
        ]);
        report.corrected += result.changes;
      }
    });
    return report;
  }
}

/**
 * The corrected punch of one row, or why it cannot be corrected. The direction stays as it was
 * decided at the tap (see docs/protocol.md, "Clock trust"): it was what the person was told.
 */
export function correctedRow(row: UnsyncedRow, request: CorrectionRequest): { punch: Punch; localDay: string } | { reason: string } {
  if (row.mono_ms === null || !Number.isFinite(row.mono_ms)) return { reason: 'no monotonic reading' };
  if (row.mono_ms > request.monoMs) return { reason: `monotonic reading ${row.mono_ms} is after the sync (${request.monoMs})` };
  let raw: unknown;
  try {
    raw = JSON.parse(row.body);
  } catch {
    return { reason: 'body is not JSON' };
  }
  const parsed = Punch.safeParse(raw);
  if (!parsed.success) return { reason: `body is not a punch: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  const at = new Date(Math.round(request.offsetMs + row.mono_ms));
  if (Number.isNaN(at.getTime())) return { reason: 'corrected time is out of range' };
  const punch: Punch = { ...parsed.data, at: at.toISOString(), clock: { synced: false, corrected: true } };
  return { punch, localDay: localDay(at, request.timeZone) };
}
