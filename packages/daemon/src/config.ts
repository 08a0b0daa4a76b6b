import { defineSection, type InstanceConfig, nullAsEmpty } from '@stepwise/core';
import { z } from 'zod';

/** The sections of stepwise.yaml this package owns (docs/daemon.md): how dequeued runs launch, how runs are watched. */

const positiveInt = z.number().int().positive('must be greater than 0');
const nonEmpty = z.string().min(1, 'must not be empty');

export const runLauncherSchema = z
  .strictObject({
    /** A detached `stepwise run --run-id ID` process per run, which outlives the daemon (the default). */
    process: nullAsEmpty(z.strictObject({})).optional(),
    /** In the daemon's own process. */
    inProcess: nullAsEmpty(z.strictObject({})).optional(),
    /** The run's coordinator as a BullMQ job, taken by `stepwise worker --runs`. */
    queue: nullAsEmpty(
      z.strictObject({
        /** Queue name. Default `runs`. */
        queue: nonEmpty.default('runs'),
        /** Default: `$REDIS_URL`, else redis://127.0.0.1:6379. */
        redisUrl: nonEmpty.optional(),
        /** BullMQ key prefix. Default `stepwise`. */
        prefix: nonEmpty.default('stepwise'),
      }),
    ).optional(),
  })
  .superRefine((value, ctx) => {
    const set = Object.keys(value).filter((k) => value[k as keyof typeof value] !== undefined);
    if (set.length > 1)
      ctx.addIssue({
        code: 'custom',
        message: `choose only one of: process, inProcess, queue (got ${set.join(', ')})`,
      });
  });

export type RunLauncherConfig =
  | { process: Record<string, never> }
  | { inProcess: Record<string, never> }
  | { queue: { queue: string; redisUrl?: string; prefix: string } };

export const runMonitoringSchema = z.strictObject({
  /** A STARTED run whose coordinator has not beaten for this long is resumed. Default 30 000. */
  heartbeatTimeoutMs: positiveInt.default(30_000),
  /** A run STARTING for longer than this is failed. Default 180 000. */
  startTimeoutMs: positiveInt.default(180_000),
  /** Resumes of one run before it is failed. Default 3. */
  maxResumeAttempts: z.number().int().min(0).default(3),
  /** How often the monitor loop looks at runs in progress. Default 5 000. */
  intervalMs: positiveInt.default(5_000),
});

export type RunMonitoringConfig = z.output<typeof runMonitoringSchema>;

export const daemonSchema = z.strictObject({
  /** How often each daemon records its heartbeat. Default 5 000. */
  heartbeatIntervalMs: positiveInt.default(5_000),
  /**
   * A daemon silent for this long is presumed dead: another daemon takes over the runs it was launching.
   * Default 30 000.
   */
  heartbeatTimeoutMs: positiveInt.default(30_000),
});

export type DaemonConfig = z.output<typeof daemonSchema>;

export const schedulerSchema = z.strictObject({
  /** How often the scheduler loop ticks. Default 1 000. */
  tickIntervalMs: positiveInt.default(1_000),
});

export type SchedulerConfig = z.output<typeof schedulerSchema>;

export const runLauncherSection = defineSection({
  name: 'runLauncher',
  description: 'how the daemon launches dequeued runs: process (default), inProcess or queue',
  schema: runLauncherSchema,
});

export const runMonitoringSection = defineSection({
  name: 'runMonitoring',
  description: 'heartbeat timeout, start timeout and resume attempts of run monitoring',
  schema: runMonitoringSchema,
});

export const daemonSection = defineSection({
  name: 'daemon',
  description: "the daemons' own heartbeat: how often, and when a silent one is presumed dead",
  schema: daemonSchema,
});

export const schedulerSection = defineSection({
  name: 'scheduler',
  description: "the scheduler loop's tick interval",
  schema: schedulerSchema,
});

/** The daemon's settings from a resolved stepwise.yaml (defaults for what it leaves out). */
export function daemonSettings(config: InstanceConfig | undefined): {
  runLauncher: RunLauncherConfig;
  runMonitoring: RunMonitoringConfig;
  daemon: DaemonConfig;
  scheduler: SchedulerConfig;
} {
  const read = <T>(section: { name: string; schema: z.ZodType<T> }): T =>
    (config?.sections?.[section.name] as T | undefined) ?? section.schema.parse({});
  const launcher = read(runLauncherSection);
  const set = Object.entries(launcher).filter(([, v]) => v !== undefined);
  return {
    runLauncher: (set.length > 0 ? Object.fromEntries(set) : { process: {} }) as RunLauncherConfig,
    runMonitoring: read(runMonitoringSection),
    daemon: read(daemonSection),
    scheduler: read(schedulerSection),
  };
}
