import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { DeviceConfigSnapshot, type DeviceConfigSnapshotInput } from '../core/config-snapshot.js';
import { deviceTopic } from '../core/topics.js';
import type { Database } from '../platform/sqlite.js';

export type ConfigContent = Omit<DeviceConfigSnapshotInput, 'version' | 'issuedAt' | 'deviceId'>;

/**
 * Publishes each device's whole configuration as a retained message, with a version one above the
 * last one published, and keeps what was published so the next version follows on after a restart.
 */
export class ConfigPublisher {
  constructor(
    private readonly db: Database,
    private readonly client: MqttClient,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async publish(deviceId: string, content: ConfigContent): Promise<DeviceConfigSnapshot> {
    const previous = await this.db.get<{ version: number }>('SELECT version FROM device_configs WHERE device_id = ?', [deviceId]);
    const snapshot = DeviceConfigSnapshot.parse({
      ...content,
      version: (previous?.version ?? 0) + 1,
      issuedAt: this.now().toISOString(),
      deviceId,
    });
    const body = JSON.stringify(snapshot);
    await this.client.publishAsync(deviceTopic(deviceId, 'config'), body, { qos: 1, retain: true });
    await this.db.run(
      'INSERT INTO device_configs (device_id, version, body, published_at) VALUES (?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET version = excluded.version, body = excluded.body, published_at = excluded.published_at',
      [deviceId, snapshot.version, body, snapshot.issuedAt],
    );
    this.logger.info({ device: deviceId, version: snapshot.version, roster: snapshot.roster.length }, 'config published');
    return snapshot;
  }
}
