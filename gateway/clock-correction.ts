import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ClockSyncedEvent, ClockTrust, ClockTrustState } from './clock-trust.js';
import type { ClockCorrections, CorrectionReport } from './store/clock-corrections.js';

export interface ClockCorrectorOptions {
  clock: ClockTrust;
  corrections: ClockCorrections;
  /** The site's time zone now (a pushed config may change it). */
  timeZone: () => string;
  logger: Logger;
}

interface CorrectorEvents {
  /** A correction rewrote punches: the uplink may now send the ones it held back. */
  corrected: [CorrectionReport];
}

/**
 * Corrects the time of this boot's unsynced punches once the clock is verified synchronised:
 * at the `synced` event, and again after every check that finds the clock still synchronised, so
 * that a punch committed in the instant of the sync (stamped unsynced just before it) or a
 * correction that failed on a disk error is caught at the next check.
 */
export class ClockCorrector extends EventEmitter<CorrectorEvents> {
  private chain: Promise<unknown> = Promise.resolve();
  private last: CorrectionReport | undefined;
  private failure: string | undefined;
  private running = false;
  private readonly onSynced = (event: ClockSyncedEvent): void => void this.enqueue(event);
  private readonly onChecked = (state: ClockTrustState): void => {
    if (state.verdict === 'synced') void this.enqueue(this.offsetNow());
  };

  constructor(private readonly options: ClockCorrectorOptions) {
    super();
  }

  /** Listens to the clock; corrects at once if it is already verified synchronised. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.options.clock.on('synced', this.onSynced);
    this.options.clock.on('checked', this.onChecked);
    const verdict = this.options.clock.state().verdict;
    if (verdict === 'synced' || verdict === 'trusted') void this.enqueue(this.offsetNow());
  }

  /** Stops listening; resolves once a correction under way has committed or failed. */
  async stop(): Promise<void> {
    this.running = false;
    this.options.clock.off('synced', this.onSynced);
    this.options.clock.off('checked', this.onChecked);
    await this.idle();
  }

  /** Resolves when every correction asked for so far has finished. */
  async idle(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.chain;
      await seen;
    } while (seen !== this.chain);
  }

  /** The last correction that rewrote punches, for status and logs. */
  lastReport(): CorrectionReport | undefined {
    return this.last;
  }

  /** Why the last correction failed, until one succeeds. */
  lastError(): string | undefined {
    return this.failure;
  }

  /** Corrects with the given sync (or the clock's offset now); corrections run one at a time. */
  correct(sync: ClockSyncedEvent = this.offsetNow()): Promise<CorrectionReport | undefined> {
    return this.enqueue(sync);
  }

  private offsetNow(): ClockSyncedEvent {
    const { clock } = this.options;
    const monoMs = clock.monotonicMs();
    const wall = clock.now();
    return { offsetMs: wall.getTime() - monoMs, monoMs, bootId: clock.bootId(), at: wall.toISOString() };
  }

  private enqueue(sync: ClockSyncedEvent): Promise<CorrectionReport | undefined> {
    const next = this.chain.then(() => this.run(sync));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async run(sync: ClockSyncedEvent): Promise<CorrectionReport | undefined> {
    if (!this.running) return undefined;
    const { corrections, timeZone, logger } = this.options;
    try {
      const report = await corrections.correct({ bootId: sync.bootId, offsetMs: sync.offsetMs, monoMs: sync.monoMs, timeZone: timeZone() });
      this.failure = undefined;
      if (report.skipped.length > 0) logger.error({ skipped: report.skipped }, 'some unsynced punches could not be corrected');
      if (report.corrected > 0) {
        this.last = report;
        logger.info({ corrected: report.corrected, offsetMs: report.offsetMs, bootId: report.bootId }, 'corrected the time of punches taken before the clock synced');
        this.emit('corrected', report);
      }
      return report;
    } catch (error) {
      // Nothing was rewritten (one transaction); the next check tries again.
      this.failure = (error as Error).message;
      logger.error({ err: error }, 'could not correct unsynced punches; will retry at the next clock check');
      return undefined;
    }
  }
}
