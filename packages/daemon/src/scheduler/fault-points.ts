/**
 * `STEPWISE_SCHEDULER_FAULT=POINT`: the process SIGKILLs itself at that point of a tick, so the crash tests kill a
 * scheduler exactly there (docs/scheduler.md): after the claim, after shouldRun/runConfig, after the run is stored,
 * after it is submitted (queued or launched), after the tick is finished (before the cursor moves).
 */
export const FAULT_ENV = 'STEPWISE_SCHEDULER_FAULT';

export const FAULT_POINTS = ['claimed', 'evaluated', 'run-created', 'run-submitted', 'tick-finished'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export function faultPoint(point: FaultPoint): void {
  if (process.env[FAULT_ENV] === point) process.kill(process.pid, 'SIGKILL');
}
