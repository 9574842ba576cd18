#!/usr/bin/env node
// The `punchgate` command: picks the subcommand and hands it to its room's entry point.
import { pino } from 'pino';
import { runDecode } from '../firmware-bridge/cli/decode.js';
import { runSimulate } from '../firmware-bridge/cli/simulate.js';
import { runGateway } from '../gateway/cli/run-gateway.js';
import { runDashboard } from '../dashboard/cli/run-dashboard.js';
import { runDemo } from '../demo/run-demo.js';
import { runProvision } from '../provisioning/cli/run-provision.js';
import { softwareVersion } from '../gateway/version.js';

const usage = `punchgate ${softwareVersion()} — self-hosted, edge-first time and attendance

usage: punchgate <command> [options]

commands:
  demo                       everything on this machine: dashboard, broker, gateway, simulated reader
  dashboard --config FILE    the central server (embedded MQTT broker by default)
  dashboard create-admin ... make an admin account (--config FILE --username NAME)
  gateway --config FILE      the edge gateway daemon
  provision device|employees register a gateway (enrolment bundle), import employees
  simulate reader ...        play a badge reader on a serial port
  decode --protocol P ...    decode reader bytes for a field technician

Run "punchgate <command> --help" for a command's options.`;

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const stopSignal = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'gateway':
      return runGateway(rest, { stdout: out, stderr: err, stopSignal });
    case 'dashboard':
      return runDashboard(rest, { stdout: out, stderr: err, stopSignal, stdin: process.stdin });
    case 'decode':
      return runDecode(rest, { stdin: process.stdin, stdout: out, stderr: err });
    case 'simulate':
      return runSimulate(rest, { stdin: process.stdin, stdout: out, stderr: err, stopSignal, logger: pino({ level: process.env.PUNCHGATE_LOG ?? 'warn' }, process.stderr) });
    case 'provision':
      // A progress bar on a terminal (or when asked, for logs that keep carriage returns).
      return runProvision(rest, { stdout: out, stderr: err, ...(process.stderr.isTTY || process.env.PUNCHGATE_PROGRESS === '1' ? { progress: (text: string) => void process.stderr.write(text) } : {}) });
    case 'demo':
      return runDemo(rest, { stdout: out, stderr: err, stopSignal });
    case '--version':
    case '-v':
      out(softwareVersion());
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      out(usage);
      return command === undefined ? 2 : 0;
    default:
      err(`punchgate: unknown command "${command}"\n\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Serial ports and servers are closed by now; anything left is a bug we should not hang on.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    err(`punchgate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
