import type { ProvisionIo } from './run-provision.js';

/** `punchgate provision employees`: not built yet (issue 7). */
export async function runProvisionEmployees(_argv: string[], io: ProvisionIo): Promise<number> {
  io.stderr('punchgate provision employees: not available yet');
  return 2;
}
