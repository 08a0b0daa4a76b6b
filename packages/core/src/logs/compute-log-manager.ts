/** Captures each step's stdout/stderr and `ctx.log` lines, per run and step. */
export interface ComputeLogManager {
  /** Runs `fn` with writes to process.stdout/stderr inside it (async context included) captured for the step. */
  capture<T>(runId: string, stepKey: string, fn: () => Promise<T>): Promise<T>;
  /** Appends a line (e.g. a ctx.log record) to the step's log. */
  append(runId: string, stepKey: string, stream: 'stdout' | 'stderr', chunk: string): void;
  /** The captured text, or undefined when the step logged nothing. */
  read(runId: string, stepKey: string, stream?: 'stdout' | 'stderr'): Promise<string | undefined>;
  /** Step keys with captured logs for a run. */
  list(runId: string): Promise<string[]>;
  flush(): Promise<void>;
}
