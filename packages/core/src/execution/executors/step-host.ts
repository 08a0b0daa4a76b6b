/**
 * The loop of a step host (a multiprocess executor's child process, or a worker's pool member: a thread or a
 * process). Loads the code once, then runs the steps the parent sends, one at a time, through `executeStep`;
 * events and IO go back to the parent over the channel. Resources are set up once per host and pipeline.
 */
import { hostname } from 'node:os';
import { type Logger, pino } from 'pino';
import type { PipelineDefinition } from '../../definitions/pipeline.js';
import { makeEvent, type StepwiseEvent, serializeError } from '../../events/events.js';
import { type LoadedDefinitions, loadDefinitions } from '../../location/load-definitions.js';
import type { ComputeLogManager } from '../../logs/compute-log-manager.js';
import { executeStep } from '../execute-step.js';
import { ResourceManager } from '../resource-manager.js';
import { pipelineToRun } from '../step-refusal.js';
import type { StepRuntime } from '../step-runtime.js';
import type { ChildMessage, InitMessage, ParentMessage, RunMessage } from './ipc-protocol.js';
import { ParentIOManager } from './parent-io-manager.js';

/** The host's side of its link to the parent: an IPC channel (process) or a MessagePort (thread). */
export interface StepHostChannel {
  /** What names this host in messages: `process 123`, `thread 4 of process 123`. */
  readonly label: string;
  connected(): boolean;
  /** Throws when the message cannot be cloned. */
  post(message: ChildMessage): void;
  onMessage(handler: (message: ParentMessage) => void): void;
  /** The parent is gone. */
  onDisconnect(handler: () => void): void;
  /** Resolves once what was written to stdout/stderr so far has been handed on. */
  flushOutput(): Promise<void>;
  exit(code: number): void;
}

interface Loaded {
  definitions: LoadedDefinitions;
  logger: Logger;
  workerId: string;
  /** The pipeline of a host that serves one run (a multiprocess executor's child). */
  only?: PipelineDefinition;
  captureLogs: boolean;
}

/** Runs steps for the parent on `channel` until told to exit or the parent is gone. */
export function serveSteps(channel: StepHostChannel): void {
  const send = (message: ChildMessage): void => {
    if (!channel.connected()) return;
    try {
      channel.post(message);
    } catch (error) {
      // Structured clone refused a value (a function in event metadata, say): send it as plain JSON data instead.
      if (message.type !== 'event') throw error;
      channel.post({ type: 'event', event: JSON.parse(JSON.stringify(message.event)) as StepwiseEvent });
    }
  };
  const io = new ParentIOManager({ connected: () => channel.connected(), send: (m) => channel.post(m) });
  /** The parent attributes this host's stdout/stderr to the step it runs; `ctx.log` lines go to stderr. */
  const pipedLogs: ComputeLogManager = {
    capture: (_runId, _stepKey, fn) => fn(),
    append(_runId, _stepKey, stream, chunk) {
      process[stream].write(chunk);
    },
    read: async () => undefined,
    list: async () => [],
    flush: async () => {},
  };
  const resources = new Map<string, ResourceManager>();
  let loaded: Promise<Loaded> | undefined;
  let current: { controller: AbortController; done: Promise<void> } | undefined;
  let exiting = false;

  const load = async (message: InitMessage, logger: Logger): Promise<Loaded> => {
    // The same loader as the CLI: .ts files without a build, pipelines from default or named exports.
    const definitions = await loadDefinitions(message.file);
    const only = message.run
      ? pipelineToRun({
          run: message.run,
          pipelines: definitions.pipelines,
          source: message.file,
          runner: `step ${channel.label}`,
        })
      : undefined;
    const workerId = message.workerId ?? `${hostname()}/${process.pid}`;
    return { definitions, logger, workerId, only, captureLogs: message.captureLogs };
  };

  const runtimeFor = (host: Loaded, message: RunMessage): StepRuntime => {
    const pipeline = host.only ?? host.definitions.pipelines.get(message.pipeline ?? '');
    if (!pipeline) {
      throw new Error(`internal: the step host was sent a step of pipeline '${message.pipeline}' its file lacks`);
    }
    let manager = resources.get(pipeline.name);
    if (!manager) {
      manager = new ResourceManager(pipeline, host.logger);
      resources.set(pipeline.name, manager);
    }
    return {
      pipeline,
      io,
      resources: manager,
      computeLogs: host.captureLogs ? pipedLogs : undefined,
      logger: host.logger,
      workerId: host.workerId,
    };
  };

  const runStep = async (message: RunMessage): Promise<void> => {
    const { task, attempt } = message;
    const controller = new AbortController();
    const emit = (event: StepwiseEvent) => send({ type: 'event', event });
    let finished!: () => void;
    current = { controller, done: new Promise((resolve) => (finished = resolve)) };
    try {
      let runtime: StepRuntime;
      try {
        if (!loaded) throw new Error('internal: the step host was sent a step before its init message');
        runtime = runtimeFor(await loaded, message);
      } catch (error) {
        // Without the code nothing can run: fail the step (a retry would load the same code, so none is offered).
        const text = error instanceof Error ? error.message : String(error);
        const meta = { stepKey: task.key, attempt, message: text };
        emit(makeEvent('STEP_FAILURE', task.runId, { error: serializeError(error) }, meta));
        return;
      }
      await executeStep(task, attempt, runtime, {
        signal: controller.signal,
        emit,
        resourceConfig: message.resourceConfig,
      });
    } finally {
      await channel.flushOutput();
      current = undefined;
      finished();
      send({ type: 'done' });
    }
  };

  const shutdown = async (code: number): Promise<void> => {
    if (!exiting) {
      exiting = true;
      current?.controller.abort(new Error('the step process is shutting down'));
      await current?.done;
      for (const manager of resources.values()) await manager.teardown();
      await channel.flushOutput();
    }
    channel.exit(code);
  };

  channel.onMessage((message) => {
    switch (message.type) {
      case 'init': {
        const logger = pino(
          { level: message.logLevel, base: { pid: process.pid } },
          pino.destination({ fd: 2, sync: true }),
        );
        loaded = load(message, logger);
        // A failure is reported to each step that asks for it.
        loaded.then(
          () => send({ type: 'ready' }),
          () => send({ type: 'ready' }),
        );
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
  });
  // The parent is gone (exited or killed): never outlive it. Resources get a bounded chance to tear down.
  channel.onDisconnect(() => {
    setTimeout(() => channel.exit(0), 2_000).unref();
    void shutdown(0);
  });
}

/** Resolves once what was written to this process's stdout/stderr so far has been handed to the pipes. */
export function flushStdio(): Promise<void> {
  const flush = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  return Promise.all([flush(process.stdout), flush(process.stderr)]).then(() => undefined);
}
