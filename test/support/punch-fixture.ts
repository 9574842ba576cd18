import { newPunchId } from '../../core/ids.js';
import type { Punch } from '../../core/punch.js';

/** A valid badge punch (Chan Tai Man's card at Mong Kok, now), with whatever the test overrides. */
export function testPunch(overrides: Partial<Punch> = {}): Punch {
  return {
    id: newPunchId(),
    deviceId: 'gw-1',
    siteId: 'mk-01',
    credential: { kind: 'em4100', uid: 'E3086CED' },
    employeeId: 'E001',
    at: new Date().toISOString(),
    clock: { synced: true },
    method: 'badge',
    direction: 'in',
    seq: 1,
    ...overrides,
  };
}
