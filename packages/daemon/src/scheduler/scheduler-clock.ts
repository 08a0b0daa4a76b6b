import { readFileSync } from 'node:fs';
import { ConfigError } from '@stepwise/core';

/**
 * `STEPWISE_CLOCK_FILE`: the scheduler's `now` read from a file (epoch ms or an ISO instant) instead of the system
 * clock, so several real processes (daemons, `schedule tick`) agree on one simulated time that a test moves. Only
 * the scheduler's instants follow it; sleeping, heartbeats and run leases stay on real time.
 */
export const CLOCK_FILE_ENV = 'STEPWISE_CLOCK_FILE';

/** The scheduler's clock reading: the clock file's instant when `STEPWISE_CLOCK_FILE` is set, else `fallback()`. */
export function schedulerNow(fallback: () => number = Date.now, env: NodeJS.ProcessEnv = process.env): number {
  const file = env[CLOCK_FILE_ENV];
  if (!file) return fallback();
  const text = readFileSync(file, 'utf8').trim();
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(value)) {
    throw new ConfigError(`${CLOCK_FILE_ENV} (${file})`, [
      { path: '', message: `holds '${text.slice(0, 40)}': write epoch milliseconds or an ISO-8601 instant` },
    ]);
  }
  return value;
}
