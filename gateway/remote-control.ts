import type { Logger } from 'pino';
import type { ReaderDriver } from '../firmware-bridge/reader-driver.js';
import type { ClockTrust } from './clock-trust.js';
import { CommandHandler } from './commands.js';
import type { ConfigApplier } from './config-apply.js';
import type { PunchDesk } from './punch-desk.js';
import { RosterIndex } from './roster-index.js';
import { reloadRosterFile } from './roster-reload.js';
import type { RunningSettings } from './running-settings.js';
import type { Store } from './store/store.js';
import type { Uplink } from './uplink/uplink.js';

export interface RemoteControlOptions {
  uplink: Uplink;
  applier: ConfigApplier;
  settings: RunningSettings;
  desk: PunchDesk;
  store: Store;
  readers: readonly ReaderDriver[];
  /** The local roster file, for the `reload` command. */
  rosterFile: string | undefined;
  clock: ClockTrust | undefined;
  logger: Logger;
}

/**
 * What the dashboard can do to a running gateway: push a config (applied whole or refused with
 * the last good one kept) and send commands (resync, reload, identify), each answered.
 */
export function attachRemoteControl(options: RemoteControlOptions): void {
  const { uplink, applier, settings, desk, store, logger } = options;

  uplink.onConfig(async (payload) => {
    const result = await applier.apply(payload);
    if (result.outcome === 'applied') {
      settings.applyPushed(result.config, desk);
      logger.info({ version: result.config.version, roster: result.config.rosterEntries }, 'pushed config applied');
    } else if (result.outcome !== 'unchanged') {
      logger.warn({ reason: result.reason }, 'pushed config refused; the last good config stays');
    }
    await uplink.publishStatus();
  });

  const commands = new CommandHandler({
    resync: async ({ includeRejected }) => {
      await options.clock?.check();
      return uplink.resync({ includeRejected });
    },
    reload: async () => {
      const reloaded = await reloadRosterFile({ file: options.rosterFile, roster: store.roster, pushedVersion: () => applier.appliedVersion() });
      if (reloaded.changed) {
        settings.roster = new RosterIndex(await store.roster.load());
        settings.rosterSource = reloaded.source;
      }
      return { changed: reloaded.changed, entries: reloaded.roster.length };
    },
    readers: () => options.readers,
    publish: async (reply) => {
      await uplink.publishReply(reply);
    },
    logger: logger.child({ part: 'commands' }),
  });
  uplink.onCommand(async (payload) => {
    await commands.handle(payload);
  });
}
