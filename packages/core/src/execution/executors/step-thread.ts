/**
 * Entry point of a step thread: a `stepwise worker --isolation thread` pool member, a worker_threads Worker of the
 * worker process. Serves steps over its parent port (see step-host.ts).
 * Not imported by anything: the worker starts a thread on this file.
 */
import { isMainThread, parentPort, threadId } from 'node:worker_threads';
import type { ChildMessage, ParentMessage } from './ipc-protocol.js';
import { flushStdio, serveSteps } from './step-host.js';

if (isMainThread || !parentPort) {
  console.error('step-thread is a step thread of a Stepwise worker; it must be started as a worker_threads Worker');
  process.exit(2);
}
const port = parentPort;
let open = true;
port.on('close', () => {
  open = false;
});
serveSteps({
  label: `thread ${threadId} of process ${process.pid}`,
  connected: () => open,
  post: (message: ChildMessage) => port.postMessage(message),
  onMessage: (handler) => port.on('message', (message) => handler(message as ParentMessage)),
  onDisconnect: (handler) => port.on('close', handler),
  flushOutput: flushStdio,
  // In a worker thread, process.exit ends the thread only.
  exit: (code) => process.exit(code),
});
