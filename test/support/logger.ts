import { pino, type Logger } from 'pino';

/** A real pino logger for tests: silent unless PUNCHGATE_TEST_LOG=debug (or another level) is set. */
export function testLogger(): Logger {
  return pino({ level: process.env.PUNCHGATE_TEST_LOG ?? 'silent' });
}
