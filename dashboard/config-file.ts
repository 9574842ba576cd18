import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeIssues } from '../core/errors.js';
import { DashboardConfig } from './config.js';

export class DashboardConfigError extends Error {
  override name = 'DashboardConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Reads and validates a dashboard config file; relative paths become relative to its folder. */
export async function loadDashboardConfig(file: string): Promise<DashboardConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `is not valid JSON: ${error.message}` : `cannot read the config file: ${(error as Error).message}`;
    throw new DashboardConfigError(file, [reason]);
  }
  const parsed = DashboardConfig.safeParse(raw);
  if (!parsed.success) throw new DashboardConfigError(file, describeIssues(parsed.error));
  const base = path.dirname(path.resolve(file));
  const config = parsed.data;
  return {
    ...config,
    dataDir: path.resolve(base, config.dataDir),
    mqtt: config.mqtt.mode === 'external' && config.mqtt.ca ? { ...config.mqtt, ca: path.resolve(base, config.mqtt.ca) } : config.mqtt,
    enrolment: config.enrolment.brokerCa ? { ...config.enrolment, brokerCa: path.resolve(base, config.enrolment.brokerCa) } : config.enrolment,
  };
}
