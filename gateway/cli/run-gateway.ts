import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { ConfigError, loadGatewayConfig } from '../config-file.js';
import { startGateway } from '../main.js';
import { createMetricsRegistry } from '../../platform/metrics.js';
import { RosterFileError } from '../roster-file.js';
import { StoreError } from '../store/store.js';
import { gatewayStatusLine, SystemdNotifier } from '../systemd-notify.js';

export const gatewayUsage = `usage: punchgate gateway --config FILE

Runs the edge gateway: reads badges from the configured serial readers, records every punch in
SQLite before giving feedback, and serves /health, /metrics and /api/punches on its local HTTP port.`;

export interface GatewayIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Resolves on SIGTERM/SIGINT. */
  stopSignal: Promise<void>;
  /** Where logs go (stdout in production). */
  logDestination?: NodeJS.WritableStream;
}

/** `punchgate gateway`: runs until the stop signal; returns the exit code. */
export async function runGateway(argv: string[], io: GatewayIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${gatewayUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(gatewayUsage);
    return 0;
  }
  if (!values.config) {
    io.stderr(`--config FILE is required\n${gatewayUsage}`);
    return 2;
  }
  let config;
  try {
    config = await loadGatewayConfig(values.config);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`punchgate gateway: the config file is not valid, nothing was started:\n${error.message}`);
      return 2;
    }
    throw error;
  }
  const logger: Logger = pino({ level: config.log.level, base: { deviceId: config.deviceId } }, io.logDestination ?? process.stdout);
  // Under systemd (Type=notify, WatchdogSec=): READY=1 once started, then watchdog pings from the
  // event loop. Made before the start, which spawns programs that must not inherit NOTIFY_SOCKET.
  const systemd = new SystemdNotifier({ logger });
  let gateway;
  try {
    // The process runs this one gateway: its /metrics also carries the process metrics.
    gateway = await startGateway(config, logger, { metrics: createMetricsRegistry({ processMetrics: true }) });
  } catch (error) {
    systemd.close();
    if (error instanceof RosterFileError || error instanceof StoreError) {
      io.stderr(`punchgate gateway: cannot start:\n${error.message}`);
      return 2;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      io.stderr(`punchgate gateway: cannot start: ${config.http.host}:${config.http.port} is already in use (http.port in the config)`);
      return 2;
    }
    throw error;
  }
  const started = gateway;
  systemd.ready(() => gatewayStatusLine(started));
  await io.stopSignal;
  logger.info('stop requested');
  systemd.stopping();
  await gateway.stop();
  systemd.close();
  return 0;
}
