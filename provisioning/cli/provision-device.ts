import type { ProvisionIo } from './run-provision.js';

/** `punchgate provision device`: not built yet (issue 7). */
export async function runProvisionDevice(_argv: string[], io: ProvisionIo): Promise<number> {
  io.stderr('punchgate provision device: not available yet');
  return 2;
}
