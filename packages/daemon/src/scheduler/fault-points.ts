/**
 * `STEPWISE_SCHEDULER_FAULT=POINT`: the process SIGKILLs itself at that point of a tick, so the crash tests kill a
 * scheduler exactly there (docs/scheduler.md): after the claim, after shouldRun/runConfig, after the run is stored,
 * after it is submitted (queued or launched), after the tick is finished (before the cursor moves).
 */
export const FAULT_ENV = 'STEPWISE_SCHEDULER_FAULT';

export const FAULT_POINTS = ['claimed', 'evaluated', 'run-created', 'run-submitted', 'tick-finished'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

// Read once: a process's fault point is set when it starts (reading process.env per tick showed in profiles).
const armed = process.env[FAULT_ENV];

export function faultPoint(point: FaultPoint): void {
  if (armed === point) process.kill(process.pid, 'SIGKILL');
}
