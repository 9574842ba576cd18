import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { DeviceStatus, PunchAck, PunchBatch } from '../../core/messages.js';
import { allDevicesTopic, deviceTopic, parseDeviceTopic } from '../../core/topics.js';

export type Verdicts = Omit<PunchAck, 'batchId'>;
/** What the server does with a batch: ack it with these verdicts, or say nothing ('drop'). */
export type AckPolicy = (batch: PunchBatch) => Verdicts | 'drop';

export const acceptAll: AckPolicy = (batch) => ({ accepted: batch.punches.map((punch) => punch.id), rejected: [] });

export interface ReceivedBatch {
  raw: Buffer;
  batch: PunchBatch;
  at: number;
}

/**
 * Plays the server side over a real mqtt.js client: receives batches on every device's `punches`
 * topic, validates them with the wire schema, acks them as `policy` decides, and records device
 * statuses as they arrive.
 */
export class TestIngest {
  readonly batches: ReceivedBatch[] = [];
  /** Payloads on `punches` that were not a valid PunchBatch. */
  readonly invalid: Buffer[] = [];
  readonly statuses: Array<{ deviceId: string; status: DeviceStatus; retain: boolean }> = [];
  policy: AckPolicy = acceptAll;
  /** Off for huge drains: only `punchCount` is kept, not the batches. */
  keepBatches = true;
  punchCount = 0;

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const parsed = parseDeviceTopic(topic);
      if (!parsed) return;
      if (parsed.channel === 'status') {
        this.statuses.push({ deviceId: parsed.deviceId, status: DeviceStatus.parse(JSON.parse(payload.toString())), retain: packet.retain });
        return;
      }
      if (parsed.channel !== 'punches') return;
      const result = PunchBatch.safeParse(JSON.parse(payload.toString()));
      if (!result.success) {
        this.invalid.push(payload);
        return;
      }
      this.punchCount += result.data.punches.length;
      if (this.keepBatches) this.batches.push({ raw: payload, batch: result.data, at: Date.now() });
      const verdicts = this.policy(result.data);
      if (verdicts !== 'drop') void this.ack(parsed.deviceId, { batchId: result.data.batchId, ...verdicts });
    });
  }

  static async connect(url: string, options: IClientOptions = {}): Promise<TestIngest> {
    const clientId = `ingest-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
    const client = await connectAsync(url, { clientId, reconnectPeriod: 100, connectTimeout: 5000, ...options });
    await client.subscribeAsync({ [allDevicesTopic('punches')]: { qos: 1 }, [allDevicesTopic('status')]: { qos: 1 } });
    return new TestIngest(client);
  }

  async ack(deviceId: string, ack: PunchAck): Promise<void> {
    await this.publishRaw(deviceId, 'acks', Buffer.from(JSON.stringify(PunchAck.parse(ack))));
  }

  async publishRaw(deviceId: string, channel: 'acks' | 'config' | 'commands', payload: Buffer, retain = false): Promise<void> {
    await this.client.publishAsync(deviceTopic(deviceId, channel), payload, { qos: 1, retain });
  }

  /** Every punch id received, with how many times. */
  receivedIds(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { batch } of this.batches) for (const punch of batch.punches) counts.set(punch.id, (counts.get(punch.id) ?? 0) + 1);
    return counts;
  }

  statusesOf(deviceId: string): DeviceStatus[] {
    return this.statuses.filter((entry) => entry.deviceId === deviceId).map((entry) => entry.status);
  }

  get connected(): boolean {
    return this.client.connected;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Reads the retained status of a device with a fresh client, or undefined when there is none. */
export async function retainedStatus(url: string, deviceId: string, waitMs = 300): Promise<DeviceStatus | undefined> {
  const client = await connectAsync(url, { clientId: `peek-${Math.random().toString(16).slice(2, 10)}`, reconnectPeriod: 0 });
  try {
    const received = new Promise<DeviceStatus | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      client.on('message', (_topic, payload, packet) => {
        if (!packet.retain) return;
        clearTimeout(timer);
        resolve(DeviceStatus.parse(JSON.parse(payload.toString())));
      });
    });
    await client.subscribeAsync(deviceTopic(deviceId, 'status'), { qos: 1 });
    return await received;
  } finally {
    await client.endAsync(true);
  }
}
