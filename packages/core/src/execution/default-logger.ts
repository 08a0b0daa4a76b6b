import { type Logger, pino } from 'pino';

let fallbackLogger: Logger | undefined;
/** The engine's logger when the caller gives none: pino at `warn` (or $STEPWISE_LOG_LEVEL) on stderr. */
export function defaultLogger(): Logger {
  fallbackLogger ??= pino({ level: process.env.STEPWISE_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  return fallbackLogger;
}
