import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeIssues } from '../../core/errors.js';
import { PunchAck } from '../../core/messages.js';
import { Punch } from '../../core/punch.js';
import { deviceTopic } from '../../core/topics.js';
import type { DeviceRepository } from '../db/device-repository.js';
import type { PunchRepository } from '../db/punch-repository.js';

/** The envelope is checked first: without a batchId there is nobody to answer. */
const BatchEnvelope = z.object({
  batchId: z.uuid(),
  deviceId: z.string(),
  punches: z.array(z.unknown()).min(1).max(5000),
});

export interface PunchIngestOptions {
  client: MqttClient;
  punches: PunchRepository;
  devices: DeviceRepository;
  logger: Logger;
  now?: () => Date;
}

export interface IngestCounters {
  batches: number;
  accepted: number;
  rejected: number;
  malformed: number;
  failed: number;
}

/**
 * Central ingest: validate a batch, store its punches exactly once in one transaction, then
 * acknowledge. The ack means "in the central database"; nothing is acknowledged that is not.
 */
export class PunchIngest {
  readonly counters: IngestCounters = { batches: 0, accepted: 0, rejected: 0, malformed: 0, failed: 0 };
  private readonly logger: Logger;

  constructor(private readonly options: PunchIngestOptions) {
    this.logger = options.logger;
  }

  /** Handles one message from `devices/{deviceId}/punches`. Never throws for bad input. */
  async handle(deviceId: string, payload: Buffer): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (error) {
      this.counters.malformed += 1;
      this.logger.warn({ device: deviceId, reason: `not JSON: ${(error as Error).message}` }, 'refused a punch batch');
      return;
    }
    const envelope = BatchEnvelope.safeParse(json);
    if (!envelope.success) {
      this.counters.malformed += 1;
      this.logger.warn({ device: deviceId, reason: describeIssues(envelope.error).join('; ') }, 'refused a punch batch');
      return;
    }
    const { batchId, punches } = envelope.data;
    const accepted: Punch[] = [];
    const rejected: PunchAck['rejected'] = [];
    const refuseAll = async (): Promise<string | undefined> => {
      if (envelope.data.deviceId !== deviceId) return `batch is from device ${envelope.data.deviceId} but was published on device ${deviceId}'s topic`;
      if (!(await this.options.devices.get(deviceId))) return `device ${deviceId} is not registered`;
      return undefined;
    };
    const wholeBatchReason = await refuseAll();
    for (const [index, raw] of punches.entries()) {
      const rawId = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'string' ? raw.id : `#${index}`;
      if (wholeBatchReason) {
        rejected.push({ id: rawId, reason: wholeBatchReason });
        continue;
      }
      const punch = Punch.safeParse(raw);
      if (!punch.success) {
        rejected.push({ id: rawId, reason: describeIssues(punch.error).join('; ') });
      } else if (punch.data.deviceId !== deviceId) {
        rejected.push({ id: rawId, reason: `punch is from device ${punch.data.deviceId}, not ${deviceId}` });
      } else {
        accepted.push(punch.data);
      }
    }

    const now = (this.options.now ?? (() => new Date()))().toISOString();
    try {
      await this.options.punches.insertBatch(accepted, now, () => this.options.devices.markSeen(deviceId, now));
    } catch (error) {
      // No ack: the gateway keeps the punches and sends them again after its ack time-out.
      this.counters.failed += 1;
      this.logger.error({ err: error, device: deviceId, batchId }, 'could not store a punch batch; not acknowledged');
      return;
    }
    this.counters.batches += 1;
    this.counters.accepted += accepted.length;
    this.counters.rejected += rejected.length;
    if (rejected.length > 0) this.logger.warn({ device: deviceId, batchId, rejected }, 'refused punches in a batch');
    const ack: PunchAck = { batchId, accepted: accepted.map((punch) => punch.id), rejected };
    // Not awaited: this runs inside mqtt.js's handleMessage, which holds back every incoming
    // packet (the broker's PUBACK for this ack included) until it returns. A lost ack costs only a
    // re-send by the gateway, which the ON CONFLICT insert absorbs.
    this.options.client.publish(deviceTopic(deviceId, 'acks'), JSON.stringify(ack), { qos: 1 }, (error) => {
      if (error) this.logger.warn({ err: error, device: deviceId, batchId }, 'could not publish an ack');
    });
  }
}
