import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { DashboardConfigError, loadDashboardConfig } from '../config-file.js';
import { CentralDbError } from '../db/central-db.js';
import { startDashboard } from '../server.js';
import { createMetricsRegistry } from '../../platform/metrics.js';
import { runCreateAdmin } from './create-admin.js';

export const dashboardUsage = `usage: punchgate dashboard --config FILE
       punchgate dashboard create-admin --config FILE --username NAME [--password-stdin] [--reset]

Runs the central dashboard: the embedded MQTT broker (or a connection to an external one), punch
ingest with end-to-end acks, the device registry and the REST API under /api/v1. At the first
start (no user yet) it makes the account "admin" and prints its one-time password, once.
create-admin makes (or with --reset recovers) an admin account.`;

export interface DashboardIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  stopSignal: Promise<void>;
  /** For create-admin --password-stdin. */
  stdin?: NodeJS.ReadableStream;
}

/** `punchgate dashboard`: runs until the stop signal; returns the exit code. */
export async function runDashboard(argv: string[], io: DashboardIo): Promise<number> {
  if (argv[0] === 'create-admin') return runCreateAdmin(argv.slice(1), io);
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${dashboardUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(dashboardUsage);
    return 0;
  }
  if (!values.config) {
    io.stderr(`--config FILE is required\n${dashboardUsage}`);
    return 2;
  }
  let config;
  try {
    config = await loadDashboardConfig(values.config);
  } catch (error) {
    if (error instanceof DashboardConfigError) {
      io.stderr(`punchgate dashboard: the config file is not valid, nothing was started:\n${error.message}`);
      return 2;
    }
    throw error;
  }
  const logger = pino({ level: config.log.level, base: { part: 'dashboard' } }, process.stdout);
  let dashboard;
  try {
    dashboard = await startDashboard(config, logger, {
      // The process runs this one dashboard: its /metrics also carries the process metrics.
      metrics: createMetricsRegistry({ processMetrics: true }),
      onFirstAdmin: ({ username, password }) => {
        logger.warn({ username }, 'first start: made the admin account; its one-time password is printed on standard output, only this once');
        io.stdout(`punchgate dashboard: first start: made the account "${username}" with a one-time password, shown only this once:
  username: ${username}
  password: ${password}
Sign in and change it. Lost it? punchgate dashboard create-admin --config FILE --username NAME --reset`);
      },
    });
  } catch (error) {
    if (error instanceof CentralDbError) {
      io.stderr(`punchgate dashboard: cannot start:\n${error.message}`);
      return 2;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      io.stderr(`punchgate dashboard: cannot start: ${(error as Error).message} (http.port or mqtt.port in the config)`);
      return 2;
    }
    throw error;
  }
  await io.stopSignal;
  await dashboard.stop();
  return 0;
}
