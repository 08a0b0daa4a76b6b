/**
 * Entry point of a step process: a multiprocess executor's child, or a `stepwise worker --isolation process` pool
 * member. Serves steps over the fork IPC channel (see step-host.ts).
 * Not imported by anything: the parent forks this file.
 */
import type { ChildMessage, ParentMessage } from './ipc-protocol.js';
import { flushStdio, serveSteps } from './step-host.js';

if (!process.send) {
  console.error('multiprocess-child is a step process of Stepwise; it must be forked with an IPC channel');
  process.exit(2);
}
serveSteps({
  label: `process ${process.pid}`,
  connected: () => process.connected,
  post: (message: ChildMessage) => {
    process.send?.(message);
  },
  onMessage: (handler) => process.on('message', (message) => handler(message as ParentMessage)),
  onDisconnect: (handler) => process.on('disconnect', handler),
  flushOutput: flushStdio,
  exit: (code) => process.exit(code),
});
// Ctrl-C reaches the whole process group; cancellation is the parent's decision, sent as an abort message.
process.on('SIGINT', () => {});
