import { Counter, type Registry } from 'prom-client';
import type { ReaderStatus } from '../firmware-bridge/reader-driver.js';
import { oneHot, perScrape, sourcedCounter, sourcedGauge, type Sample } from '../platform/metrics.js';
import type { UplinkHealthReport } from './health.js';
import type { TapOutcome, TapResult } from './punch-desk.js';

/**
 * The gateway's Prometheus metrics, served at GET /metrics on its local HTTP (docs/metrics.md).
 *
 * Only two things are counted as they happen: taps by result and the corrected punches, both off
 * the punch path (after the commit, in the desk's `outcome` listener), one counter increment each.
 * Everything else is read at scrape time from the parts that already keep it (the uplink's
 * counters, the readers' status, the clock's verdict, the outbox on the uplink's own SQLite
 * connection), so a gateway nobody scrapes does no metrics work at all.
 */

/** Where the scrape-time values come from; each is asked once per scrape. */
export interface GatewayMetricSources {
  info: () => { deviceId: string; siteId: string; version: string };
  now: () => Date;
  /** Pending and rejected punches and the oldest pending one: the uplink connection's `uplinkCounts`, which never waits on the desk. */
  outbox: () => Promise<{ pending: number; rejected: number; oldestPendingAt: string | null }>;
  uplink: () => UplinkHealthReport;
  readers: () => ReadonlyArray<Pick<ReaderStatus, 'id' | 'protocol' | 'state' | 'reads' | 'badFrames'>>;
  /** `synced`: what punches are stamped with; `verdict`: the clock trust's verdict (see ClockTrust). */
  clock: () => { synced: boolean; verdict: string };
  /** The pushed config in force (0: the local config file) and whether the last push was refused. */
  config: () => { version: number; refused: boolean };
  roster: () => number;
  storage: () => { freeMegabytes: number | null; alarms: number };
  /** The BLE scanner's state and its advert counts since start (undefined without a scanner). */
  ble: () => { state: string; adverts: { seen: number; accepted: number } | undefined };
}

const TAP_RESULTS: readonly TapResult[] = ['accepted', 'unknown', 'revoked', 'duplicate', 'error'];
const MQTT_STATES = ['disabled', 'idle', 'connecting', 'connected', 'waiting', 'stopped'] as const;
const READER_STATES = ['connecting', 'ready', 'disconnected', 'unresponsive', 'stopped'] as const;
const CLOCK_VERDICTS = ['synced', 'unsynced', 'unverified', 'trusted', 'unchecked'] as const;
const SCANNER_STATES = ['scanning', 'waiting-for-adapter', 'unavailable', 'stopped', 'disabled'] as const;

export class GatewayMetrics {
  private readonly taps: Counter<'result'>;
  private readonly unsynced: Counter;
  private readonly corrected: Counter;

  constructor(
    readonly registry: Registry,
    sources: GatewayMetricSources,
  ) {
    const registers = [registry];
    sourcedGauge(
      registry,
      { name: 'punchgate_gateway_info', help: 'Always 1; the labels say which gateway this is, at which site (a pushed config may move it) and what software it runs', labelNames: ['device_id', 'site_id', 'version'] },
      () => {
        const info = sources.info();
        return [[{ device_id: info.deviceId, site_id: info.siteId, version: info.version }, 1]];
      },
    );

    this.taps = new Counter({
      name: 'punchgate_gateway_taps_total',
      help: 'Badge taps and hands-free events by outcome: accepted and unknown were committed as punches, revoked was recorded as a refused tap, duplicate was inside the debounce window, error could not be recorded',
      labelNames: ['result'],
      registers,
    });
    for (const result of TAP_RESULTS) this.taps.inc({ result }, 0);
    this.unsynced = new Counter({
      name: 'punchgate_gateway_punches_clock_unsynced_total',
      help: 'Punches committed while the clock was not known to be synchronised (stamped clock.synced=false; corrected once it syncs)',
      registers,
    });
    this.corrected = new Counter({
      name: 'punchgate_gateway_clock_corrected_punches_total',
      help: 'Punches whose time was corrected after the clock synchronised',
      registers,
    });

    const outbox = perScrape(sources.outbox);
    sourcedGauge(registry, { name: 'punchgate_gateway_outbox_punches', help: 'Punches in the outbox by state: pending (not yet acknowledged by the server) and rejected (refused by the server, kept locally)', labelNames: ['state'] }, async () => {
      const counts = await outbox();
      return [
        [{ state: 'pending' }, counts.pending],
        [{ state: 'rejected' }, counts.rejected],
      ];
    });
    sourcedGauge(registry, { name: 'punchgate_gateway_outbox_oldest_pending_age_seconds', help: 'Age of the oldest punch not yet acknowledged by the server (0 when none is pending): how far behind this gateway is' }, async () => {
      const { oldestPendingAt } = await outbox();
      const age = oldestPendingAt === null ? 0 : Math.max(0, (sources.now().getTime() - Date.parse(oldestPendingAt)) / 1000);
      return [[{}, Number.isFinite(age) ? age : 0]];
    });

    const uplink = (): UplinkHealthReport => sources.uplink();
    const connected = (health: UplinkHealthReport): health is Extract<UplinkHealthReport, { enabled: true }> => health.enabled;
    sourcedGauge(registry, { name: 'punchgate_gateway_mqtt_connected', help: '1 while the uplink is connected and subscribed to its broker, else 0 (also 0 without mqtt in the config)' }, () => {
      const health = uplink();
      return [[{}, connected(health) && health.state === 'connected' ? 1 : 0]];
    });
    sourcedGauge(registry, { name: 'punchgate_gateway_mqtt_state', help: 'The uplink connection state, one series per state (1 for the current one); disabled without mqtt in the config', labelNames: ['state'] }, () => {
      const health = uplink();
      return oneHot('state', MQTT_STATES, connected(health) ? health.state : 'disabled', {});
    });
    sourcedCounter(registry, { name: 'punchgate_gateway_mqtt_connects_total', help: 'Successful connections to the broker since start (reconnects included)' }, () => {
      const health = uplink();
      return [[{}, connected(health) ? health.connects : 0]];
    });
    sourcedCounter(registry, { name: 'punchgate_gateway_uplink_batches_total', help: 'Punch batches published: sent (first time) and resent (no ack in time)', labelNames: ['kind'] }, () => {
      const health = uplink();
      return [
        [{ kind: 'sent' }, connected(health) ? health.batchesSent : 0],
        [{ kind: 'resent' }, connected(health) ? health.resends : 0],
      ];
    });
    sourcedCounter(registry, { name: 'punchgate_gateway_uplink_punches_total', help: "Punches settled by the server's acks: acked (stored centrally) or rejected", labelNames: ['result'] }, () => {
      const health = uplink();
      return [
        [{ result: 'acked' }, connected(health) ? health.punchesAcked : 0],
        [{ result: 'rejected' }, connected(health) ? health.punchesRejected : 0],
      ];
    });
    sourcedGauge(registry, { name: 'punchgate_gateway_uplink_batches_in_flight', help: 'Batches published and waiting for their ack' }, () => {
      const health = uplink();
      return [[{}, connected(health) ? health.inFlight : 0]];
    });

    sourcedGauge(registry, { name: 'punchgate_gateway_reader_state', help: 'Each badge reader\'s state, one series per state (1 for the current one); ready is the only good one', labelNames: ['reader', 'state'] }, () =>
      sources.readers().flatMap((reader) => oneHot<'reader' | 'state', 'state'>('state', READER_STATES, reader.state, { reader: reader.id })),
    );
    sourcedCounter(registry, { name: 'punchgate_gateway_reader_reads_total', help: 'Card frames decoded by each reader since start', labelNames: ['reader'] }, () =>
      sources.readers().map((reader): Sample<'reader'> => [{ reader: reader.id }, reader.reads]),
    );
    sourcedCounter(registry, { name: 'punchgate_gateway_reader_bad_frames_total', help: 'Frames refused by each reader (checksum, parity, garbage) since start: a rising rate means a bad cable or interference', labelNames: ['reader'] }, () =>
      sources.readers().map((reader): Sample<'reader'> => [{ reader: reader.id }, reader.badFrames]),
    );

    sourcedCounter(registry, { name: 'punchgate_gateway_ble_adverts_total', help: 'BLE advertisements heard by the scanner (seen) and those from tags on the roster (accepted); rate() gives adverts per second', labelNames: ['kind'] }, () => {
      const adverts = sources.ble().adverts;
      return [
        [{ kind: 'seen' }, adverts?.seen ?? 0],
        [{ kind: 'accepted' }, adverts?.accepted ?? 0],
      ];
    });
    sourcedGauge(registry, { name: 'punchgate_gateway_ble_scanner_state', help: 'The BLE scanner\'s state, one series per state (1 for the current one)', labelNames: ['state'] }, () => oneHot('state', SCANNER_STATES, sources.ble().state, {}));

    sourcedGauge(registry, { name: 'punchgate_gateway_clock_synced', help: '1 when punches are stamped clock.synced=true (the clock is synchronised, trusted or unverifiable), 0 when they are flagged for correction' }, () => [[{}, sources.clock().synced ? 1 : 0]]);
    sourcedGauge(registry, { name: 'punchgate_gateway_clock_verdict', help: 'The clock trust verdict, one series per verdict (1 for the current one): synced, unsynced, unverified (no answer from the sync command), trusted (no sync command), unchecked (before the first check)', labelNames: ['verdict'] }, () =>
      oneHot('verdict', CLOCK_VERDICTS, sources.clock().verdict, {}),
    );

    sourcedGauge(registry, { name: 'punchgate_gateway_config_version', help: 'Version of the pushed config in force (0: only the local config file)' }, () => [[{}, sources.config().version]]);
    sourcedGauge(registry, { name: 'punchgate_gateway_config_refused', help: '1 when the last pushed config was refused (the previous one still runs), else 0' }, () => [[{}, sources.config().refused ? 1 : 0]]);
    sourcedGauge(registry, { name: 'punchgate_gateway_roster_entries', help: 'Badges and tags in the roster in force' }, () => [[{}, sources.roster()]]);
    sourcedGauge(registry, { name: 'punchgate_gateway_storage_free_bytes', help: 'Free space on the data dir\'s file system at the last storage check (MiB resolution); absent before the first check' }, () => {
      const { freeMegabytes } = sources.storage();
      return freeMegabytes === null ? [] : [[{}, freeMegabytes * 1024 * 1024]];
    });
    sourcedGauge(registry, { name: 'punchgate_gateway_storage_alarms', help: 'Storage alarms raised now (outbox over its limit, disk low)' }, () => [[{}, sources.storage().alarms]]);
  }

  /** A tap's outcome (the desk's `outcome` event, after the commit). */
  observeTap(outcome: TapOutcome): void {
    this.taps.inc({ result: outcome.result });
    if (outcome.punch && !outcome.punch.clock.synced) this.unsynced.inc();
  }

  /** A clock correction rewrote the time of `count` punches. */
  observeCorrection(count: number): void {
    if (count > 0) this.corrected.inc(count);
  }
}
