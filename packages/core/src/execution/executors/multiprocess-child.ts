/**
 * Entry point of a multiprocess executor's step process. Loads the pipeline's code once, then runs the steps the
 * parent sends, one at a time, through `executeStep`; events and IO go back to the parent over IPC.
 * Not imported by anything: the parent forks this file.
 */
import { hostname } from 'node:os';
import { type Logger, pino } from 'pino';
import { makeEvent, type SerializedError, type StepwiseEvent, serializeError } from '../../events/events.js';
import type { IOManager } from '../../io/io-manager.js';
import { loadDefinitions } from '../../location/load-definitions.js';
import type { ComputeLogManager } from '../../logs/compute-log-manager.js';
import type { OutputRef } from '../../plan/plan.js';
import { executeStep } from '../execute-step.js';
import { ResourceManager } from '../resource-manager.js';
import { pipelineToRun } from '../step-refusal.js';
import type { StepRuntime } from '../step-runtime.js';
import {
  type ChildMessage,
  type InitMessage,
  type IORequestMessage,
  type IOResultMessage,
  type ParentMessage,
  type RunMessage,
  StepProcessIpcError,
} from './ipc-protocol.js';

const workerId = `${hostname()}/${process.pid}`;

function send(message: ChildMessage): void {
  if (!process.connected || !process.send) return;
  try {
    process.send(message);
  } catch (error) {
    // Structured clone refused a value (a function in event metadata, say): send it as plain JSON data instead.
    if (message.type !== 'event') throw error;
    process.send({ type: 'event', event: JSON.parse(JSON.stringify(message.event)) as StepwiseEvent });
  }
}

function rebuildError(error: SerializedError): Error {
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  if (error.stack) rebuilt.stack = error.stack;
  if (error.code) Object.assign(rebuilt, { code: error.code });
  return rebuilt;
}

/** Forwards every call to the parent's IO manager, so any IO manager works (even an in-memory one). */
class ParentIOManager implements IOManager {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  store(ref: OutputRef, value: unknown): Promise<void> {
    return this.request({ type: 'io', id: this.nextId++, op: 'store', ref, value }).then(() => undefined);
  }

  load(ref: OutputRef): Promise<unknown> {
    return this.request({ type: 'io', id: this.nextId++, op: 'load', ref });
  }

  async has(ref: OutputRef): Promise<boolean> {
    return (await this.request({ type: 'io', id: this.nextId++, op: 'has', ref })) === true;
  }

  answer(message: IOResultMessage): void {
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.ok) waiter.resolve(message.value);
    else waiter.reject(rebuildError(message.error));
  }

  private request(message: IORequestMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (!process.connected) {
        reject(new StepProcessIpcError('the coordinator process is gone'));
        return;
      }
      this.pending.set(message.id, { resolve, reject });
      try {
        send(message);
      } catch (error) {
        this.pending.delete(message.id);
        const why = error instanceof Error ? error.message : String(error);
        reject(new StepProcessIpcError(`the value could not be sent to the coordinator process: ${why}`));
      }
    });
  }
}

/**
 * The parent attributes this process's stdout/stderr to the step it runs, so capturing is just letting writes
 * through; `ctx.log` lines are written to stderr to land in the same place.
 */
const pipedLogs: ComputeLogManager = {
  capture: (_runId, _stepKey, fn) => fn(),
  append(_runId, _stepKey, stream, chunk) {
    process[stream].write(chunk);
  },
  read: async () => undefined,
  list: async () => [],
  flush: async () => {},
};

let loaded: Promise<StepRuntime> | undefined;
let resources: ResourceManager | undefined;
let current: { controller: AbortController; done: Promise<void> } | undefined;
let exiting = false;
const io = new ParentIOManager();

async function load(message: InitMessage, logger: Logger): Promise<StepRuntime> {
  // The same loader as the CLI: .ts files without a build, pipelines from default or named exports.
  const definitions = await loadDefinitions(message.file);
  const pipeline = pipelineToRun({
    run: { runId: message.runId, pipeline: message.pipeline, fingerprint: message.fingerprint },
    pipelines: definitions.pipelines,
    source: message.file,
    runner: `step process ${process.pid}`,
  });
  resources = new ResourceManager(pipeline, logger);
  return {
    pipeline,
    io,
    resources,
    computeLogs: message.captureLogs ? pipedLogs : undefined,
    logger,
    workerId,
  };
}

/** Resolves once what was written to stdout/stderr so far has been handed to the pipes. */
function flushOutput(): Promise<void> {
  const flush = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  return Promise.all([flush(process.stdout), flush(process.stderr)]).then(() => undefined);
}

async function runStep(message: RunMessage): Promise<void> {
  const { task, attempt } = message;
  const controller = new AbortController();
  const emit = (event: StepwiseEvent) => send({ type: 'event', event });
  let finished!: () => void;
  current = { controller, done: new Promise((resolve) => (finished = resolve)) };
  try {
    let runtime: StepRuntime;
    try {
      if (!loaded) throw new Error('internal: the step process was sent a step before its init message');
      runtime = await loaded;
    } catch (error) {
      // Without the code nothing can run: fail the step (a retry would load the same code, so none is offered).
      emit(
        makeEvent(
          'STEP_FAILURE',
          task.runId,
          { error: serializeError(error) },
          {
            stepKey: task.key,
            attempt,
            workerId,
            message: error instanceof Error ? error.message : String(error),
          },
        ),
      );
      return;
    }
    await executeStep(task, attempt, runtime, {
      signal: controller.signal,
      emit,
      resourceConfig: message.resourceConfig,
    });
  } finally {
    await flushOutput();
    current = undefined;
    finished();
    send({ type: 'done' });
  }
}

async function shutdown(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    current?.controller.abort(new Error('the step process is shutting down'));
    await current?.done;
    await resources?.teardown();
    await flushOutput();
  }
  process.exit(code);
}

function onMessage(message: ParentMessage): void {
  switch (message.type) {
    case 'init': {
      const logger = pino(
        { level: message.logLevel, base: { pid: process.pid } },
        pino.destination({ fd: 2, sync: true }),
      );
      loaded = load(message, logger);
      // Reported to each step that asks for it.
      loaded.catch(() => {});
      break;
    }
    case 'run':
      void runStep(message);
      break;
    case 'abort':
      current?.controller.abort(new Error(message.reason));
      break;
    case 'io-result':
      io.answer(message);
      break;
    case 'exit':
      void shutdown(0);
      break;
  }
}

if (!process.send) {
  console.error(
    'multiprocess-child is the step process of the multiprocess executor; it must be forked with an IPC channel',
  );
  process.exit(2);
}
process.on('message', (message) => onMessage(message as ParentMessage));
// The coordinator is gone (exited or killed): never outlive it. Resources get a bounded chance to tear down.
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 2_000).unref();
  void shutdown(0);
});
// Ctrl-C reaches the whole process group; cancellation is the coordinator's decision, sent as an abort message.
process.on('SIGINT', () => {});
