import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ClaimedDelivery, DeliveryChannel, NotificationStore } from './notification-store.js';
import type { RetryPolicy } from './retry-policy.js';
import type { SendOutcome } from './webhook-sender.js';

/**
 * Sends due deliveries: takes up to `concurrency` at a time from the store, hands each to the
 * sender of its channel, and records the outcome (delivered, retry at the back-off, gave up).
 * All its state is in SQLite: at start, attempts a stop or a crash cut short are closed as
 * interrupted and tried again at once. It wakes when told (`kick()`: enqueue and replay call it),
 * when the next delivery falls due, and at least every `idleCheckMs`.
 *
 * Time and timers are passed in, so that tests move a manual clock through the back-off instead
 * of waiting for it.
 */

/** Sends one claimed delivery; `signal` aborts when the worker stops. */
export type ChannelSender = (delivery: ClaimedDelivery, signal: AbortSignal) => Promise<SendOutcome>;

export interface WorkerTimers {
  /** Calls `callback` after `ms` (of the clock the worker is given); returns a cancel function. */
  after(ms: number, callback: () => void): () => void;
}

/** setTimeout, unref'd (the worker never keeps the process alive by itself). */
export const realTimers: WorkerTimers = {
  after(ms, callback) {
    const timer = setTimeout(callback, Math.min(ms, 2_147_483_647));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface DeliveryWorkerOptions {
  store: NotificationStore;
  /** A sender per channel; deliveries of a channel without one wait (e-mail without SMTP). */
  senders: Partial<Record<DeliveryChannel, ChannelSender>>;
  retry: RetryPolicy;
  /** Deliveries in flight at once. */
  concurrency: number;
  now: () => Date;
  timers: WorkerTimers;
  logger: Logger;
  /** The longest sleep between two looks at the store. */
  idleCheckMs?: number;
}

export class DeliveryWorker {
  private running = false;
  private readonly inFlight = new Map<string, Promise<void>>();
  private pass: Promise<void> | undefined;
  private passAgain = false;
  private cancelWake: (() => void) | undefined;
  private stopping = new AbortController();
  private readonly channels: DeliveryChannel[];
  private readonly idleCheckMs: number;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.channels = (Object.keys(options.senders) as DeliveryChannel[]).filter((channel) => options.senders[channel] !== undefined);
    this.idleCheckMs = options.idleCheckMs ?? 60_000;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const interrupted = await this.options.store.recoverInterrupted();
    if (interrupted > 0) this.options.logger.warn({ interrupted }, 'attempts cut short by the last stop are tried again');
    this.stopping = new AbortController();
    this.running = true;
    this.kick();
  }

  /** Looks for due deliveries now (after an enqueue or a replay, or when a test moved the clock). */
  kick(): void {
    if (!this.running) return;
    if (this.pass) {
      this.passAgain = true;
      return;
    }
    this.pass = this.passes().finally(() => {
      this.pass = undefined;
    });
  }

  /** Stops taking deliveries, aborts those in flight (recorded as interrupted, tried again at the next start) and waits for them. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.cancelWake?.();
    this.cancelWake = undefined;
    this.stopping.abort();
    await this.pass;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Resolves once no look at the store and no delivery is under way (tests: after moving the clock). */
  async settled(): Promise<void> {
    while (this.pass || this.inFlight.size > 0) {
      await this.pass;
      await Promise.allSettled([...this.inFlight.values()]);
    }
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private async passes(): Promise<void> {
    do {
      this.passAgain = false;
      try {
        await this.lookOnce();
      } catch (error) {
        this.options.logger.error({ err: error }, 'could not read due deliveries; trying again later');
        this.wakeIn(this.idleCheckMs);
      }
    } while (this.passAgain && this.running);
  }

  private async lookOnce(): Promise<void> {
    const { store, retry, concurrency } = this.options;
    this.cancelWake?.();
    this.cancelWake = undefined;
    const free = concurrency - this.inFlight.size;
    if (free > 0) {
      const claims = await store.claimDue(free, this.channels, [...this.inFlight.keys()], retry);
      for (const claim of claims) this.launch(claim);
    }
    if (!this.running) return;
    // Full: each finished delivery kicks the next look.
    if (this.inFlight.size >= concurrency) return;
    const next = await store.nextDueAt(this.channels, [...this.inFlight.keys()]);
    const wait = next === undefined ? this.idleCheckMs : Math.min(this.idleCheckMs, Math.max(0, next.getTime() - this.options.now().getTime()));
    this.wakeIn(wait);
  }

  private wakeIn(ms: number): void {
    if (!this.running) return;
    this.cancelWake?.();
    this.cancelWake = this.options.timers.after(ms, () => {
      this.cancelWake = undefined;
      this.kick();
    });
  }

  private launch(claim: ClaimedDelivery): void {
    const work = this.attempt(claim)
      .catch((error: unknown) => this.options.logger.error({ err: error, deliveryId: claim.id }, 'could not record a delivery attempt'))
      .finally(() => {
        this.inFlight.delete(claim.id);
        this.kick();
      });
    this.inFlight.set(claim.id, work);
  }

  private async attempt(claim: ClaimedDelivery): Promise<void> {
    const { store, retry, logger } = this.options;
    const sender = this.options.senders[claim.channel];
    const signal = this.stopping.signal;
    const started = performance.now();
    let outcome: SendOutcome;
    try {
      if (!sender) throw new Error(`no sender for ${claim.channel}`);
      outcome = signal.aborted ? { ok: false, statusCode: null, error: 'aborted: the dashboard is stopping' } : await sender(claim, signal);
    } catch (error) {
      outcome = { ok: false, statusCode: null, error: error instanceof Error ? error.message : String(error) };
    }
    const durationMs = performance.now() - started;
    const status = await store.finish(
      claim,
      outcome.ok
        ? { kind: 'delivered', statusCode: outcome.statusCode }
        : signal.aborted
          ? { kind: 'interrupted', error: `interrupted: ${outcome.error}` }
          : { kind: 'failed', statusCode: outcome.statusCode, error: outcome.error, ...(outcome.permanent ? { permanent: true } : {}) },
      durationMs,
      retry,
    );
    const fields = {
      deliveryId: claim.id,
      eventId: claim.notification.key,
      channel: claim.channel,
      to: claim.endpoint?.name ?? claim.address,
      attempt: claim.attempt,
      status,
      statusCode: outcome.statusCode,
      durationMs: Math.round(durationMs),
    };
    if (outcome.ok) logger.info(fields, 'delivered');
    else if (status === 'gave-up') logger.warn({ ...fields, error: outcome.error }, 'delivery given up');
    else logger.info({ ...fields, error: outcome.error }, 'delivery attempt failed; will retry');
  }
}
