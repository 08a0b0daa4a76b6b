import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { type ChildMessage, type ParentMessage, stepHostEntry, stepHostExecArgv } from '@stepwise/core';

/** The worker's end of one step host: a thread or a child process running core's step host loop. */
export interface HostTransport {
  /** `thread 3`, `process 1234`: what a killed step's message names. */
  readonly label: string;
  /** False once the host is gone or the message could not be cloned. */
  post(message: ParentMessage): boolean;
  onMessage(handler: (message: ChildMessage) => void): void;
  /** Once, when the host is gone; `how` says how it ended. */
  onExit(handler: (how: string) => void): void;
  /** Ends the host at once: terminates the thread, SIGKILLs the process. */
  kill(): void;
}

export function startThread(): HostTransport {
  const worker = new Worker(stepHostEntry('thread'), { execArgv: stepHostExecArgv() });
  let alive = true;
  worker.once('exit', () => {
    alive = false;
  });
  // An uncaught error in the thread ends it: its 'exit' follows, which fails the step it ran.
  worker.on('error', () => {});
  return {
    label: `thread ${worker.threadId}`,
    post: (message) => {
      if (!alive) return false;
      try {
        worker.postMessage(message);
        return true;
      } catch {
        return false;
      }
    },
    onMessage: (handler) => worker.on('message', handler),
    onExit: (handler) => worker.once('exit', (code) => handler(`exit code ${code}`)),
    kill: () => void worker.terminate(),
  };
}

export function startProcess(): HostTransport {
  const child = fork(stepHostEntry('process'), [], {
    execArgv: stepHostExecArgv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  child.on('error', () => {});
  return {
    label: `process ${child.pid}`,
    post: (message) => {
      if (!child.connected) return false;
      try {
        child.send(message);
        return true;
      } catch {
        return false;
      }
    },
    onMessage: (handler) => child.on('message', (message) => handler(message as ChildMessage)),
    onExit: (handler) =>
      child.once('exit', (code, signal) => handler(signal ? `signal ${signal}` : `exit code ${code}`)),
    kill: () => void child.kill('SIGKILL'),
  };
}
