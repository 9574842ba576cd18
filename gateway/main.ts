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
import { RosterIndex } from './roster-index.js';
import { loadRosterFile } from './roster-file.js';
import { RosterCache } from './store/roster-cache.js';
import { Store } from './store/store.js';
import { softwareVersion } from './version.js';

export interface GatewayDependencies {
  clock?: Clock;
  /** Test hook: shorter serial re-open back-off. */
  readerRetryMs?: { min: number; max: number };
}

export interface Gateway {
  readonly store: Store;
  readonly desk: PunchDesk;
  readonly readers: readonly ReaderDriver[];
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
    const health = async (): Promise<GatewayHealth> => {
      const readerStatuses = readers.map((reader) => reader.status());
      const problems = readerStatuses.filter((status) => status.state !== 'ready').map((status) => `reader ${status.id}: ${status.state}${status.detail ? ` (${status.detail})` : ''}`);
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
        problems,
      };
    };

    const http: FastifyInstance = buildGatewayHttp({ store, health, logger });
    await http.listen({ host: config.http.host, port: config.http.port });
    cleanups.push(() => http.close());
    const address = http.server.address();
    const url = typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
    logger.info({ url, readers: readers.length, deviceId: config.deviceId }, 'gateway started');

    return {
      store,
      desk,
      readers,
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
