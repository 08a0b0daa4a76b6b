import type { DaemonLoopDefinition } from './daemon.js';

/** Builds a loop for `stepwise daemon -f FILE` (the scheduler registers one); `file` is the `-f` file, if given. */
export type DaemonLoopFactory = (file: string | undefined) => DaemonLoopDefinition | undefined;

const factories: DaemonLoopFactory[] = [];

/** Adds a loop to every `stepwise daemon` started in this process (unless `--no-scheduler`). */
export function registerDaemonLoop(factory: DaemonLoopFactory): void {
  factories.push(factory);
}

export function registeredLoops(file: string | undefined): DaemonLoopDefinition[] {
  return factories.flatMap((f) => f(file) ?? []);
}
