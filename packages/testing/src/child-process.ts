/** Ending child processes: every helper here stops its children the same way and never leaves one behind. */
import type { ChildProcess } from 'node:child_process';
import { WaitTimeoutError } from './wait.js';

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Resolves with the exit code (or signal name) once `child` exits; rejects after `timeoutMs`. */
export function exitCode(child: ChildProcess, timeoutMs: number, what: string): Promise<number | string> {
  const result = () => child.exitCode ?? child.signalCode ?? -1;
  if (!isRunning(child)) return Promise.resolve(result());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      reject(new WaitTimeoutError(what, timeoutMs));
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(result());
    };
    child.once('exit', onExit);
  });
}

export interface StopOptions {
  /** How to ask the process to stop: a signal (default SIGTERM) or a function (e.g. an IPC message). */
  ask?: NodeJS.Signals | ((child: ChildProcess) => void);
  /** SIGKILL after this long (default 5 s). */
  graceMs?: number;
}

/** Asks `child` to stop, SIGKILLs it after the grace period, and resolves once it has exited. */
export async function stopProcess(child: ChildProcess, options: StopOptions = {}): Promise<void> {
  if (!isRunning(child)) return;
  const done = exited(child);
  const ask = options.ask ?? 'SIGTERM';
  if (typeof ask === 'function') ask(child);
  else child.kill(ask);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 5_000);
  await done;
  clearTimeout(timer);
}

const owned = new Set<ChildProcess>();

/** How many children started through {@link killOnExit} (every helper here) are still running. */
export function liveChildren(): number {
  return [...owned].filter(isRunning).length;
}
const killOwned = () => {
  for (const child of owned) if (isRunning(child)) child.kill('SIGKILL');
};

/**
 * SIGKILLs `child` if this process exits first (its children have no IPC channel to notice). One process 'exit'
 * listener serves every child.
 */
export function killOnExit(child: ChildProcess): void {
  if (owned.size === 0) process.once('exit', killOwned);
  owned.add(child);
  child.once('exit', () => {
    owned.delete(child);
    if (owned.size === 0) process.off('exit', killOwned);
  });
}
