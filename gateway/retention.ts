import { statfs } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { GatewayConfig } from './config.js';
import type { Outbox } from './store/outbox.js';

export type RetentionOutbox = Pick<Outbox, 'pruneAcked' | 'pendingCount'>;

export type Alarm = 'outbox-over-limit' | 'disk-low';

export interface RetentionOptions {
  outbox: RetentionOutbox;
  dataDir: string;
  settings: GatewayConfig['retention'];
  now: () => Date;
  /** Pruning waits while the wall clock is not trusted: a wrong clock would prune the wrong rows. */
  clockSynced: () => boolean;
  logger: Logger;
  onAlarmsChanged?: (alarms: readonly Alarm[]) => void;
  checkIntervalMs?: number;
  pruneIntervalMs?: number;
  pruneChunk?: number;
  /** The free-space probe; defaults to fs.statfs on the data dir. */
  freeBytes?: (dir: string) => Promise<number>;
}

export interface RetentionHealth {
  alarms: Alarm[];
  pending: number | null;
  freeMegabytes: number | null;
  lastPruneAt: string | null;
  pruned: number;
}

/**
 * The punch desk decides in/out from the person's punches of the local day and debounces from the
 * last minutes: acknowledged rows younger than this are kept whatever `ackedDays` says.
 */
export const MIN_KEEP_MS = 2 * 24 * 3600 * 1000;

async function statfsFreeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/**
 * Local retention and the storage alarms. Acknowledged punches older than `ackedDays` are deleted
 * in small chunks; pending and rejected ones never are. Too many pending punches or too little free
 * disk raise an alarm (in the device status and health): punches are never dropped to make room.
 */
export class Retention {
  private readonly logger: Logger;
  private checkTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private current: Alarm[] = [];
  private pending: number | null = null;
  private freeMegabytes: number | null = null;
  private lastPruneAt: string | null = null;
  private pruned = 0;
  private work: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: RetentionOptions) {
    this.logger = options.logger;
  }

  start(): void {
    this.stopped = false;
    void this.check();
    void this.prune();
    this.checkTimer = setInterval(() => void this.check(), this.options.checkIntervalMs ?? 60_000);
    this.pruneTimer = setInterval(() => void this.prune(), this.options.pruneIntervalMs ?? 3_600_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.checkTimer);
    clearInterval(this.pruneTimer);
    await this.work.catch(() => undefined);
  }

  alarms(): Alarm[] {
    return [...this.current];
  }

  health(): RetentionHealth {
    return { alarms: this.alarms(), pending: this.pending, freeMegabytes: this.freeMegabytes, lastPruneAt: this.lastPruneAt, pruned: this.pruned };
  }

  /** Re-evaluates the alarms now; resolves with them. */
  check(): Promise<Alarm[]> {
    return this.serial(async () => {
      const { settings, outbox, dataDir } = this.options;
      const alarms: Alarm[] = [];
      try {
        this.pending = await outbox.pendingCount();
        if (this.pending > settings.maxPending) alarms.push('outbox-over-limit');
      } catch (error) {
        this.logger.error({ err: error }, 'could not count pending punches');
        if (this.current.includes('outbox-over-limit')) alarms.push('outbox-over-limit');
      }
      try {
        const free = await (this.options.freeBytes ?? statfsFreeBytes)(dataDir);
        this.freeMegabytes = Math.floor(free / (1024 * 1024));
        if (free < settings.minFreeMegabytes * 1024 * 1024) alarms.push('disk-low');
      } catch (error) {
        this.logger.error({ err: error, dataDir }, 'could not read the free space of the data dir');
        if (this.current.includes('disk-low')) alarms.push('disk-low');
      }
      if (alarms.join() !== this.current.join()) {
        const raised = alarms.filter((alarm) => !this.current.includes(alarm));
        const cleared = this.current.filter((alarm) => !alarms.includes(alarm));
        this.current = alarms;
        const fields = { raised, cleared, pending: this.pending, maxPending: settings.maxPending, freeMegabytes: this.freeMegabytes, minFreeMegabytes: settings.minFreeMegabytes };
        if (raised.length > 0) this.logger.warn(fields, 'storage alarm raised; no punch is dropped');
        else this.logger.info(fields, 'storage alarm cleared');
        this.options.onAlarmsChanged?.(this.alarms());
      }
      return this.alarms();
    });
  }

  /** Deletes acknowledged punches past retention, chunk by chunk; resolves with how many. */
  prune(): Promise<number> {
    return this.serial(async () => {
      if (!this.options.clockSynced()) {
        this.logger.debug('clock not synced: pruning waits');
        return 0;
      }
      const keepMs = Math.max(this.options.settings.ackedDays * 24 * 3600 * 1000, MIN_KEEP_MS);
      const cutoff = new Date(this.options.now().getTime() - keepMs).toISOString();
      const chunk = this.options.pruneChunk ?? 1000;
      let total = 0;
      try {
        for (;;) {
          const deleted = await this.options.outbox.pruneAcked(cutoff, chunk);
          total += deleted;
          if (deleted < chunk || this.stopped) break;
          // Let taps commit between chunks.
          await yieldToLoop();
        }
      } catch (error) {
        this.logger.error({ err: error, cutoff }, 'pruning acknowledged punches failed; trying again later');
      }
      this.pruned += total;
      this.lastPruneAt = this.options.now().toISOString();
      if (total > 0) this.logger.info({ pruned: total, cutoff }, 'acknowledged punches past retention pruned');
      return total;
    });
  }

  /** One check or prune at a time. */
  private serial<T>(step: () => Promise<T>): Promise<T> {
    const next = this.work.then(step, step);
    this.work = next.catch(() => undefined);
    return next;
  }
}
