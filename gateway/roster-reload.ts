import type { Roster } from '../core/roster.js';
import { loadRosterFile } from './roster-file.js';
import { RosterCache } from './store/roster-cache.js';

export class RosterReloadError extends Error {
  override name = 'RosterReloadError';
}

export interface RosterReloadOptions {
  /** `rosterFile` from the local config. */
  file: string | undefined;
  roster: RosterCache;
  /** The pushed config version in force (ConfigApplier.appliedVersion), 0 when none. */
  pushedVersion: () => number;
}

/**
 * The `reload` command: reads the local roster file again and stores it when it changed. A pushed
 * config outranks the local file (see ConfigApplier), so while one is in force the file is not
 * used and reload says so instead of silently overwriting the dashboard's roster. A bad file throws
 * (RosterFileError, with each problem) and changes nothing.
 */
export async function reloadRosterFile(options: RosterReloadOptions): Promise<{ roster: Roster; changed: boolean; source: string }> {
  const { file, roster } = options;
  if (!file) throw new RosterReloadError('no rosterFile is configured');
  const pushed = options.pushedVersion();
  if (pushed > 0) throw new RosterReloadError(`the pushed config v${pushed} is in force; the local rosterFile is not used`);
  const entries = await loadRosterFile(file);
  const source = `file:${file}`;
  const changed = (await roster.fingerprint()) !== RosterCache.fingerprint(entries);
  if (changed) await roster.replace(entries, { source });
  return { roster: entries, changed, source };
}
