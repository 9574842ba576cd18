import { EventEmitter } from 'node:events';
import type { SiteLanguage } from '../core/config-snapshot.js';
import type { PresenceSettings } from '../core/presence-settings.js';
import type { GatewayAttendance } from './attendance-verdict.js';
import type { RunningConfig } from './config-apply.js';
import type { PunchDesk } from './punch-desk.js';
import type { RosterIndex } from './roster-index.js';

/**
 * What the gateway runs with right now: the roster and site, from the local files at start or
 * from the last config the dashboard pushed. One object, so that every reader of it (desk,
 * feedback, health, clock correction) sees the same switch-over.
 */
export class RunningSettings extends EventEmitter<{ changed: [] }> {
  constructor(
    public roster: RosterIndex,
    public rosterSource: string | null,
    /** `name` and `languages` are for the kiosk screen (languages undefined: the default, both). */
    public site: { id: string; timeZone: string; name?: string; languages?: readonly SiteLanguage[] },
    public presence: PresenceSettings,
    public attendance: GatewayAttendance | undefined = undefined,
  ) {
    super();
  }

  /** Switches to a pushed config: roster, site and the desk's punch settings at once. */
  applyPushed(config: RunningConfig, desk: PunchDesk): void {
    this.roster = config.roster;
    this.rosterSource = config.rosterSource;
    this.site = { id: config.siteId, timeZone: config.timeZone, name: config.siteName, ...(config.languages ? { languages: config.languages } : {}) };
    this.presence = config.presence;
    this.attendance = config.attendance;
    desk.updateSettings({
      siteId: config.siteId,
      timeZone: config.timeZone,
      debounceMs: config.punch.debounceSeconds * 1000,
      direction: config.punch.direction,
    });
    this.emit('changed');
  }
}
