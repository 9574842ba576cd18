import type { Logger } from 'pino';
import { DeviceStatus, type PresenceStatus } from '../../core/messages.js';

/** Where each part of the device status comes from; every source is asked at publish time. */
export interface StatusSources {
  version: string;
  now: () => Date;
  clock: () => { synced: boolean; source?: string };
  readers: () => Array<{ id: string; protocol: string; state: string; detail?: string }>;
  alarms: () => string[];
  outbox: () => Promise<{ pending: number; rejected: number; oldestPendingAt: string | null }>;
  /** The config version the gateway runs, once configs are pushed. */
  configVersion?: () => number | undefined;
  /** Why the last pushed config was not applied. */
  configError?: () => string | undefined;
  presence?: () => PresenceStatus;
}

export interface StatusPublisherOptions {
  sources: StatusSources;
  /** Publishes retained, QoS 1, on the status topic; false when not connected. */
  publish: (payload: Buffer) => Promise<boolean>;
  logger: Logger;
  /** Republish this often, so backlog and clock stay current on the dashboard. */
  intervalMs?: number;
  /** At least this long between publishes asked for by `publishSoon`. */
  minIntervalMs?: number;
}

/**
 * Builds and publishes the retained DeviceStatus: on every (re)connect, periodically, when alarms
 * change, when the drain catches up, and on demand. Publishes run one after the other, so an older
 * status can never overwrite a newer one on the broker.
 */
export class StatusPublisher {
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  private lastPublishedAt = 0;
  private stopped = false;

  constructor(private readonly options: StatusPublisherOptions) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.publishNow(), this.options.intervalMs ?? 60_000);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soonTimer);
  }

  /** Builds the status; validated against the wire schema, so a bug here never reaches the server. */
  async build(online: boolean): Promise<DeviceStatus> {
    const { sources } = this.options;
    const outbox = await sources.outbox();
    const readers = sources.readers().map((reader) => ({ id: reader.id, protocol: reader.protocol, state: reader.state, ...(reader.detail ? { detail: reader.detail } : {}) }));
    const configVersion = sources.configVersion?.();
    const configError = sources.configError?.();
    const clock = sources.clock();
    return DeviceStatus.parse({
      online,
      version: sources.version,
      at: sources.now().toISOString(),
      backlog: outbox.pending,
      rejected: outbox.rejected,
      ...(outbox.oldestPendingAt ? { oldestPendingAt: outbox.oldestPendingAt } : {}),
      clock: { synced: clock.synced, ...(clock.source ? { source: clock.source } : {}) },
      readers,
      alarms: sources.alarms(),
      ...(configVersion !== undefined ? { configVersion } : {}),
      ...(configError ? { configError } : {}),
      ...(sources.presence ? { presence: sources.presence() } : {}),
    });
  }

  /** Publishes the current status now (after any publish in progress); false if not delivered. */
  publishNow(): Promise<boolean> {
    const next = this.chain.then(async () => {
      if (this.stopped) return false;
      let payload: Buffer;
      try {
        payload = Buffer.from(JSON.stringify(await this.build(true)));
      } catch (error) {
        this.options.logger.error({ err: error }, 'could not build the device status');
        return false;
      }
      this.lastPublishedAt = Date.now();
      return this.options.publish(payload);
    });
    this.chain = next;
    return next;
  }

  /** Publishes soon, at most once per `minIntervalMs`: for frequent triggers (the drain catching up). */
  publishSoon(): void {
    if (this.soonTimer || this.stopped) return;
    const wait = Math.max(0, this.lastPublishedAt + (this.options.minIntervalMs ?? 2000) - Date.now());
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      void this.publishNow();
    }, wait);
  }

  /** The status to leave behind on a clean stop: the full picture, with `online: false`. */
  async offlinePayload(): Promise<Buffer> {
    await this.chain.catch(() => undefined);
    try {
      return Buffer.from(JSON.stringify(await this.build(false)));
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not build the offline status; sending the bare one');
      return Buffer.from(JSON.stringify({ online: false }));
    }
  }
}
