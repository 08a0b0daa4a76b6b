import { createHash } from 'node:crypto';
import { DefinitionError } from '../errors/index.js';
import { compileCron } from '../schedules/cron-pattern.js';
import { isTimeZone } from '../schedules/zone-offsets.js';
import { NAME_PATTERN } from './names.js';
import type { PipelineDefinition } from './pipeline.js';

/** What a schedule's `runConfig` and `shouldRun` are given for one due instant. */
export interface ScheduleTick {
  scheduleName: string;
  /** The due instant, ISO-8601 UTC (`2026-03-08T07:00:00.000Z`). */
  scheduledAt: string;
  /** The same instant as wall time with offset in the schedule's zone (`2026-03-08T03:00:00-04:00`). */
  localTime: string;
  timezone: string;
  /** True when the instant is run late, after the scheduler was down or behind. */
  catchup: boolean;
  /** 1 for the first evaluation; higher when a claim whose process died is taken over. */
  attempt: number;
}

/** A run config as given (not yet validated against the pipeline). */
export type ScheduleRunConfig = Record<string, unknown>;

export type ScheduleShouldRun = boolean | { skip: string };

export interface CatchupOptions {
  /**
   * What to do with instants missed while no scheduler ran: `'none'` runs none, `'latest'` the newest only,
   * `'all'` the newest `maxRuns`. Missed instants not run are recorded as MISSED ticks. Default `'latest'`.
   */
  policy?: 'none' | 'latest' | 'all';
  /** Cap on catch-up runs per pass under `'all'`, so a long outage is no storm. Default 5. */
  maxRuns?: number;
  /** Instants older than this (ms before now) are never run late, only recorded MISSED. Default one day. */
  windowMs?: number;
}

export interface DstOptions {
  /**
   * A fixed wall time (single minute and hour) that does not exist on a spring-forward night: `'shift'` runs it
   * once at the first valid time after the gap, `'skip'` does not run it that day. Default `'shift'`.
   * Interval patterns (lists, ranges, steps, `*`) run in real time and skip times in the gap.
   */
  gap?: 'shift' | 'skip';
  /**
   * A fixed wall time that occurs twice on a fall-back night runs at its `'first'` or `'last'` occurrence, or
   * `'both'`. Default `'first'`. Interval patterns run on both occurrences (25 hourly runs on that day).
   */
  fold?: 'first' | 'last' | 'both';
}

export type OverlapPolicy = 'skip' | 'buffer-one' | 'allow' | 'cancel-other';

export interface ScheduleOptions {
  name: string;
  /** A pipeline of the same repository. */
  pipeline: PipelineDefinition;
  /** Five fields (POSIX: day-of-month OR day-of-week); an array is the union of its patterns. */
  cron: string | readonly string[];
  /** IANA time zone the cron is read in. Default `'UTC'`. Results never depend on the host's `TZ`. */
  timezone?: string;
  /** The run config of each run, or a function of the tick; a function that throws records a FAILURE tick. */
  runConfig?: ScheduleRunConfig | ((tick: ScheduleTick) => ScheduleRunConfig | Promise<ScheduleRunConfig>);
  /** Tags added to each run, besides `stepwise/schedule` and `stepwise/scheduled-at`. */
  tags?: Record<string, string>;
  catchup?: CatchupOptions;
  /** What a tick does while an earlier run of this schedule is still in progress. Default `'allow'`. */
  overlap?: OverlapPolicy;
  dst?: DstOptions;
  /** Delay of each launch, 0..jitterMs, the same for a given tick in every process (a hash of the tick). Default 0. */
  jitterMs?: number;
  /** The status of a schedule never seen by storage before. Default `'running'`. */
  defaultStatus?: 'running' | 'stopped';
  /** `false` or `{ skip: reason }` records the tick SKIPPED with the reason instead of launching. */
  shouldRun?: (tick: ScheduleTick) => ScheduleShouldRun | Promise<ScheduleShouldRun>;
}

/** A validated schedule: every option resolved to its default. */
export interface ScheduleDefinition {
  readonly kind: 'schedule';
  readonly name: string;
  readonly pipeline: PipelineDefinition;
  readonly cron: readonly string[];
  readonly timezone: string;
  readonly runConfig?: ScheduleOptions['runConfig'];
  readonly tags: Readonly<Record<string, string>>;
  readonly catchup: Readonly<Required<CatchupOptions>>;
  readonly overlap: OverlapPolicy;
  readonly dst: Readonly<Required<DstOptions>>;
  readonly jitterMs: number;
  readonly defaultStatus: 'running' | 'stopped';
  readonly shouldRun?: ScheduleOptions['shouldRun'];
  /** Hash of cron and timezone: when it changes, the stored cursor is reset to now (no replay). */
  readonly definitionHash: string;
}

const CATCHUP_POLICIES = ['none', 'latest', 'all'] as const;
const OVERLAP_POLICIES = ['skip', 'buffer-one', 'allow', 'cancel-other'] as const;
const GAP_POLICIES = ['shift', 'skip'] as const;
const FOLD_POLICIES = ['first', 'last', 'both'] as const;

/** Declares a schedule (docs/scheduler.md). Every option is checked here, so a bad cron or zone fails at load time. */
export function schedule(options: ScheduleOptions): ScheduleDefinition {
  const { name } = options;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new DefinitionError(`schedule name ${JSON.stringify(name)} is invalid: use letters, digits, '_' and '-'`);
  }
  const fail = (field: string, why: string): never => {
    throw new DefinitionError(`schedule '${name}': ${field} ${why}`);
  };
  if (options.pipeline?.kind !== 'pipeline') fail('pipeline', 'must be a pipeline() definition');
  const cron = typeof options.cron === 'string' ? [options.cron] : options.cron;
  if (!Array.isArray(cron) || cron.length === 0) fail('cron', 'must be a 5-field cron string or a non-empty array');
  cron.forEach((pattern, i) => {
    const field = cron.length === 1 && typeof options.cron === 'string' ? 'cron' : `cron[${i}]`;
    if (typeof pattern !== 'string') fail(field, 'must be a string');
    try {
      compileCron(pattern);
    } catch (err) {
      fail(field, `'${pattern}' is invalid: ${(err as Error).message} (use 5 fields: minute hour day month weekday)`);
    }
  });
  const timezone = options.timezone ?? 'UTC';
  if (typeof timezone !== 'string' || !isTimeZone(timezone)) {
    fail('timezone', `${JSON.stringify(timezone)} is not an IANA time zone (e.g. 'America/New_York', 'UTC')`);
  }
  const oneOf = <T extends string>(field: string, value: unknown, allowed: readonly T[], dflt: T): T => {
    if (value === undefined) return dflt;
    if (!allowed.includes(value as T)) fail(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
    return value as T;
  };
  const nonNegative = (field: string, value: unknown, dflt: number): number => {
    if (value === undefined) return dflt;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(field, 'must be a number >= 0');
    return value as number;
  };
  const catchupIn = options.catchup ?? {};
  const catchup = {
    policy: oneOf('catchup.policy', catchupIn.policy, CATCHUP_POLICIES, 'latest'),
    maxRuns: nonNegative('catchup.maxRuns', catchupIn.maxRuns, 5),
    windowMs: nonNegative('catchup.windowMs', catchupIn.windowMs, 86_400_000),
  };
  if (!Number.isInteger(catchup.maxRuns)) fail('catchup.maxRuns', 'must be an integer');
  const dst = {
    gap: oneOf('dst.gap', options.dst?.gap, GAP_POLICIES, 'shift'),
    fold: oneOf('dst.fold', options.dst?.fold, FOLD_POLICIES, 'first'),
  };
  const rc = options.runConfig;
  if (rc !== undefined && typeof rc !== 'function' && (typeof rc !== 'object' || rc === null || Array.isArray(rc))) {
    fail('runConfig', 'must be an object or a function of the tick');
  }
  if (options.shouldRun !== undefined && typeof options.shouldRun !== 'function') {
    fail('shouldRun', 'must be a function of the tick');
  }
  for (const [k, v] of Object.entries(options.tags ?? {})) {
    if (typeof v !== 'string') fail(`tags.${k}`, 'must be a string');
  }
  const definitionHash = createHash('sha256').update(JSON.stringify({ cron, timezone })).digest('hex').slice(0, 16);
  return Object.freeze({
    kind: 'schedule' as const,
    name,
    pipeline: options.pipeline,
    cron: Object.freeze([...cron]),
    timezone,
    runConfig: rc,
    tags: Object.freeze({ ...(options.tags ?? {}) }),
    catchup: Object.freeze(catchup),
    overlap: oneOf('overlap', options.overlap, OVERLAP_POLICIES, 'allow'),
    dst: Object.freeze(dst),
    jitterMs: nonNegative('jitterMs', options.jitterMs, 0),
    defaultStatus: oneOf('defaultStatus', options.defaultStatus, ['running', 'stopped'] as const, 'running'),
    shouldRun: options.shouldRun,
    definitionHash,
  });
}
