import {
  EVENT_TYPES,
  type OutputRef,
  type PlanOutput,
  type ResolvedInput,
  type RetryPolicy,
  type StepTask,
  type StepwiseEvent,
} from '@stepwise/core';
import { pack, unpack } from 'msgpackr';
import { z } from 'zod';
import { MalformedMessageError } from './errors/malformed-message-error.js';

/** Version of the job payload and stream entry formats; bumped on incompatible changes (3: `batch` became `peers`). */
export const WIRE_VERSION = 3;

/** Largest stream entry or job payload accepted, so a hostile message cannot exhaust memory. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Where a run's step outputs live, as told to workers in each job. */
export type IOLocation = { kind: 'redis' } | { kind: 'fs'; dir: string };

/**
 * One job as both sides use it (the payload in BullMQ is its compact form, see encodeJobData). Names the run, steps
 * and code to load; never carries code. A job is a bundle of steps: its lead (`task`, whose attempt names the job,
 * see jobIdOf) and its members, the steps of its `chain` and its `peers`.
 */
export interface StepJobData {
  v: typeof WIRE_VERSION;
  runId: string;
  pipeline: string;
  /** The plan's fingerprint; a worker whose code has another refuses the step. */
  fingerprint: string;
  attempt: number;
  task: StepTask;
  /** The run's resource configs. */
  resources: Record<string, unknown>;
  io: IOLocation;
  /**
   * Small input values the coordinator already holds (sent by the worker that produced them), base64 msgpack, keyed
   * relative to the job's run (see inlineKey): the worker skips a Redis round trip per input. The IO manager stays
   * the source of truth.
   */
  inline?: Record<string, string>;
  /**
   * Members run right after the lead, in order, each once the one before it succeeded: each the only step
   * downstream of the previous, reading only its outputs, on the same queue. A chain does not round-trip through
   * the coordinator.
   */
  chain?: StepTask[];
  /**
   * Members independent of the lead and of each other (attempt 1 each), run one after another after the lead and
   * its chain, whatever the others' outcome: ready steps share a job's queue overhead (see bundle-policy.ts).
   */
  peers?: StepTask[];
}

/**
 * An output ref in a job payload: the step key alone for output `result` of the job's own run (a fan-in of 100,000
 * is then 100,000 short strings, not 100,000 objects that each repeat the run id), else the ref without `runId`
 * when it is the job's run.
 */
type WireRef = string | { runId?: string; step: string; output: string; mappingKey?: string };

const DEFAULT_OUTPUT = 'result';

const outputRef = z.union([
  z.string().min(1),
  z.strictObject({
    runId: z.string().min(1).optional(),
    step: z.string().min(1),
    output: z.string().min(1),
    mappingKey: z.string().optional(),
  }),
]);

const resolvedInput = z.discriminatedUnion('from', [
  z.strictObject({ from: z.literal('one'), ref: outputRef }),
  z.strictObject({ from: z.literal('many'), refs: z.array(outputRef) }),
  z.strictObject({ from: z.literal('config'), value: z.unknown() }),
]);

const retryPolicy = z.object({
  maxRetries: z.number().int().min(0),
  delayMs: z.number().min(0).optional(),
  backoff: z.enum(['fixed', 'linear', 'exponential']).optional(),
  jitter: z.boolean().optional(),
  maxDelayMs: z.number().min(0).optional(),
});

const stepTask = z.strictObject({
  key: z.string().min(1),
  planKey: z.string().min(1),
  op: z.string().min(1),
  mappingKey: z.string().optional(),
  inputs: z.record(z.string(), resolvedInput),
  outputs: z.array(z.strictObject({ name: z.string(), optional: z.boolean(), dynamic: z.boolean() })),
  config: z.unknown(),
  tags: z.record(z.string(), z.string()),
  retry: retryPolicy.optional(),
});

const jobSchema = z.strictObject({
  v: z.literal(WIRE_VERSION),
  runId: z.string().min(1),
  pipeline: z.string().min(1),
  fingerprint: z.string().min(1),
  attempt: z.number().int().min(1),
  task: stepTask,
  resources: z.record(z.string(), z.unknown()),
  io: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('redis') }),
    z.strictObject({ kind: z.literal('fs'), dir: z.string().min(1) }),
  ]),
  inline: z.record(z.string(), z.string()).optional(),
  chain: z.array(stepTask).max(1_000).optional(),
  peers: z.array(stepTask).max(1_000).optional(),
});

/** The key of an output of the job's run in StepJobData.inline: `step/output`, `step/output[mappingKey]`. */
export function inlineKey(ref: OutputRef): string {
  return ref.mappingKey === undefined ? `${ref.step}/${ref.output}` : `${ref.step}/${ref.output}[${ref.mappingKey}]`;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

type WireTask = z.infer<typeof stepTask>;
type WireJobData = z.infer<typeof jobSchema>;

/*
 * The schema is tied to StepTask at compile time: tsc fails here when a field is added, removed or retyped on one
 * side only. A task travels without its run id (the job names it once) and with refs in their WireRef form.
 */
type WireRefObject = Omit<OutputRef, 'runId'> & { runId?: string };
type ToWire<I> = I extends { ref: OutputRef }
  ? Omit<I, 'ref'> & { ref: string | WireRefObject }
  : I extends { refs: OutputRef[] }
    ? Omit<I, 'refs'> & { refs: Array<string | WireRefObject> }
    : I;
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
/** A and B accept the same values and name the same keys (assignability alone misses an optional field). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? SameKeys<A, B> : false) : false;
type AllTrue<T extends true[]> = T;
export type WireMatchesStepTask = AllTrue<
  [
    Same<WireTask, Omit<StepTask, 'runId' | 'inputs'> & { inputs: Record<string, ToWire<ResolvedInput>> }>,
    Same<z.infer<typeof resolvedInput>, ToWire<ResolvedInput>>,
    Same<Exclude<z.infer<typeof outputRef>, string>, WireRefObject>,
    Same<WireTask['outputs'][number], PlanOutput>,
    Same<NonNullable<WireTask['retry']>, RetryPolicy>,
  ]
>;

function encodeRef(ref: OutputRef, runId: string): WireRef {
  if (ref.runId !== runId) return ref;
  if (ref.output === DEFAULT_OUTPUT && ref.mappingKey === undefined) return ref.step;
  return ref.mappingKey === undefined
    ? { step: ref.step, output: ref.output }
    : { step: ref.step, output: ref.output, mappingKey: ref.mappingKey };
}

function decodeRef(ref: WireRef, runId: string): OutputRef {
  if (typeof ref === 'string') return { runId, step: ref, output: DEFAULT_OUTPUT };
  const decoded: OutputRef = { runId: ref.runId ?? runId, step: ref.step, output: ref.output };
  if (ref.mappingKey !== undefined) decoded.mappingKey = ref.mappingKey;
  return decoded;
}

function encodeTask(task: StepTask): WireTask {
  const { runId, ...rest } = task;
  const inputs: Record<string, z.infer<typeof resolvedInput>> = {};
  for (const name in task.inputs) {
    const input = task.inputs[name] as ResolvedInput;
    if (input.from === 'one') inputs[name] = { from: 'one', ref: encodeRef(input.ref, runId) };
    else if (input.from === 'many') inputs[name] = { from: 'many', refs: input.refs.map((r) => encodeRef(r, runId)) };
    else inputs[name] = input;
  }
  return { ...rest, inputs };
}

function decodeTask(task: WireTask, runId: string): StepTask {
  const inputs: Record<string, ResolvedInput> = {};
  for (const name in task.inputs) {
    const input = task.inputs[name] as WireTask['inputs'][string];
    if (input.from === 'one') inputs[name] = { from: 'one', ref: decodeRef(input.ref, runId) };
    else if (input.from === 'many') inputs[name] = { from: 'many', refs: input.refs.map((r) => decodeRef(r, runId)) };
    else inputs[name] = { from: 'config', value: input.value };
  }
  return { runId, ...task, inputs } as StepTask;
}

/**
 * The job payload BullMQ stores for `data`: the run id once, not in every task and ref, since every byte is
 * stringified by the coordinator, copied by Redis and parsed by a worker (a wide fan-in names many refs).
 */
export function encodeJobData(data: StepJobData): WireJobData {
  const { task, chain, peers, ...rest } = data;
  const wire: WireJobData = { ...rest, task: encodeTask(task) };
  if (chain) wire.chain = chain.map(encodeTask);
  if (peers) wire.peers = peers.map(encodeTask);
  return wire;
}

/** Validates a job's payload as read from BullMQ (see encodeJobData) and expands it. */
export function parseJobData(data: unknown): StepJobData {
  const parsed = jobSchema.safeParse(data);
  if (!parsed.success) throw new MalformedMessageError(`malformed step job: ${describe(parsed.error)}`);
  const { task, chain, peers, ...rest } = parsed.data;
  const { runId } = rest;
  const job: StepJobData = { ...rest, task: decodeTask(task, runId) };
  if (chain) job.chain = chain.map((t) => decodeTask(t, runId));
  if (peers) job.peers = peers.map((t) => decodeTask(t, runId));
  return job;
}

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isError = (v: unknown) => isObj(v) && isStr(v.name) && isStr(v.message);

/** What each type's `data` must hold for the coordinator to act on it. */
const DATA_CHECKS: Partial<Record<string, (d: Record<string, unknown>) => boolean>> = {
  STEP_INPUT: (d) => isStr(d.input),
  STEP_OUTPUT: (d) => isStr(d.output) && (d.mappingKey === undefined || isStr(d.mappingKey)),
  STEP_SUCCESS: (d) => isNum(d.durationMs),
  STEP_FAILURE: (d) => isError(d.error),
  STEP_UP_FOR_RETRY: (d) =>
    isError(d.error) &&
    isNum(d.delayMs) &&
    d.delayMs >= 0 &&
    Number.isInteger(d.nextAttempt) &&
    Number(d.nextAttempt) > 1,
  STEP_SKIPPED: (d) => isStr(d.reason),
  STEP_RESTARTED: (d) => isNum(d.previousAttempt),
  LOG: (d) => isStr(d.level) && isStr(d.msg),
  MATERIALIZATION: (d) => isStr(d.assetKey),
  ENGINE_EVENT: (d) => isStr(d.kind),
};

/**
 * Checks a decoded event by hand: it runs for every event the coordinator reads, where a schema library
 * costs more than the rest of the read path.
 */
function checkEvent(value: unknown): string | undefined {
  if (!isObj(value)) return 'not an object';
  const { type, runId, timestamp, stepKey, attempt, workerId, message, data } = value;
  if (!isStr(type) || !EVENT_TYPE_SET.has(type)) return `unknown type ${JSON.stringify(type)}`;
  if (!isStr(runId) || runId.length === 0) return 'runId: expected a string';
  if (!isNum(timestamp)) return 'timestamp: expected a number';
  if (workerId !== undefined && !isStr(workerId)) return 'workerId: expected a string';
  if (message !== undefined && !isStr(message)) return 'message: expected a string';
  if (!isObj(data)) return 'data: expected an object';
  if (type.startsWith('STEP_')) {
    if (!isStr(stepKey) || stepKey.length === 0) return 'stepKey: expected a string';
    if (!Number.isInteger(attempt) || Number(attempt) < 1) return 'attempt: expected an integer >= 1';
  } else {
    if (stepKey !== undefined && !isStr(stepKey)) return 'stepKey: expected a string';
    if (attempt !== undefined && (!Number.isInteger(attempt) || Number(attempt) < 1))
      return 'attempt: expected an integer >= 1';
  }
  if (DATA_CHECKS[type]?.(data) === false) return `data of ${type} lacks its fields`;
  return undefined;
}

/** Most events in one stream entry. */
export const MAX_EVENTS_PER_ENTRY = 10_000;

/**
 * Stream entry fields: `e` the msgpack list of events (the events one producer wrote for one run in one tick),
 * `i` the entry's unique id `<producer>:<seq>` (dedupes a retried XADD).
 */
export function encodeEventEntry(
  events: readonly StepwiseEvent[],
  id: string,
  values?: readonly InlineValue[],
): Array<string | Buffer> {
  const fields: Array<string | Buffer> = ['e', pack(events), 'i', id];
  if (values && values.length > 0) fields.push('v', pack(values));
  return fields;
}

/** Most events and values the sender puts in one entry: a fifth of what the receiver takes, for headroom. */
const EVENTS_PER_SENT_ENTRY = MAX_EVENTS_PER_ENTRY / 5;
const VALUES_PER_SENT_ENTRY = 2_000;

interface EntryChunk {
  events: StepwiseEvent[];
  values: InlineValue[];
}

/**
 * Splits a turn's events of one run (and the values sent with them) into entries the receiver takes: at most
 * 2,000 events and 2,000 values (8 MB) each, and an entry whose events pack to more than MAX_MESSAGE_BYTES is halved.
 * Values go at least as early as the events that announce them: each value precedes its STEP_OUTPUT, so the k-th
 * value's event is at index k or later, and entry n carries values and events from n * 2,000 on.
 */
export function chunkEventEntries(events: readonly StepwiseEvent[], values: readonly InlineValue[]): EntryChunk[] {
  const chunks: EntryChunk[] = [];
  const count = Math.max(1, Math.ceil(events.length / EVENTS_PER_SENT_ENTRY));
  for (let n = 0; n < count; n++) {
    const last = n === count - 1;
    chunks.push({
      events: events.slice(n * EVENTS_PER_SENT_ENTRY, (n + 1) * EVENTS_PER_SENT_ENTRY),
      values: values.slice(n * VALUES_PER_SENT_ENTRY, last ? values.length : (n + 1) * VALUES_PER_SENT_ENTRY),
    });
  }
  return chunks.flatMap((chunk) => halveWhileTooLarge(chunk));
}

function halveWhileTooLarge(chunk: EntryChunk): EntryChunk[] {
  if (chunk.events.length < 2 || pack(chunk.events).length <= MAX_MESSAGE_BYTES) return [chunk];
  const half = Math.ceil(chunk.events.length / 2);
  return [
    ...halveWhileTooLarge({ events: chunk.events.slice(0, half), values: chunk.values }),
    ...halveWhileTooLarge({ events: chunk.events.slice(half), values: [] }),
  ];
}

/** A small output value travelling with its STEP_OUTPUT event (field `v` of an entry). */
export interface InlineValue {
  /** `refKey` of the output. */
  key: string;
  attempt: number;
  bytes: Uint8Array;
}

/** Values at most this large (encoded) travel inline with their events and jobs. */
export const MAX_INLINE_BYTES = 4_096;

function decodeValues(raw: Buffer | undefined): InlineValue[] {
  if (!raw) return [];
  let decoded: unknown;
  try {
    decoded = unpack(raw);
  } catch (error) {
    throw new MalformedMessageError(`malformed event entry: values are not msgpack (${(error as Error).message})`);
  }
  if (!Array.isArray(decoded)) throw new MalformedMessageError('malformed event entry: values must be a list');
  for (const v of decoded) {
    if (!isObj(v) || !isStr(v.key) || !Number.isInteger(v.attempt) || !(v.bytes instanceof Uint8Array)) {
      throw new MalformedMessageError('malformed event entry: a value lacks key, attempt or bytes');
    }
    if (v.bytes.length > MAX_INLINE_BYTES) throw new MalformedMessageError('malformed event entry: value too large');
  }
  return decoded as InlineValue[];
}

/** Decodes and validates a stream entry's fields (as read with XREAD in buffer mode). */
export function decodeEventEntry(fields: Buffer[]): { id: string; events: StepwiseEvent[]; values: InlineValue[] } {
  let raw: Buffer | undefined;
  let id: string | undefined;
  let rawValues: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]?.toString();
    if (name === 'e') raw = fields[i + 1];
    else if (name === 'i') id = fields[i + 1]?.toString();
    else if (name === 'v') rawValues = fields[i + 1];
  }
  if (!raw || id === undefined) throw new MalformedMessageError('malformed event entry: fields e and i are required');
  if (raw.length > MAX_MESSAGE_BYTES) throw new MalformedMessageError(`malformed event entry: ${raw.length} bytes`);
  let decoded: unknown;
  try {
    decoded = unpack(raw);
  } catch (error) {
    throw new MalformedMessageError(`malformed event entry: not msgpack (${(error as Error).message})`);
  }
  const events = Array.isArray(decoded) ? decoded : [decoded];
  if (events.length === 0 || events.length > MAX_EVENTS_PER_ENTRY) {
    throw new MalformedMessageError(`malformed event entry: ${events.length} events`);
  }
  for (const [i, event] of events.entries()) {
    const problem = checkEvent(event);
    if (problem)
      throw new MalformedMessageError(`malformed event entry: ${events.length > 1 ? `event ${i}: ` : ''}${problem}`);
  }
  return { id, events: events as StepwiseEvent[], values: decodeValues(rawValues) };
}
