import type { AlertEventInput } from '../../dashboard/notifications/alert-event.js';

/** A late-arrival alert for E001 at mk-01 (with e-mail addresses for the employee and the manager); override what a test needs. */
export function lateEvent(overrides: Partial<AlertEventInput> = {}): AlertEventInput {
  return {
    key: 'late:E001:2026-11-20',
    kind: 'late',
    occurredAt: '2026-11-20T01:12:00Z',
    employee: { employeeNumber: 'E001', name: 'Chan Tai Man', nameZh: '陳大文', email: 'taiman@example.com' },
    managers: [{ name: 'Wong Siu Ming', email: 'siuming@example.com' }],
    siteId: 'mk-01',
    workDate: '2026-11-20',
    details: { minutesLate: 12, shiftStart: '09:00' },
    ...overrides,
  };
}
