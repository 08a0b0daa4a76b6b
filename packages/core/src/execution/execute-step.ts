import { type Logger, pino } from 'pino';
import { redactValue } from '../config/redact.js';
import type { UserEvent } from '../definitions/context.js';
import { isDynamicItem, type OpDefinition, type OutputDefinition, retryDelayMs } from '../definitions/op.js';
import { NotFoundError, StepwiseError, TypeCheckError } from '../errors/index.js';
import { type EventDataMap, type EventType, makeEvent, serializeError } from '../events/events.js';
import { mapLimit } from '../io/limit.js';
import { assertWireSafe } from '../io/wire-safe.js';
import type { OutputRef, ResolvedInput, StepTask } from '../plan/plan.js';
import type { StepExecutionOptions, StepOutcome, StepRuntime } from './step-runtime.js';

const MAPPING_KEY = /^[A-Za-z0-9_-]+$/;

/** The step was aborted: the run was canceled or the worker is shutting down. */
export class StepAbortedError extends StepwiseError {
  constructor(stepKey: string, reason: unknown) {
    super(
      'STEP_ABORTED',
      `step '${stepKey}' was aborted: ${reason instanceof Error ? reason.message : String(reason)}`,
      { misuse: false },
    );
  }
}

function describeZodError(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`)
    .join('; ');
}

/**
 * Executes one attempt of one step: loads inputs, builds resources, runs compute, checks and stores outputs.
 * The single step path of every executor — in-process, child process and remote worker call this.
 * Everything it learns is reported through `options.emit`; it never throws.
 */
export async function executeStep(
  task: StepTask,
  attempt: number,
  runtime: StepRuntime,
  options: StepExecutionOptions,
): Promise<StepOutcome> {
  const { runId, key: stepKey } = task;
  const { signal } = options;
  const extra = { stepKey, attempt, workerId: runtime.workerId };
  const emit = <T extends EventType>(type: T, data: EventDataMap[T], message?: string) =>
    options.emit(makeEvent(type, runId, data, message === undefined ? extra : { ...extra, message }));
  const started = performance.now();

  if (attempt > 1) emit('STEP_RESTARTED', { previousAttempt: attempt - 1 });
  emit('STEP_START', { planKey: task.planKey });

  const node = runtime.pipeline.nodes.get(task.planKey);
  const op: OpDefinition | undefined = node?.op;
  try {
    if (!node || !op || op.name !== task.op) {
      throw new NotFoundError(
        `step '${task.planKey}' (op '${task.op}') is not in pipeline '${runtime.pipeline.name}' as loaded by this process; is it running the same code as the coordinator?`,
      );
    }
    if (signal.aborted) throw new StepAbortedError(stepKey, signal.reason);
    const inputs: Record<string, unknown> = {};
    for (const [name, source] of Object.entries(task.inputs)) {
      const raw = await loadInput(runtime, source);
      const schema = op.ins[name];
      if (schema) {
        const parsed = schema.safeParse(raw);
        if (!parsed.success) {
          throw new TypeCheckError(
            `input '${name}' of step '${stepKey}' failed its type check: ${describeZodError(parsed.error)}`,
          );
        }
        inputs[name] = parsed.data;
      } else {
        inputs[name] = raw;
      }
      emit('STEP_INPUT', { input: name });
    }
    const resources = await runtime.resources.get(options.resourceConfig, op.requiredResources);

    const emitted = new Set<string>();
    const stores: Promise<void>[] = [];
    const definition = op;
    let log: Logger | undefined;
    const ctx = {
      // The plan records "no config" as null (JSON has no undefined).
      config: task.config === null ? undefined : task.config,
      runId,
      stepKey,
      attempt,
      mappingKey: task.mappingKey,
      workerId: runtime.workerId,
      signal,
      resources,
      get log(): Logger {
        log ??= stepLogger(runtime, task, attempt, (level, msg, fields) => emit('LOG', { level, msg, fields }, msg));
        return log;
      },
      output(name: string, value: unknown): void {
        const out = definition.outputs.find((o) => o.name === name);
        if (!out) throw new TypeCheckError(`step '${stepKey}' emitted unknown output '${name}'`);
        if (emitted.has(name)) throw new TypeCheckError(`step '${stepKey}' emitted output '${name}' twice`);
        emitted.add(name);
        const pending = storeOutput(runtime, task, out, value, attempt, emit);
        pending.catch(() => {});
        stores.push(pending);
      },
      emit(event: UserEvent): void {
        if (event?.kind !== 'materialization' || typeof event.assetKey !== 'string') {
          throw new TypeCheckError(
            `step '${stepKey}': ctx.emit takes { kind: 'materialization', assetKey, metadata? }`,
          );
        }
        emit('MATERIALIZATION', { assetKey: event.assetKey, description: event.description, metadata: event.metadata });
      },
    };

    const call = async () => definition.compute(ctx, inputs);
    const returned = runtime.computeLogs ? await runtime.computeLogs.capture(runId, stepKey, call) : await call();
    if (signal.aborted) throw new StepAbortedError(stepKey, signal.reason);

    const values = returnedOutputs(definition, stepKey, returned);
    for (const out of definition.outputs) {
      if (emitted.has(out.name)) {
        if (values.has(out.name)) {
          throw new TypeCheckError(
            `step '${stepKey}' emitted output '${out.name}' with ctx.output and also returned it`,
          );
        }
        continue;
      }
      if (!values.has(out.name) || (values.get(out.name) === undefined && out.optional)) {
        if (out.optional || out.dynamic) continue;
        throw new TypeCheckError(`step '${stepKey}' did not return its required output '${out.name}'`);
      }
      stores.push(storeOutput(runtime, task, out, values.get(out.name), attempt, emit));
    }
    await Promise.all(stores);
    emit('STEP_SUCCESS', { durationMs: performance.now() - started });
    return { status: 'SUCCESS' };
  } catch (caught) {
    const durationMs = performance.now() - started;
    const error =
      signal.aborted && !(caught instanceof StepAbortedError) ? new StepAbortedError(stepKey, signal.reason) : caught;
    const policy = op?.retry;
    if (!signal.aborted && policy && attempt <= policy.maxRetries) {
      const delayMs = retryDelayMs(policy, attempt);
      emit('STEP_UP_FOR_RETRY', { error: serializeError(error), delayMs, nextAttempt: attempt + 1 });
      return { status: 'RETRY', delayMs };
    }
    emit('STEP_FAILURE', { error: serializeError(error), durationMs }, errorMessage(error));
    return { status: signal.aborted ? 'CANCELED' : 'FAILURE' };
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Most loads or stores of one step pending at once: a fan-in or a dynamic output of 20,000 values goes through its
 * IO manager (files, Redis commands, IPC messages) this many at a time, not all at once.
 */
const MAX_PENDING_IO = 64;

async function loadInput(runtime: StepRuntime, source: ResolvedInput): Promise<unknown> {
  switch (source.from) {
    case 'config':
      return source.value;
    case 'one':
      return loadRef(runtime, source.ref);
    case 'many':
      return mapLimit(source.refs, MAX_PENDING_IO, (ref) => loadRef(runtime, ref));
  }
}

async function loadRef(runtime: StepRuntime, ref: OutputRef): Promise<unknown> {
  try {
    return await runtime.io.load(ref);
  } catch (error) {
    const where = `${ref.step}.${ref.output}${ref.mappingKey === undefined ? '' : `[${ref.mappingKey}]`}`;
    throw new NotFoundError(
      `input '${where}' of run ${ref.runId} could not be loaded from the IO manager: ${errorMessage(error)}`,
    );
  }
}

/** What compute returned, by output name. */
function returnedOutputs(op: OpDefinition, stepKey: string, returned: unknown): Map<string, unknown> {
  const values = new Map<string, unknown>();
  if (op.singleOutput) {
    if (returned !== undefined) values.set('result', returned);
    return values;
  }
  if (op.outputs.length === 0 || returned === undefined || returned === null) return values;
  if (typeof returned !== 'object' || Array.isArray(returned)) {
    throw new TypeCheckError(
      `step '${stepKey}' must return an object with its outputs (${op.outputs.map((o) => o.name).join(', ')}), got ${Array.isArray(returned) ? 'an array' : typeof returned}`,
    );
  }
  for (const [name, value] of Object.entries(returned)) {
    if (!op.outputs.some((o) => o.name === name)) {
      throw new TypeCheckError(`step '${stepKey}' returned unknown output '${name}'`);
    }
    values.set(name, value);
  }
  return values;
}

async function storeOutput(
  runtime: StepRuntime,
  task: StepTask,
  out: OutputDefinition,
  value: unknown,
  attempt: number,
  emit: <T extends EventType>(type: T, data: EventDataMap[T]) => void,
): Promise<void> {
  const check = (v: unknown, what: string) => {
    const parsed = out.schema.safeParse(v);
    if (!parsed.success) {
      throw new TypeCheckError(
        `${what} of step '${task.key}' failed its type check: ${describeZodError(parsed.error)}`,
      );
    }
    assertWireSafe(parsed.data, `${what} of step '${task.key}'`);
    return parsed.data;
  };
  if (!out.dynamic) {
    const data = check(value, `output '${out.name}'`);
    await runtime.io.store({ runId: task.runId, step: task.key, output: out.name }, data, { attempt });
    emit('STEP_OUTPUT', { output: out.name });
    return;
  }
  if (!Array.isArray(value)) {
    throw new TypeCheckError(`dynamic output '${out.name}' of step '${task.key}' must be an array of items`);
  }
  const items = value.map((item, index) =>
    isDynamicItem(item)
      ? { mappingKey: item.mappingKey, value: item.value }
      : { mappingKey: String(index), value: item },
  );
  const seen = new Set<string>();
  const checked = items.map(({ mappingKey, value: v }) => {
    if (typeof mappingKey !== 'string' || !MAPPING_KEY.test(mappingKey)) {
      throw new TypeCheckError(
        `dynamic output '${out.name}' of step '${task.key}': mapping key ${JSON.stringify(mappingKey)} must use letters, digits, '_' or '-'`,
      );
    }
    if (seen.has(mappingKey)) {
      throw new TypeCheckError(
        `dynamic output '${out.name}' of step '${task.key}': mapping key '${mappingKey}' is used twice`,
      );
    }
    seen.add(mappingKey);
    return { mappingKey, value: check(v, `item '${mappingKey}' of dynamic output '${out.name}'`) };
  });
  await mapLimit(checked, MAX_PENDING_IO, (c) =>
    runtime.io.store({ runId: task.runId, step: task.key, output: out.name, mappingKey: c.mappingKey }, c.value, {
      attempt,
    }),
  );
  for (const c of checked) emit('STEP_OUTPUT', { output: out.name, mappingKey: c.mappingKey });
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * The step's `ctx.log`: a pino logger whose lines become LOG events and land in the step's compute log.
 * Built on first use, since most steps never log.
 */
function stepLogger(
  runtime: StepRuntime,
  task: StepTask,
  attempt: number,
  onLine: (level: string, msg: string, fields: Record<string, unknown>) => void,
): Logger {
  const destination = {
    write(line: string): void {
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = undefined;
      }
      // Fields under secret keys (password, token, ...) and URL passwords never reach the compute log or LOG events.
      const safe = parsed === undefined ? undefined : redactValue(parsed);
      runtime.computeLogs?.append(task.runId, task.key, 'stderr', safe === parsed ? line : `${JSON.stringify(safe)}\n`);
      if (typeof safe !== 'object' || safe === null) {
        onLine('info', line.trim(), {});
        return;
      }
      const { level, msg, time: _t, pid: _p, hostname: _h, runId: _r, stepKey: _s, attempt: _a, ...fields } = safe;
      onLine(LEVELS[Number(level)] ?? String(level), typeof msg === 'string' ? msg : '', fields);
    },
  };
  return pino({ level: runtime.logger.level, base: { runId: task.runId, stepKey: task.key, attempt } }, destination);
}
