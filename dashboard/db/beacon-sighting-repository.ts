import { createHash } from 'node:crypto';
import type { Database } from '../../platform/sqlite.js';

/**
 * The replay memory of mobile punches (see `SeenBefore` in core/location/verify-evidence.ts): which
 * employee already had a punch accepted with which beacon id, kept only while the beacon resolver
 * would still accept that id (to the end of the window after the id's own); after that the
 * resolver refuses the id as expired by itself, so the row is pruned.
 *
 * Data minimisation: a row is sha256(beacon key, employee key) and an expiry, nothing else. It
 * answers "seen before?" and cannot list who was where. (Beacon keys and employee ids are
 * guessable, so this keeps ids out of the table at rest, it is not anonymisation; the rows live
 * minutes, not months.)
 */
export class BeaconSightingRepository {
  constructor(private readonly db: Database) {}

  static sightingOf(beaconKey: string, employeeKey: string): string {
    return createHash('sha256').update('punchgate-beacon-sighting\0').update(beaconKey).update('\0').update(employeeKey).digest('hex');
  }

  /** The beacon keys among `beaconKeys` that this employee already used in an accepted punch, still unexpired at `now`. */
  async seen(employeeKey: string, beaconKeys: readonly string[], now: Date): Promise<Set<string>> {
    const unique = [...new Set(beaconKeys)];
    if (unique.length === 0) return new Set();
    const byHash = new Map(unique.map((key) => [BeaconSightingRepository.sightingOf(key, employeeKey), key]));
    const rows = await this.db.all<{ sighting: string }>(
      `SELECT sighting FROM beacon_sightings WHERE expires_at > ? AND sighting IN (${unique.map(() => '?').join(', ')})`,
      [now.toISOString(), ...byHash.keys()],
    );
    return new Set(rows.map((row) => byHash.get(row.sighting)!));
  }

  /**
   * Records sightings; must run inside the transaction that stores the punch they belong to. A
   * sighting already recorded keeps the later of the two expiries.
   */
  async recordInTransaction(employeeKey: string, sightings: ReadonlyArray<{ beaconKey: string; expiresAt: Date }>): Promise<void> {
    for (const { beaconKey, expiresAt } of sightings) {
      await this.db.run(
        `INSERT INTO beacon_sightings (sighting, expires_at) VALUES (?, ?)
         ON CONFLICT(sighting) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
        [BeaconSightingRepository.sightingOf(beaconKey, employeeKey), expiresAt.toISOString()],
      );
    }
  }

  /** Deletes expired sightings, inside the caller's transaction. Returns how many. */
  async pruneExpiredInTransaction(now: Date): Promise<number> {
    return (await this.db.run('DELETE FROM beacon_sightings WHERE expires_at <= ?', [now.toISOString()])).changes;
  }

  /** Deletes expired sightings in a write of its own (at start-up). Returns how many. */
  async pruneExpired(now: Date): Promise<number> {
    return (await this.db.write('DELETE FROM beacon_sightings WHERE expires_at <= ?', [now.toISOString()])).changes;
  }

  async count(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM beacon_sightings'))?.n ?? 0;
  }
}
