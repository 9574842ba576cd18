import { createHash } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { DeviceConfigSnapshot, type DeviceConfigSnapshotInput } from '../core/config-snapshot.js';
import { deviceTopic } from '../core/topics.js';
import type { Database } from '../platform/sqlite.js';

export type ConfigContent = Omit<DeviceConfigSnapshotInput, 'version' | 'issuedAt' | 'deviceId'>;

/** What was last published to a device. */
export interface PublishedConfig {
  version: number;
  publishedAt: string;
  /** Bytes of the published JSON. */
  bytes: number;
}

export interface PublishIfChangedResult {
  published: boolean;
  /** The version now published (the new one, or the unchanged previous one). */
  version: number;
  snapshot?: DeviceConfigSnapshot;
  bytes?: number;
}

/**
 * SHA-256 over the validated snapshot without `version` and `issuedAt`: two snapshots with the
 * same hash configure a gateway the same way.
 */
export function snapshotContentHash(snapshot: DeviceConfigSnapshot): string {
  const { version: _version, issuedAt: _issuedAt, ...content } = snapshot;
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/**
 * Publishes each device's whole configuration as a retained message, with a version one above the
 * last one published, and keeps what was published so the next version follows on after a restart.
 */
export class ConfigPublisher {
  /**
   * Since start: configs published by the console's config push (`pushed`) and whole by an
   * integration (`pinned`), pushes skipped as unchanged or pinned (`unchanged`), and publishes that
   * failed (`failed`). Read by /metrics.
   */
  readonly counters = { pushed: 0, pinned: 0, unchanged: 0, failed: 0 };
  /** Per device, the tail of its publishes: two publishes to one device never pick the same version. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: Database,
    private readonly client: MqttClient,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Publishes a whole snapshot written by the caller and pins the device to it: the console's
   * config push (publishIfChanged) leaves a pinned device alone until `unpin`.
   * `alsoInTransaction` runs in the transaction that records the new version (e.g. its audit
   * row), with the snapshot and the body published before (undefined for the first).
   */
  async publish(
    deviceId: string,
    content: ConfigContent,
    alsoInTransaction?: (snapshot: DeviceConfigSnapshot, previousBody: string | undefined) => Promise<void>,
  ): Promise<DeviceConfigSnapshot> {
    return this.count(() => 'pinned', this.serialised(deviceId, async () => {
      const previous = await this.db.get<{ version: number; body: string }>('SELECT version, body FROM device_configs WHERE device_id = ?', [deviceId]);
      const snapshot = DeviceConfigSnapshot.parse({
        ...content,
        version: (previous?.version ?? 0) + 1,
        issuedAt: this.now().toISOString(),
        deviceId,
      });
      const body = JSON.stringify(snapshot);
      await this.client.publishAsync(deviceTopic(deviceId, 'config'), body, { qos: 1, retain: true });
      await this.db.transaction(async () => {
        await this.db.run(
          `INSERT INTO device_configs (device_id, version, body, published_at, pinned) VALUES (?, ?, ?, ?, 1)
           ON CONFLICT(device_id) DO UPDATE SET version = excluded.version, body = excluded.body, published_at = excluded.published_at, pinned = 1`,
          [deviceId, snapshot.version, body, snapshot.issuedAt],
        );
        await alsoInTransaction?.(snapshot, previous?.body);
      });
      this.logger.info({ device: deviceId, version: snapshot.version, roster: snapshot.roster.length }, 'config published');
      return snapshot;
    }));
  }

  /**
   * Publishes `content` only when it differs from what the device was last sent (compared by
   * {@link snapshotContentHash}; a config published by {@link publish} always counts as
   * different). The version is one above the last one published; when the gateway reports a
   * higher applied version (`reportedVersion`: the central database was restored from an older
   * backup), one above that, and published even if unchanged: the gateway refuses lower versions.
   *
   * The version is taken (stored without a hash) before the message goes out, and the hash is
   * stored once the broker confirmed it: a crash in between never reuses a version, and the next
   * call publishes again.
   */
  async publishIfChanged(deviceId: string, content: ConfigContent, options: { reportedVersion?: number } = {}): Promise<PublishIfChangedResult> {
    return this.count((result) => (result.published ? 'pushed' : 'unchanged'), this.serialised(deviceId, async () => {
      const previous = await this.db.get<{ version: number; content_hash: string | null; content_hash_version: number | null; pinned: number }>(
        'SELECT version, content_hash, content_hash_version, pinned FROM device_configs WHERE device_id = ?',
        [deviceId],
      );
      // Written whole by an integration (PUT /devices/{id}/config): not ours to replace.
      if (previous?.pinned) return { published: false, version: previous.version };
      const last = previous?.version ?? 0;
      const behindDevice = (options.reportedVersion ?? 0) > last;
      const version = Math.max(last, options.reportedVersion ?? 0) + 1;
      const snapshot = DeviceConfigSnapshot.parse({ ...content, version, issuedAt: this.now().toISOString(), deviceId });
      const hash = snapshotContentHash(snapshot);
      if (previous && !behindDevice && previous.content_hash === hash && previous.content_hash_version === previous.version) {
        return { published: false, version: previous.version };
      }
      const body = JSON.stringify(snapshot);
      await this.db.write(
        `INSERT INTO device_configs (device_id, version, body, published_at, content_hash, content_hash_version) VALUES (?, ?, ?, ?, NULL, NULL)
         ON CONFLICT(device_id) DO UPDATE SET version = excluded.version, body = excluded.body, published_at = excluded.published_at,
           content_hash = NULL, content_hash_version = NULL`,
        [deviceId, version, body, snapshot.issuedAt],
      );
      await this.client.publishAsync(deviceTopic(deviceId, 'config'), body, { qos: 1, retain: true });
      await this.db.write('UPDATE device_configs SET content_hash = ?, content_hash_version = ? WHERE device_id = ? AND version = ?', [hash, version, deviceId, version]);
      const bytes = Buffer.byteLength(body);
      this.logger.info({ device: deviceId, version, roster: snapshot.roster.length, bytes }, 'config published');
      return { published: true, version, snapshot, bytes };
    }));
  }

  /**
   * Hands a pinned device back to the console's config push; false when it was not pinned. Runs
   * inside the caller's transaction (with its audit row).
   */
  async unpin(deviceId: string): Promise<boolean> {
    return (await this.db.run('UPDATE device_configs SET pinned = 0 WHERE device_id = ? AND pinned = 1', [deviceId])).changes > 0;
  }

  /** The version last published to a device, or undefined when none was. */
  async published(deviceId: string): Promise<PublishedConfig | undefined> {
    const row = await this.db.get<{ version: number; published_at: string; bytes: number }>(
      'SELECT version, published_at, length(CAST(body AS BLOB)) AS bytes FROM device_configs WHERE device_id = ?',
      [deviceId],
    );
    return row ? { version: row.version, publishedAt: row.published_at, bytes: row.bytes } : undefined;
  }

  /**
   * Publishes every device's last config again, as it was (same version and content: a gateway
   * that has it ignores it). For a broker that lost its retained messages (the embedded broker
   * keeps them in memory only), so that a gateway reset meanwhile still finds its config.
   */
  async republishAll(): Promise<number> {
    const rows = await this.db.all<{ device_id: string; body: string }>('SELECT device_id, body FROM device_configs ORDER BY device_id');
    for (const row of rows) {
      await this.serialised(row.device_id, () => this.client.publishAsync(deviceTopic(row.device_id, 'config'), row.body, { qos: 1, retain: true }));
    }
    return rows.length;
  }

  private async count<T>(kind: (result: T) => 'pushed' | 'pinned' | 'unchanged', work: Promise<T>): Promise<T> {
    try {
      const result = await work;
      this.counters[kind(result)] += 1;
      return result;
    } catch (error) {
      this.counters.failed += 1;
      throw error;
    }
  }

  private serialised<T>(deviceId: string, work: () => Promise<T>): Promise<T> {
    const next = (this.chains.get(deviceId) ?? Promise.resolve()).then(work);
    const tail = next.catch(() => undefined);
    this.chains.set(deviceId, tail);
    void tail.then(() => {
      if (this.chains.get(deviceId) === tail) this.chains.delete(deviceId);
    });
    return next;
  }
}
