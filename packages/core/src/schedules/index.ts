export { type CompiledCron, compileCron } from './cron-pattern.js';
export {
  instantsBetween,
  jitterDelayMs,
  nextInstant,
  previousInstants,
  type ScheduleTiming,
} from './schedule-instants.js';
export { instantsOfWall, isTimeZone, localIso, offsetAt } from './zone-offsets.js';
