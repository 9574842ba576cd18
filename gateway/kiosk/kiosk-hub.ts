import type { Logger } from 'pino';
import type { KioskVerdict } from '../../core/attendance/index.js';
import type { PunchDesk, TapOutcome } from '../punch-desk.js';
import { kioskTapOf, type KioskEvent, type KioskLink, type KioskSite, type KioskState } from './kiosk-events.js';

export interface KioskHubOptions {
  /** The desk whose outcomes the screen shows; its `outcome` event comes right after the commit. */
  desk: Pick<PunchDesk, 'on' | 'off'>;
  /** The site as it runs now (a pushed config may change it). */
  site: () => KioskSite;
  /** The attendance verdict of an outcome, with the schedules in force. */
  verdictOf: (outcome: TapOutcome) => KioskVerdict | undefined;
  link: () => KioskLink;
  /** Punches not yet acknowledged by the server (a count on a connection other than the desk's). */
  backlog: () => Promise<number>;
  idleMs: number;
  now?: () => Date;
  /** How often the link is looked at (default 500 ms); a change goes out at once. */
  linkPollMs?: number;
  /** How often the backlog is counted besides after each punch and each link change (default 5 s). */
  backlogPollMs?: number;
  logger: Logger;
}

export type KioskListener = (event: KioskEvent) => void;

/**
 * What the kiosk screens are told: each desk outcome as a `tap` event, synchronously in the desk's
 * `outcome` event (so right after the commit, before the reader's beep is even written), and the
 * `state` (site, link, backlog) whenever it changes. Listeners are the open event streams.
 *
 * Badge taps only: hands-free BLE punches (credential kind `ble-tag`) happen when nobody stands at
 * the screen, minutes after the fact for an out, and are not shown.
 */
export class KioskHub {
  private readonly listeners = new Set<KioskListener>();
  private readonly now: () => Date;
  private seq = 0;
  private backlog: number | null = null;
  private link: KioskLink;
  private linkTimer: NodeJS.Timeout | undefined;
  private backlogTimer: NodeJS.Timeout | undefined;
  private counting: Promise<void> | undefined;
  private countAgain = false;
  private started = false;

  private readonly onOutcome = (outcome: TapOutcome): void => this.tapped(outcome);

  constructor(private readonly options: KioskHubOptions) {
    this.now = options.now ?? (() => new Date());
    this.link = options.link();
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.options.desk.on('outcome', this.onOutcome);
    this.linkTimer = setInterval(() => this.checkLink(), this.options.linkPollMs ?? 500);
    this.linkTimer.unref();
    this.backlogTimer = setInterval(() => this.countBacklog(), this.options.backlogPollMs ?? 5000);
    this.backlogTimer.unref();
    this.countBacklog();
  }

  /** Stops listening to the desk; the streams themselves are ended by the HTTP server's close. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.options.desk.off('outcome', this.onOutcome);
    clearInterval(this.linkTimer);
    clearInterval(this.backlogTimer);
    while (this.counting) await this.counting;
  }

  /** Registers a stream; returns its removal. A fresh backlog count follows. */
  subscribe(listener: KioskListener): () => void {
    this.listeners.add(listener);
    this.countBacklog();
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  state(): KioskState {
    return { site: this.options.site(), link: this.link, backlog: this.backlog, idleMs: this.options.idleMs, serverTime: this.now().toISOString() };
  }

  /** The site changed (a pushed config): every screen gets the new state. */
  siteChanged(): void {
    this.broadcast({ type: 'state', data: this.state() });
  }

  private tapped(outcome: TapOutcome): void {
    // A gateway without a screen does no work per tap (the periodic count keeps /kiosk/state near).
    if (this.listeners.size === 0 || outcome.credential?.kind === 'ble-tag') return;
    let verdict: KioskVerdict | undefined;
    try {
      verdict = this.options.verdictOf(outcome);
    } catch (error) {
      // A verdict is a courtesy; the tap is shown without it.
      this.options.logger.warn({ err: error }, 'could not judge the punch against the schedules');
    }
    this.seq += 1;
    this.broadcast({ type: 'tap', data: kioskTapOf(outcome, { seq: this.seq, verdict, link: this.options.link(), now: this.now() }) });
    // After the tap, which is what a person waits for: the state, if the link changed, and the new backlog.
    this.checkLink();
    if (outcome.punch) this.countBacklog();
  }

  private checkLink(): void {
    const link = this.options.link();
    if (link === this.link) return;
    this.link = link;
    this.options.logger.info({ link }, 'kiosk: link changed');
    this.broadcast({ type: 'state', data: this.state() });
    this.countBacklog();
  }

  /** Counts the backlog (one count at a time; a request during one runs once more after it). */
  private countBacklog(): void {
    if (!this.started) return;
    if (this.counting) {
      this.countAgain = true;
      return;
    }
    this.counting = (async () => {
      do {
        this.countAgain = false;
        try {
          const backlog = await this.options.backlog();
          if (backlog !== this.backlog) {
            this.backlog = backlog;
            this.broadcast({ type: 'state', data: this.state() });
          }
        } catch (error) {
          this.options.logger.warn({ err: error }, 'kiosk: could not count the backlog');
        }
      } while (this.countAgain && this.started);
    })().finally(() => {
      this.counting = undefined;
    });
  }

  private broadcast(event: KioskEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.warn({ err: error, event: event.type }, 'kiosk: a screen stream failed');
      }
    }
  }
}
