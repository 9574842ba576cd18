import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { newBatchId } from '../../core/ids.js';
import { PunchAck } from '../../core/messages.js';
import type { Outbox } from '../store/outbox.js';

/** The outbox as the drain uses it. Give it its own SQLite connection (see gateway/main.ts). */
export type DrainOutbox = Pick<Outbox, 'pendingAfter' | 'settle' | 'rejectLocally' | 'requeueRejected' | 'pendingCount'>;

export interface DrainTransport {
  readonly connected: boolean;
  /** QoS 1 on `devices/{id}/punches`. Only the server's ack message completes a batch, not the PUBACK. */
  publishPunches(payload: Buffer): Promise<boolean>;
}

export interface DrainLimits {
  maxPunches: number;
  maxBytes: number;
  inFlight: number;
  ackTimeoutMs: number;
}

export interface OutboxDrainOptions {
  deviceId: string;
  outbox: DrainOutbox;
  transport: DrainTransport;
  limits: DrainLimits;
  /**
   * The boot whose not-yet-synced punches must wait (their time may still be corrected once the
   * clock syncs), or null to hold nothing. Asked before every page.
   */
  holdUnsyncedOfBoot: () => string | null;
  now: () => Date;
  logger: Logger;
  /** Also look for pending rows this often: a lifted hold, rows written by someone else. */
  pollIntervalMs?: number;
}

export interface DrainEvents {
  /** Everything sendable was sent and acknowledged. */
  caughtUp: [];
}

export interface DrainHealth {
  inFlight: number;
  batchesSent: number;
  resends: number;
  punchesAcked: number;
  punchesRejected: number;
  ignoredAcks: number;
  lastAckAt: string | null;
  holding: string | null;
}

interface Flight {
  batchId: string;
  payload: Buffer;
  /** Punch id -> seq, for every punch in the batch still waiting for its verdict. */
  waiting: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
  sends: number;
}

/** A resent batch waits longer each time (up to this many ack time-outs), so a slow server is not buried. */
const MAX_TIMEOUT_FACTOR = 8;

/**
 * Drains the outbox to the server: pages of pending punches become batches, several in flight at
 * once, each complete only when the server's ack message for its batchId says what was stored.
 *
 * All state changes (reading a page, recording an ack) run one at a time in `run()`, so a page is
 * never read while an ack for the same rows is half recorded (thingsboard-gateway's pre-fetch /
 * delete race that sent everything twice). The backlog is read by keyset pages after `cursor`,
 * never loaded whole: memory is one page plus the batches in flight, whatever the backlog.
 */
export class OutboxDrain extends EventEmitter<DrainEvents> {
  private readonly logger: Logger;
  private readonly flights = new Map<string, Flight>();
  /** Seqs inside flights: a rewound scan must not put them in a second batch. */
  private readonly flyingSeqs = new Set<number>();
  private readonly acks: PunchAck[] = [];
  /** The tail of the ack-recording writes, one after another, off the sending path. */
  private settling: Promise<void> = Promise.resolve();
  /** Punches answered by the server whose verdicts are not yet written: bounded, so memory is. */
  private unrecorded = 0;
  /** Pending rows at or below this seq are in flight, held, or already settled. */
  private cursor = 0;
  /** Bumped by forget(): work begun before it must not touch the state after it. */
  private epoch = 0;
  private lastHold: string | null = null;
  /** The last scan found nothing more to send. */
  private reachedEnd = false;
  /** Batches went out since the last `caughtUp`. */
  private busy = false;
  private wanted = false;
  private running: Promise<void> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private readonly stats = { batchesSent: 0, resends: 0, punchesAcked: 0, punchesRejected: 0, ignoredAcks: 0, lastAckAt: null as string | null };

  constructor(private readonly options: OutboxDrainOptions) {
    super();
    this.logger = options.logger;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.pollTimer = setInterval(() => this.kick(), this.options.pollIntervalMs ?? 1000);
    this.kick();
  }

  /** Stops sending and waits for the step in progress (a page read, an ack being recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    this.clearFlights();
    while (this.running) await this.running;
    await this.settling;
  }

  /** A punch was committed (or the hold may have lifted): look for pending rows now. */
  notify(): void {
    this.kick();
  }

  /** The transport is up (again): batches from before were forgotten at the disconnect, start over. */
  onConnected(): void {
    this.kick();
  }

  /**
   * The transport went down. Acks for the batches in flight can no longer arrive (clean session),
   * so forget them; everything not acknowledged goes again, from SQLite, after the reconnect.
   */
  onDisconnected(): void {
    this.forget();
  }

  /**
   * Forgets every batch in flight and sends every pending punch again from the oldest. With
   * `includeRejected`, punches the server refused are made pending first (after a server-side fix).
   * Resolves with how many punches are pending.
   */
  async resync(options: { includeRejected?: boolean } = {}): Promise<{ pending: number; requeued: number }> {
    this.forget();
    const requeued = options.includeRejected ? await this.options.outbox.requeueRejected() : 0;
    if (requeued > 0) this.logger.info({ requeued }, 'rejected punches made pending again');
    const pending = await this.options.outbox.pendingCount();
    this.logger.info({ pending }, 'resync: sending every pending punch again');
    this.kick();
    return { pending, requeued };
  }

  /** An ack message arrived. Malformed ones and acks for batches not in flight change nothing. */
  onAck(payload: Buffer): void {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      this.stats.ignoredAcks += 1;
      this.logger.warn({ bytes: payload.length }, 'ack ignored: not JSON');
      return;
    }
    const parsed = PunchAck.safeParse(json);
    if (!parsed.success) {
      this.stats.ignoredAcks += 1;
      this.logger.warn({ issues: parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.')}: ${issue.message}`) }, 'ack ignored: not a PunchAck');
      return;
    }
    this.acks.push(parsed.data);
    this.kick();
  }

  health(): DrainHealth {
    return { inFlight: this.flights.size, ...this.stats, holding: this.lastHold };
  }

  private kick(): void {
    if (this.stopped || !this.started) return;
    this.wanted = true;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.wanted) this.kick();
    });
  }

  private async run(): Promise<void> {
    while (this.wanted && !this.stopped) {
      this.wanted = false;
      try {
        this.applyAcks();
        this.noticeHold();
        while (!this.stopped && this.options.transport.connected && this.flights.size < this.options.limits.inFlight && !this.recordingBehind()) {
          if (!(await this.sendNextBatch())) break;
          // Acks that came in meanwhile free slots before the next page is read.
          this.applyAcks();
        }
        if (this.busy && this.reachedEnd && this.flights.size === 0 && this.acks.length === 0) {
          // Caught up means recorded in SQLite, not only answered.
          await this.settling;
          if (this.flights.size > 0 || this.acks.length > 0) continue;
          this.busy = false;
          this.emit('caughtUp');
        }
      } catch (error) {
        // A failed read or write (disk full, I/O error): nothing was lost, the rows are still
        // pending; the next poll tries again (not at once: that would spin on a broken disk).
        this.logger.error({ err: error }, 'outbox drain step failed; retrying on the next poll');
        this.wanted = false;
        return;
      }
    }
  }

  private noticeHold(): void {
    const hold = this.options.holdUnsyncedOfBoot();
    if (hold === this.lastHold) return;
    if (this.lastHold !== null) {
      // Rows stepped over under the old hold lie behind the cursor: scan again from the start
      // (rows in flight are skipped by seq).
      this.cursor = 0;
      this.logger.info({ released: this.lastHold, holding: hold }, 'clock hold changed: unsynced punches of that boot may go now');
    } else {
      this.logger.info({ holding: hold }, 'holding unsynced punches of this boot until the clock syncs');
    }
    this.lastHold = hold;
  }

  /** Reads pages until one batch is built and published; false when nothing is left to send. */
  private async sendNextBatch(): Promise<boolean> {
    const { outbox, limits, deviceId } = this.options;
    const epoch = this.epoch;
    const batchId = newBatchId();
    const head = `{"batchId":${JSON.stringify(batchId)},"deviceId":${JSON.stringify(deviceId)},"punches":[`;
    const tail = ']}';
    const parts: string[] = [];
    const waiting = new Map<string, number>();
    let bytes = Buffer.byteLength(head) + tail.length;
    let cursor = this.cursor;
    let full = false;
    const unreadable: Array<{ seq: number; reason: string }> = [];

    while (!full) {
      const page = await outbox.pendingAfter(cursor, limits.maxPunches, this.lastHold);
      if (epoch !== this.epoch || this.stopped) return false;
      const lastOfPage = page.lastSeq ?? cursor;
      let stoppedEarly = false;
      for (const row of page.rows) {
        if (this.flyingSeqs.has(row.seq)) continue;
        if (row.problem !== null) {
          unreadable.push({ seq: row.seq, reason: `unreadable on the gateway: ${row.problem}` });
          continue;
        }
        const json = row.body;
        const size = Buffer.byteLength(json) + (parts.length > 0 ? 1 : 0);
        // One punch always goes, even alone over the limit: a big punch must never block the rest.
        if (parts.length > 0 && (bytes + size > limits.maxBytes || parts.length >= limits.maxPunches)) {
          full = true;
          stoppedEarly = true;
          cursor = row.seq - 1;
          break;
        }
        parts.push(json);
        waiting.set(row.id, row.seq);
        bytes += size;
      }
      if (!stoppedEarly) cursor = lastOfPage;
      this.reachedEnd = page.end && !stoppedEarly;
      if (page.end) break;
    }

    if (unreadable.length > 0) {
      await outbox.rejectLocally(unreadable, this.options.now().toISOString());
      this.stats.punchesRejected += unreadable.length;
      this.logger.error({ seqs: unreadable.map((row) => row.seq) }, 'stored punches that no longer parse were marked rejected (kept, never sent)');
      if (epoch !== this.epoch) return false;
    }
    if (parts.length === 0) {
      this.cursor = cursor;
      return false;
    }
    // Not connected: leave the cursor, these rows are taken again on the next connect.
    if (!this.options.transport.connected) return false;
    this.cursor = cursor;

    const flight: Flight = { batchId, payload: Buffer.from(head + parts.join(',') + tail), waiting, timer: undefined, sends: 0 };
    this.flights.set(batchId, flight);
    for (const seq of waiting.values()) this.flyingSeqs.add(seq);
    this.busy = true;
    this.send(flight);
    this.stats.batchesSent += 1;
    this.logger.debug({ batchId, punches: parts.length, bytes: flight.payload.length, inFlight: this.flights.size }, 'batch sent');
    return true;
  }

  private send(flight: Flight): void {
    flight.sends += 1;
    void this.options.transport.publishPunches(flight.payload);
    const factor = Math.min(2 ** (flight.sends - 1), MAX_TIMEOUT_FACTOR);
    flight.timer = setTimeout(() => this.onAckTimeout(flight), this.options.limits.ackTimeoutMs * factor);
  }

  private onAckTimeout(flight: Flight): void {
    if (this.flights.get(flight.batchId) !== flight || this.stopped) return;
    // Offline the batch is forgotten at the disconnect anyway; only resend on a live connection.
    if (!this.options.transport.connected) return;
    this.stats.resends += 1;
    this.logger.info({ batchId: flight.batchId, punches: flight.waiting.size, sends: flight.sends + 1 }, 'no ack in time: batch sent again');
    // Same batchId and the same punches: the server stores each punch once whichever copy it keeps.
    this.send(flight);
  }

  /**
   * Takes every ack that has arrived: the batches they answer leave the flight at once (their slots
   * go to the next batches), and all their verdicts are recorded in one SQLite transaction that
   * runs while the next pages are read and sent. Until that write commits, the answered rows keep
   * their place in `flyingSeqs`, so no scan sends them again. Recording is not on the critical path
   * because losing it costs only a re-send (the server stores each punch once).
   */
  private applyAcks(): void {
    if (this.acks.length === 0) return;
    const accepted: string[] = [];
    const rejected: PunchAck['rejected'] = [];
    const answeredSeqs: number[] = [];
    for (let ack = this.acks.shift(); ack; ack = this.acks.shift()) {
      const flight = this.flights.get(ack.batchId);
      if (!flight) {
        this.stats.ignoredAcks += 1;
        // Normal for the second ack of a resent batch, or an ack from before a reconnect.
        this.logger.info({ batchId: ack.batchId }, 'ack for a batch not in flight ignored');
        continue;
      }
      let foreign = 0;
      const answer = (id: string): boolean => {
        const seq = flight.waiting.get(id);
        if (seq === undefined) {
          foreign += 1;
          return false;
        }
        flight.waiting.delete(id);
        answeredSeqs.push(seq);
        return true;
      };
      for (const id of ack.accepted) if (answer(id)) accepted.push(id);
      const refused = ack.rejected.filter((verdict) => answer(verdict.id));
      rejected.push(...refused);
      if (foreign > 0) this.logger.warn({ batchId: ack.batchId, foreign }, 'ack names punches that are not in its batch (or answered already); those are ignored');
      if (refused.length > 0) this.logger.warn({ batchId: ack.batchId, rejected: refused.slice(0, 10) }, 'the server rejected punches: kept locally as rejected, not sent again');
      if (flight.waiting.size === 0) {
        clearTimeout(flight.timer);
        this.flights.delete(flight.batchId);
      } else {
        // The rest stays in flight and goes again at its time-out, in the same batch.
        this.logger.warn({ batchId: ack.batchId, unanswered: flight.waiting.size }, 'ack did not cover its whole batch');
      }
    }
    if (answeredSeqs.length === 0) return;
    const epoch = this.epoch;
    this.unrecorded += answeredSeqs.length;
    this.settling = this.settling.then(async () => {
      try {
        const result = await this.options.outbox.settle({ accepted, rejected }, this.options.now().toISOString());
        this.stats.punchesAcked += result.acked;
        this.stats.punchesRejected += result.rejected;
        this.stats.lastAckAt = this.options.now().toISOString();
      } catch (error) {
        // The rows are still pending in SQLite: scan again from the start, so they go once more
        // and their next ack is recorded (the server keeps each punch once).
        this.logger.error({ err: error, punches: answeredSeqs.length }, 'could not record acks; those punches will be sent again');
        if (epoch === this.epoch) this.cursor = 0;
      } finally {
        // After a forget() the set was cleared and may hold new flights' seqs: leave it alone.
        if (epoch === this.epoch) for (const seq of answeredSeqs) this.flyingSeqs.delete(seq);
        this.unrecorded -= answeredSeqs.length;
        // Sending may have paused for this write (recordingBehind): carry on.
        this.kick();
      }
    });
  }

  /**
   * When the disk records acks more slowly than the server sends them (a slow SD card, a fast
   * server), stop sending until it catches up: otherwise the answered-but-unwritten punches, and
   * their ids in memory, would grow with the backlog.
   */
  private recordingBehind(): boolean {
    return this.unrecorded >= this.options.limits.inFlight * this.options.limits.maxPunches;
  }

  private forget(): void {
    this.epoch += 1;
    this.clearFlights();
    this.acks.length = 0;
    this.cursor = 0;
    this.reachedEnd = false;
  }

  private clearFlights(): void {
    for (const flight of this.flights.values()) clearTimeout(flight.timer);
    this.flights.clear();
    this.flyingSeqs.clear();
  }
}
