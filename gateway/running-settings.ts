import { EventEmitter } from 'node:events';
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
    public site: { id: string; timeZone: string },
    public presence: PresenceSettings,
    public attendance: GatewayAttendance | undefined = undefined,
  ) {
    super();
  }

  /** Switches to a pushed config: roster, site and the desk's punch settings at once. */
  applyPushed(config: RunningConfig, desk: PunchDesk): void {
    this.roster = config.roster;
    this.rosterSource = config.rosterSource;
    this.site = { id: config.siteId, timeZone: config.timeZone };
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
