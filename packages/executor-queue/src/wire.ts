import { EVENT_TYPES, type StepTask, type StepwiseEvent } from '@stepwise/core';
import { pack, unpack } from 'msgpackr';
import { z } from 'zod';

/** Version of the job payload and stream entry formats; bumped on incompatible changes. */
export const WIRE_VERSION = 1;

/** Largest stream entry or job payload accepted, so a hostile message cannot exhaust memory. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Where a run's step outputs live, as told to workers in each job. */
export type IOLocation = { kind: 'redis' } | { kind: 'fs'; dir: string };

/** The BullMQ job payload of one step attempt. Names the run, step and code to load; never carries code. */
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
}

const outputRef = z.strictObject({
  runId: z.string(),
  step: z.string(),
  output: z.string(),
  mappingKey: z.string().optional(),
});

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
  runId: z.string().min(1),
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
});

/** A job payload or stream entry that is not what Stepwise writes. */
export class MalformedMessageError extends Error {
  readonly code = 'MALFORMED_MESSAGE';
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** Validates a job's data as read from BullMQ. */
export function parseJobData(data: unknown): StepJobData {
  const parsed = jobSchema.safeParse(data);
  if (!parsed.success) throw new MalformedMessageError(`malformed step job: ${describe(parsed.error)}`);
  if (parsed.data.task.runId !== parsed.data.runId)
    throw new MalformedMessageError('malformed step job: run ids differ');
  return parsed.data as StepJobData;
}

const eventSchema = z.object({
  type: z.enum(EVENT_TYPES),
  runId: z.string().min(1),
  timestamp: z.number(),
  stepKey: z.string().optional(),
  attempt: z.number().int().min(1).optional(),
  workerId: z.string().optional(),
  message: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});

/** Stream entry fields: `e` the msgpack event, `i` its unique id (dedupes a retried XADD). */
export function encodeEventEntry(event: StepwiseEvent, id: string): [string, Buffer, string, string] {
  return ['e', pack(event), 'i', id];
}

/** Decodes and validates a stream entry's fields (as read with XREAD in buffer mode). */
export function decodeEventEntry(fields: Buffer[]): { id: string; event: StepwiseEvent } {
  let raw: Buffer | undefined;
  let id: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]?.toString();
    if (name === 'e') raw = fields[i + 1];
    else if (name === 'i') id = fields[i + 1]?.toString();
  }
  if (!raw || id === undefined) throw new MalformedMessageError('malformed event entry: fields e and i are required');
  if (raw.length > MAX_MESSAGE_BYTES) throw new MalformedMessageError(`malformed event entry: ${raw.length} bytes`);
  let decoded: unknown;
  try {
    decoded = unpack(raw);
  } catch (error) {
    throw new MalformedMessageError(`malformed event entry: not msgpack (${(error as Error).message})`);
  }
  const parsed = eventSchema.safeParse(decoded);
  if (!parsed.success) throw new MalformedMessageError(`malformed event entry: ${describe(parsed.error)}`);
  return { id, event: parsed.data as unknown as StepwiseEvent };
}
