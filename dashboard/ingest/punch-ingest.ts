import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeIssues } from '../../core/errors.js';
import { PunchAck } from '../../core/messages.js';
import { Punch } from '../../core/punch.js';
import { deviceTopic } from '../../core/topics.js';
import type { DeviceRepository } from '../db/device-repository.js';
import type { PunchRepository } from '../db/punch-repository.js';
import type { CommittedPunchSink } from '../live/punch-feed.js';

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
  /** Batches waiting for a commit before the broker is slowed down (backpressure). */
  maxQueued?: number;
  /** Punches committed in one transaction at most (group commit across batches and devices). */
  maxPunchesPerCommit?: number;
  /** Told, right after each commit, the punches it stored that were not stored before (the live feed). */
  committed?: CommittedPunchSink;
}

export interface IngestCounters {
  batches: number;
  accepted: number;
  rejected: number;
  malformed: number;
  failed: number;
  /** Acks the broker confirmed (PUBACK), and acks whose publish failed (the gateway sends the batch again). */
  acksPublished: number;
  ackErrors: number;
}

interface CheckedBatch {
  deviceId: string;
  batchId: string;
  accepted: Punch[];
  rejected: PunchAck['rejected'];
}

/**
 * Central ingest: validate a batch, store its punches exactly once, then acknowledge. The ack
 * means "in the central database"; nothing is acknowledged that is not. Batches that queue up
 * while a commit runs are committed together in the next transaction, so validation overlaps the
 * disk and one fsync serves many gateways.
 */
export class PunchIngest {
  readonly counters: IngestCounters = { batches: 0, accepted: 0, rejected: 0, malformed: 0, failed: 0, acksPublished: 0, ackErrors: 0 };
  private readonly logger: Logger;
  private readonly queue: Array<{ deviceId: string; payload: Buffer }> = [];
  private worker: Promise<void> | undefined;
  private roomWaiters: Array<() => void> = [];
  private readonly maxQueued: number;
  private readonly maxPunchesPerCommit: number;

  constructor(private readonly options: PunchIngestOptions) {
    this.logger = options.logger;
    this.maxQueued = options.maxQueued ?? 32;
    this.maxPunchesPerCommit = options.maxPunchesPerCommit ?? 10_000;
  }

  /**
   * Takes one message from `devices/{deviceId}/punches`. Resolves when there is room for more
   * (not when it is committed: the ack tells the gateway that). Never throws for bad input.
   */
  handle(deviceId: string, payload: Buffer): Promise<void> {
    this.queue.push({ deviceId, payload });
    this.worker ??= this.work();
    if (this.queue.length < this.maxQueued) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Resolves when everything handed in so far is committed and acknowledged (or refused). */
  async idle(): Promise<void> {
    while (this.worker) await this.worker;
  }

  /**
   * Validates the queued batches on the main thread while the previous group's commit runs in
   * SQLite's thread, then commits them as the next group: commits (and so acks) stay in arrival
   * order, and neither side waits for the other when messages keep coming.
   */
  private async work(): Promise<void> {
    await Promise.resolve();
    let committing: Promise<void> = Promise.resolve();
    for (;;) {
      if (this.queue.length === 0) {
        await committing;
        if (this.queue.length === 0) break;
      }
      const checked: CheckedBatch[] = [];
      let punches = 0;
      while (this.queue.length > 0 && punches < this.maxPunchesPerCommit) {
        const next = this.queue.shift() as { deviceId: string; payload: Buffer };
        const batch = await this.check(next.deviceId, next.payload);
        if (batch) {
          checked.push(batch);
          punches += batch.accepted.length;
        }
      }
      this.releaseRoom();
      await committing;
      committing = this.commit(checked);
    }
    this.worker = undefined;
    this.releaseRoom();
  }

  private releaseRoom(): void {
    if (this.queue.length >= this.maxQueued) return;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }

  private async commit(batches: CheckedBatch[]): Promise<void> {
    if (batches.length === 0) return;
    const now = (this.options.now ?? (() => new Date()))().toISOString();
    const seen = [...new Set(batches.filter((batch) => batch.accepted.length > 0).map((batch) => batch.deviceId))];
    const sink = this.options.committed;
    let fresh: Punch[];
    try {
      fresh = await this.options.punches.storeBatch(batches.flatMap((batch) => batch.accepted), now, {
        alsoInTransaction: async () => {
          for (const deviceId of seen) await this.options.devices.markSeen(deviceId, now);
        },
        // Which rows were new costs a RETURNING clause: only when someone watches the live feed.
        reportNew: sink?.wanted() ?? false,
      });
    } catch (error) {
      // No ack: the gateways keep their punches and send them again after their ack time-out.
      this.counters.failed += batches.length;
      this.logger.error({ err: error, batches: batches.map((batch) => batch.batchId) }, 'could not store punch batches; not acknowledged');
      return;
    }
    // On disk now: the live feed hears of it first, within the same tick as the commit.
    if (sink && fresh.length > 0) {
      try {
        sink.committed(fresh);
      } catch (error) {
        this.logger.warn({ err: error }, 'the live feed failed to take committed punches');
      }
    }
    for (const batch of batches) {
      this.counters.batches += 1;
      this.counters.accepted += batch.accepted.length;
      this.counters.rejected += batch.rejected.length;
      if (batch.rejected.length > 0) this.logger.warn({ device: batch.deviceId, batchId: batch.batchId, rejected: batch.rejected }, 'refused punches in a batch');
      const ack: PunchAck = { batchId: batch.batchId, accepted: batch.accepted.map((punch) => punch.id), rejected: batch.rejected };
      // Not awaited: the broker's PUBACK for it arrives through mqtt.js's handleMessage, which may be
      // waiting for room in this queue. A lost ack costs only a re-send, which ON CONFLICT absorbs.
      this.options.client.publish(deviceTopic(batch.deviceId, 'acks'), JSON.stringify(ack), { qos: 1 }, (error) => {
        if (!error) {
          this.counters.acksPublished += 1;
          return;
        }
        this.counters.ackErrors += 1;
        this.logger.warn({ err: error, device: batch.deviceId, batchId: batch.batchId }, 'could not publish an ack');
      });
    }
  }

  /** Validates one message; undefined when it cannot even be answered. */
  private async check(deviceId: string, payload: Buffer): Promise<CheckedBatch | undefined> {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (error) {
      this.counters.malformed += 1;
      this.logger.warn({ device: deviceId, reason: `not JSON: ${(error as Error).message}` }, 'refused a punch batch');
      return undefined;
    }
    const envelope = BatchEnvelope.safeParse(json);
    if (!envelope.success) {
      this.counters.malformed += 1;
      this.logger.warn({ device: deviceId, reason: describeIssues(envelope.error).join('; ') }, 'refused a punch batch');
      return undefined;
    }
    const { batchId, punches } = envelope.data;
    let wholeBatchReason: string | undefined;
    if (envelope.data.deviceId !== deviceId) wholeBatchReason = `batch is from device ${envelope.data.deviceId} but was published on device ${deviceId}'s topic`;
    else {
      const device = await this.options.devices.get(deviceId);
      if (!device) wholeBatchReason = `device ${deviceId} is not registered`;
      else if (!device.enabled) {
        wholeBatchReason = `device ${deviceId} is disabled in the console${device.disabledAt ? ` since ${device.disabledAt}` : ''}${device.disabledReason ? ` (${device.disabledReason})` : ''}: its punches are refused until it is enabled again`;
      }
    }
    const batch: CheckedBatch = { deviceId, batchId, accepted: [], rejected: [] };
    for (const [index, raw] of punches.entries()) {
      const rawId = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'string' ? raw.id : `#${index}`;
      if (wholeBatchReason) {
        batch.rejected.push({ id: rawId, reason: wholeBatchReason });
        continue;
      }
      const punch = Punch.safeParse(raw);
      if (!punch.success) batch.rejected.push({ id: rawId, reason: describeIssues(punch.error).join('; ') });
      else if (punch.data.deviceId !== deviceId) batch.rejected.push({ id: rawId, reason: `punch is from device ${punch.data.deviceId}, not ${deviceId}` });
      else batch.accepted.push(punch.data);
    }
    return batch;
  }
}
