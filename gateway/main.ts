import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Roster } from '../core/roster.js';
import type { ReaderDriver } from '../firmware-bridge/reader-driver.js';
import { createReaderDriver } from '../firmware-bridge/reader-factory.js';
import type { Clock } from './clock.js';
import { ClockCorrector } from './clock-correction.js';
import { ClockTrust } from './clock-trust.js';
import { ConfigApplier } from './config-apply.js';
import type { GatewayConfig } from './config.js';
import { feedbackFor } from './feedback.js';
import type { GatewayHealth } from './health.js';
import { buildGatewayHttp } from './http/server.js';
import { GatewayMetrics } from './metrics.js';
import { createMetricsRegistry } from '../platform/metrics.js';
import { PunchDesk, type TapOutcome, type TapResult } from './punch-desk.js';
import type { Feedback } from '../core/feedback.js';
import { Retention } from './retention.js';
import { attachRemoteControl } from './remote-control.js';
import { RosterIndex } from './roster-index.js';
import { verdictOf } from './attendance-verdict.js';
import { KioskHub } from './kiosk/kiosk-hub.js';
import { DEFAULT_SITE_LANGUAGES } from '../core/config-snapshot.js';
import { RunningSettings } from './running-settings.js';
import { loadRosterFile } from './roster-file.js';
import { ClockCorrections } from './store/clock-corrections.js';
import { ConfigCache } from './store/config-cache.js';
import { RosterCache } from './store/roster-cache.js';
import { Store } from './store/store.js';
import { Presence, type PresenceOptions } from './presence/presence.js';
import { Uplink, type UplinkOutbox } from './uplink/uplink.js';
import { softwareVersion } from './version.js';

export interface GatewayDependencies {
  /** Test hook: a clock the test controls, instead of the system clock checked by clock.syncCommand. */
  clock?: Clock;
  /** Test hook: shorter serial re-open back-off. */
  readerRetryMs?: { min: number; max: number };
  /** Test hooks: faster status republish, drain poll and storage checks. */
  uplink?: { statusIntervalMs?: number; statusMinIntervalMs?: number; pollIntervalMs?: number };
  retention?: { checkIntervalMs?: number; pruneIntervalMs?: number };
  /** Test hooks: noble over a fake binding, bleno over a fake HCI socket, a fake nmcli's PATH. */
  presence?: PresenceOptions['deps'];
  /**
   * The Prometheus registry of this gateway's metrics, served at GET /metrics (docs/metrics.md).
   * Default: a registry of its own without process metrics; `punchgate gateway` passes one with them.
   */
  metrics?: Registry;
}

export interface Gateway {
  readonly store: Store;
  readonly desk: PunchDesk;
  readonly readers: readonly ReaderDriver[];
  /** The MQTT uplink, when the config has `mqtt`: register config/command handlers on it. */
  readonly uplink: Uplink | undefined;
  readonly retention: Retention;
  readonly presence: Presence;
  /** The registry GET /metrics serves. */
  readonly metrics: Registry;
  /** `http://host:port` the local HTTP listens on. */
  readonly url: string;
  /** What the door says about an outcome, with the running site and schedules ("IN 09:04 late 4m ..."). */
  feedbackOf(outcome: TapOutcome): Feedback;
  health(): Promise<GatewayHealth>;
  stop(): Promise<void>;
}

/**
 * The gateway's composition root: builds every part from the config, wires them, starts them in
 * order and stops them in reverse. Errors in the config, the roster file or the data dir reject
 * before anything is written.
 */
export async function startGateway(config: GatewayConfig, logger: Logger, deps: GatewayDependencies = {}): Promise<Gateway> {
  const trust = deps.clock
    ? undefined
    : new ClockTrust({ syncCommand: config.clock.syncCommand, checkIntervalMs: config.clock.checkIntervalSeconds * 1000, logger: logger.child({ part: 'clock' }) });
  const clock: Clock = deps.clock ?? (trust as ClockTrust);
  // Validate the roster file before the store exists: a bad file must change nothing on disk.
  const rosterFromFile: Roster | undefined = config.rosterFile ? await loadRosterFile(config.rosterFile) : undefined;
  const store = await Store.open({ dataDir: config.dataDir, synchronous: config.storage.synchronous, logger: logger.child({ part: 'store' }) });
  const cleanups: Array<() => Promise<void>> = [() => store.close()];
  const runCleanups = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
  };

  try {
    if (trust) {
      // Before the first tap: every punch must carry a considered clock verdict.
      await trust.start();
      cleanups.push(() => trust.stop());
    }
    // A config pushed by the dashboard outranks the local site, punch and roster settings.
    const applier = new ConfigApplier({
      deviceId: config.deviceId,
      local: { siteId: config.siteId, site: config.site, punch: config.punch, presence: config.presence },
      cache: new ConfigCache(store.db),
      logger: logger.child({ part: 'config' }),
      now: () => clock.now(),
    });
    const pushed = await applier.load();
    if (!pushed && rosterFromFile && config.rosterFile) {
      if ((await store.roster.fingerprint()) !== RosterCache.fingerprint(rosterFromFile)) {
        await store.roster.replace(rosterFromFile, { source: `file:${config.rosterFile}` });
        logger.info({ entries: rosterFromFile.length, file: config.rosterFile }, 'roster loaded from file');
      }
    }
    // The config this gateway runs, kept beside the punches it produced (and the base that pushed
    // configs will replace atomically).
    await store.setMeta('config.applied', JSON.stringify(config));
    const running = new RunningSettings(
      pushed?.roster ?? new RosterIndex(await store.roster.load()),
      pushed?.rosterSource ?? (await store.getMeta('roster.source')) ?? null,
      { id: pushed?.siteId ?? config.siteId, timeZone: pushed?.timeZone ?? config.site.timeZone, name: pushed?.siteName ?? config.site.name, languages: pushed?.languages ?? config.site.languages },
      pushed?.presence ?? config.presence.settings,
      pushed?.attendance,
    );
    const punchSettings = pushed?.punch ?? config.punch;

    const feedbackOf = (outcome: TapOutcome): Feedback => feedbackFor(outcome, running.site.timeZone, verdictOf(running.attendance, outcome));
    const tapCounts: Record<TapResult, number> = { accepted: 0, unknown: 0, revoked: 0, duplicate: 0, error: 0 };
    const desk = new PunchDesk({
      deviceId: config.deviceId,
      siteId: running.site.id,
      timeZone: running.site.timeZone,
      debounceMs: punchSettings.debounceSeconds * 1000,
      direction: punchSettings.direction,
      outbox: store.outbox,
      roster: () => running.roster,
      clock,
      logger: logger.child({ part: 'desk' }),
    });
    await desk.restoreAfterRestart();
    cleanups.push(() => desk.idle());
    desk.on('outcome', (outcome) => {
      tapCounts[outcome.result] += 1;
      logTap(logger, outcome);
    });
    // Read at scrape time; the parts named here are all made below, before the HTTP listens.
    const metrics = new GatewayMetrics(deps.metrics ?? createMetricsRegistry(), {
      info: () => ({ deviceId: config.deviceId, siteId: running.site.id, version }),
      now: () => clock.now(),
      outbox: () => sideStore.outbox.uplinkCounts(),
      uplink: () => (uplink ? uplink.health() : { enabled: false }),
      readers: () => readers.map((reader) => reader.status()),
      clock: () => (trust ? { synced: trust.synced(), verdict: trust.state().verdict } : { synced: clock.synced(), verdict: clock.synced() ? 'trusted' : 'unsynced' }),
      config: () => ({ version: applier.appliedVersion(), refused: applier.lastError() !== undefined }),
      roster: () => running.roster.size,
      storage: () => {
        const storage = retention.health();
        return { freeMegabytes: storage.freeMegabytes, alarms: storage.alarms.length };
      },
      ble: () => ({ state: presence.status().scanner.state, adverts: presence.advertCounts() }),
    });
    desk.on('outcome', (outcome) => metrics.observeTap(outcome));

    const readers = config.readers.map((reader) =>
      createReaderDriver(
        {
          ...reader,
          ...(deps.readerRetryMs ? { minRetryMs: deps.readerRetryMs.min, maxRetryMs: deps.readerRetryMs.max } : {}),
        },
        logger,
      ),
    );
    for (const reader of readers) {
      reader.on('card', (read) => {
        void desk.submit({ readerId: reader.id, read }).then((outcome) => reader.feedback(feedbackOf(outcome)));
      });
      await reader.start();
      cleanups.push(() => reader.stop());
    }

    const presence = new Presence({
      hardware: config.presence,
      settings: () => running.presence,
      roster: () => running.roster,
      submit: (tap) => desk.submit(tap),
      clock,
      logger,
      ...(deps.presence ? { deps: deps.presence } : {}),
    });
    presence.start();
    running.on('changed', () => presence.reconfigure());
    cleanups.push(() => presence.stop());

    const version = softwareVersion();
    const startedAt = clock.now().toISOString();

    // The uplink and retention get their own SQLite connection. On the desk's connection their
    // reads would see a punch inside the desk's open transaction (and could send a punch whose
    // commit then fails), and their writes would run inside that transaction or collide with it.
    // On a second connection SQLite isolates them: reads see committed rows only, and a write waits
    // for the desk's (busy_timeout) instead of failing the tap.
    // Its writes (acks recorded, rejections, prunes) need no fsync of their own: one lost in a power
    // cut means only that those punches are sent again, and the server keeps each once. The desk's
    // connection still fsyncs every punch; WAL stays consistent with either setting per connection.
    const sideSynchronous = config.storage.synchronous === 'off' ? 'off' : 'normal';
    const sideStore = await Store.open({ dataDir: config.dataDir, synchronous: sideSynchronous, role: 'uplink', logger: logger.child({ part: 'store-uplink' }) });
    cleanups.push(() => sideStore.close());
    // Recording acks rewrites every acknowledged row (a write as large as the central insert). On a
    // connection of its own it runs in a second SQLite thread while the next pages are read.
    const ackStore = await Store.open({ dataDir: config.dataDir, synchronous: sideSynchronous, role: 'uplink', logger: logger.child({ part: 'store-acks' }) });
    cleanups.push(() => ackStore.close());
    const uplinkOutbox: UplinkOutbox = {
      pendingAfter: (afterSeq, limit, holdBootId) => sideStore.outbox.pendingAfter(afterSeq, limit, holdBootId),
      pendingCount: () => sideStore.outbox.pendingCount(),
      uplinkCounts: () => sideStore.outbox.uplinkCounts(),
      settle: (verdicts, atIso) => ackStore.outbox.settle(verdicts, atIso),
      rejectLocally: (rows, atIso) => ackStore.outbox.rejectLocally(rows, atIso),
      requeueRejected: () => ackStore.outbox.requeueRejected(),
    };

    let uplink: Uplink | undefined;

    // Punches of this boot taken before the clock synced wait for their correction before upload.
    let correctionDue = false;
    if (trust) {
      const corrector = new ClockCorrector({
        clock: trust,
        corrections: new ClockCorrections(store.db),
        timeZone: () => running.site.timeZone,
        logger: logger.child({ part: 'clock' }),
      });
      corrector.start();
      cleanups.push(() => corrector.stop());
      corrector.on('corrected', (report) => metrics.observeCorrection(report.corrected));
      // Registered after the corrector's own listener, so idle() covers the correction it queued.
      trust.on('synced', () => {
        correctionDue = true;
        void corrector.idle().then(() => {
          correctionDue = false;
          uplink?.notify();
        });
      });
    }
    const clockStatus = (): { synced: boolean; source?: string } => (trust ? { synced: trust.synced(), source: trust.state().source } : { synced: clock.synced() });
    const retention = new Retention({
      outbox: sideStore.outbox,
      dataDir: config.dataDir,
      settings: config.retention,
      now: () => clock.now(),
      clockSynced: () => clock.synced(),
      logger: logger.child({ part: 'retention' }),
      onAlarmsChanged: () => void uplink?.publishStatus(),
      ...deps.retention,
    });
    retention.start();
    cleanups.push(() => retention.stop());

    const health = async (): Promise<GatewayHealth> => {
      const readerStatuses = readers.map((reader) => reader.status());
      const problems = readerStatuses.filter((status) => status.state !== 'ready').map((status) => `reader ${status.id}: ${status.state}${status.detail ? ` (${status.detail})` : ''}`);
      const uplinkHealth = uplink ? uplink.health() : ({ enabled: false } as const);
      if (uplinkHealth.enabled && uplinkHealth.state !== 'connected') problems.push(`uplink: ${uplinkHealth.state}${uplinkHealth.lastError ? ` (${uplinkHealth.lastError})` : ''}`);
      problems.push(...retention.alarms().map((alarm) => `storage: ${alarm}`));
      problems.push(...presence.problems().map((problem) => `presence: ${problem}`));
      const [lastPunch] = await store.outbox.recent(1);
      return {
        ok: problems.length === 0,
        deviceId: config.deviceId,
        siteId: config.siteId,
        version,
        startedAt,
        readers: readerStatuses,
        outbox: await store.outbox.counts(),
        lastPunch: lastPunch ?? null,
        clock: { now: clock.now().toISOString(), ...clockStatus() },
        roster: { entries: running.roster.size, source: running.rosterSource },
        config: { version: applier.appliedVersion(), error: applier.lastError()?.reason ?? null },
        taps: { ...tapCounts },
        uplink: uplinkHealth,
        storage: retention.health(),
        presence: presence.status(),
        problems,
      };
    };

    // The kiosk screen (docs/kiosk.md): each desk outcome pushed to the door's display as it is committed.
    let kiosk: KioskHub | undefined;
    if (config.kiosk.enabled) {
      const hub = new KioskHub({
        desk,
        site: () => ({ id: running.site.id, name: running.site.name ?? null, timeZone: running.site.timeZone, languages: [...(running.site.languages ?? DEFAULT_SITE_LANGUAGES)] }),
        verdictOf: (outcome) => verdictOf(running.attendance, outcome),
        link: () => (!config.mqtt ? 'standalone' : uplink?.connected ? 'online' : 'offline'),
        backlog: () => sideStore.outbox.pendingCount(),
        idleMs: config.kiosk.idleSeconds * 1000,
        now: () => clock.now(),
        logger: logger.child({ part: 'kiosk' }),
      });
      hub.start();
      cleanups.push(() => hub.stop());
      running.on('changed', () => hub.siteChanged());
      kiosk = hub;
    }

    const http: FastifyInstance = buildGatewayHttp({ store, health, logger, metrics: metrics.registry, kiosk });
    await http.listen({ host: config.http.host, port: config.http.port });
    cleanups.push(() => http.close());
    const address = http.server.address();
    const url = typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);

    // Started last so that it is stopped first: the offline status goes out while the rest still runs.
    if (config.mqtt) {
      const started = new Uplink({
        deviceId: config.deviceId,
        settings: config.mqtt,
        outbox: uplinkOutbox,
        // Punches of this boot taken before the clock synced may still get their time corrected.
        holdUnsyncedOfBoot: () => (clock.synced() && !correctionDue ? null : clock.bootId()),
        status: {
          version,
          now: () => clock.now(),
          clock: clockStatus,
          configVersion: () => applier.appliedVersion() || undefined,
          configError: () => applier.lastError()?.reason,
          readers: () => readers.map((reader) => reader.status()),
          alarms: () => [...retention.alarms(), ...presence.alarms()],
          presence: () => presence.status(),
        },
        logger,
        ...deps.uplink,
      });
      desk.on('outcome', (outcome) => {
        if (outcome.punch) started.notify();
      });
      attachRemoteControl({ uplink: started, applier, settings: running, desk, store, readers, rosterFile: config.rosterFile, clock: trust, logger });
      started.start();
      cleanups.push(() => started.stop());
      uplink = started;
    }
    logger.info({ url, readers: readers.length, deviceId: config.deviceId, uplink: config.mqtt ? uplink?.health().url : 'none' }, 'gateway started');

    return {
      store,
      desk,
      readers,
      uplink,
      retention,
      presence,
      metrics: metrics.registry,
      url,
      feedbackOf,
      health,
      async stop() {
        await runCleanups();
        logger.info('gateway stopped');
      },
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}

function logTap(logger: Logger, outcome: TapOutcome): void {
  const fields = {
    result: outcome.result,
    reader: outcome.readerId,
    credential: outcome.credential ? `${outcome.credential.kind}:${outcome.credential.uid}` : undefined,
    employeeId: outcome.employee?.id,
    punchId: outcome.punch?.id,
    direction: outcome.punch?.direction,
    reason: outcome.reason,
  };
  if (outcome.result === 'error') logger.error(fields, 'tap failed');
  else logger.info(fields, 'tap');
}
