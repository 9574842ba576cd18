import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Roster } from '../core/roster.js';
import type { ReaderDriver } from '../firmware-bridge/reader-driver.js';
import { createReaderDriver } from '../firmware-bridge/reader-factory.js';
import { SystemClock, type Clock } from './clock.js';
import type { GatewayConfig } from './config.js';
import { feedbackFor } from './feedback.js';
import type { GatewayHealth } from './health.js';
import { buildGatewayHttp } from './http/server.js';
import { PunchDesk, type TapOutcome, type TapResult } from './punch-desk.js';
import { Retention } from './retention.js';
import { RosterIndex } from './roster-index.js';
import { loadRosterFile } from './roster-file.js';
import { RosterCache } from './store/roster-cache.js';
import { Store } from './store/store.js';
import { Uplink } from './uplink/uplink.js';
import { softwareVersion } from './version.js';

export interface GatewayDependencies {
  clock?: Clock;
  /** Test hook: shorter serial re-open back-off. */
  readerRetryMs?: { min: number; max: number };
  /** Test hooks: faster status republish, drain poll and storage checks. */
  uplink?: { statusIntervalMs?: number; statusMinIntervalMs?: number; pollIntervalMs?: number };
  retention?: { checkIntervalMs?: number; pruneIntervalMs?: number };
}

export interface Gateway {
  readonly store: Store;
  readonly desk: PunchDesk;
  readonly readers: readonly ReaderDriver[];
  /** The MQTT uplink, when the config has `mqtt`: register config/command handlers on it. */
  readonly uplink: Uplink | undefined;
  readonly retention: Retention;
  /** `http://host:port` the local HTTP listens on. */
  readonly url: string;
  health(): Promise<GatewayHealth>;
  stop(): Promise<void>;
}

/**
 * The gateway's composition root: builds every part from the config, wires them, starts them in
 * order and stops them in reverse. Errors in the config, the roster file or the data dir reject
 * before anything is written.
 */
export async function startGateway(config: GatewayConfig, logger: Logger, deps: GatewayDependencies = {}): Promise<Gateway> {
  const clock = deps.clock ?? new SystemClock();
  // Validate the roster file before the store exists: a bad file must change nothing on disk.
  const rosterFromFile: Roster | undefined = config.rosterFile ? await loadRosterFile(config.rosterFile) : undefined;
  const store = await Store.open({ dataDir: config.dataDir, synchronous: config.storage.synchronous, logger: logger.child({ part: 'store' }) });
  const cleanups: Array<() => Promise<void>> = [() => store.close()];
  const runCleanups = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
  };

  try {
    if (rosterFromFile && config.rosterFile) {
      if ((await store.roster.fingerprint()) !== RosterCache.fingerprint(rosterFromFile)) {
        await store.roster.replace(rosterFromFile, { source: `file:${config.rosterFile}` });
        logger.info({ entries: rosterFromFile.length, file: config.rosterFile }, 'roster loaded from file');
      }
    }
    // The config this gateway runs, kept beside the punches it produced (and the base that pushed
    // configs will replace atomically).
    await store.setMeta('config.applied', JSON.stringify(config));
    const rosterIndex = new RosterIndex(await store.roster.load());
    const rosterSource = (await store.getMeta('roster.source')) ?? null;

    const tapCounts: Record<TapResult, number> = { accepted: 0, unknown: 0, revoked: 0, duplicate: 0, error: 0 };
    const desk = new PunchDesk({
      deviceId: config.deviceId,
      siteId: config.siteId,
      timeZone: config.site.timeZone,
      debounceMs: config.punch.debounceSeconds * 1000,
      direction: config.punch.direction,
      outbox: store.outbox,
      roster: () => rosterIndex,
      clock,
      logger: logger.child({ part: 'desk' }),
    });
    await desk.restoreDebounceWindow();
    cleanups.push(() => desk.idle());
    desk.on('outcome', (outcome) => {
      tapCounts[outcome.result] += 1;
      logTap(logger, outcome);
    });

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
        void desk.submit({ readerId: reader.id, read }).then((outcome) => reader.feedback(feedbackFor(outcome, config.site.timeZone)));
      });
      await reader.start();
      cleanups.push(() => reader.stop());
    }

    const version = softwareVersion();
    const startedAt = clock.now().toISOString();

    // The uplink and retention get their own SQLite connection. On the desk's connection their
    // reads would see a punch inside the desk's open transaction (and could send a punch whose
    // commit then fails), and their writes would run inside that transaction or collide with it.
    // On a second connection SQLite isolates them: reads see committed rows only, and a write waits
    // for the desk's (busy_timeout) instead of failing the tap.
    const sideStore = await Store.open({ dataDir: config.dataDir, synchronous: config.storage.synchronous, logger: logger.child({ part: 'store-uplink' }) });
    cleanups.push(() => sideStore.close());

    let uplink: Uplink | undefined;
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
        clock: { now: clock.now().toISOString(), synced: clock.synced() },
        roster: { entries: rosterIndex.size, source: rosterSource },
        taps: { ...tapCounts },
        uplink: uplinkHealth,
        storage: retention.health(),
        problems,
      };
    };

    const http: FastifyInstance = buildGatewayHttp({ store, health, logger });
    await http.listen({ host: config.http.host, port: config.http.port });
    cleanups.push(() => http.close());
    const address = http.server.address();
    const url = typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);

    // Started last so that it is stopped first: the offline status goes out while the rest still runs.
    if (config.mqtt) {
      const started = new Uplink({
        deviceId: config.deviceId,
        settings: config.mqtt,
        outbox: sideStore.outbox,
        // Punches of this boot taken before the clock synced may still get their time corrected.
        holdUnsyncedOfBoot: () => (clock.synced() ? null : clock.bootId()),
        status: {
          version,
          now: () => clock.now(),
          clock: () => ({ synced: clock.synced() }),
          readers: () => readers.map((reader) => reader.status()),
          alarms: () => retention.alarms(),
        },
        logger,
        ...deps.uplink,
      });
      desk.on('outcome', (outcome) => {
        if (outcome.punch) started.notify();
      });
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
      url,
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
