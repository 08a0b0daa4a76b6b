import type { OutputRef, PlanStep, StepTask } from '@stepwise/core';

/**
 * Fan-ins wider than this load their inputs from Redis: a job carries at most 1 MB of values, the first few
 * thousand of such a fan-in's, so keeping all of them in the coordinator would only cost its memory.
 */
export const MAX_INLINED_FAN_IN = 1_000;

/**
 * The plan steps whose values a job may carry: those read by at least one step of at most MAX_INLINED_FAN_IN
 * inputs. For a run of 100,000 sources and one join, none: the coordinator then keeps no value at all.
 */
export function inlinedProducers(steps: readonly PlanStep[]): Set<string> {
  const producers = new Set<string>();
  for (const step of steps) {
    if (step.upstream.length <= MAX_INLINED_FAN_IN) for (const up of step.upstream) producers.add(up);
  }
  return producers;
}

/** One small output value a worker sent with its events. */
interface InlineValue {
  /** `name`, or `name[mappingKey]` for an item of a dynamic output. */
  output: string;
  attempt: number;
  b64: string;
  /** Its key in jobs (`step/output`, see inlineKey), built when a job first carries it and kept after. */
  key?: string;
}

/** A step's kept values: one, a short list, or by output once there are many (a dynamic step's items). */
type Held = InlineValue | InlineValue[] | Map<string, InlineValue>;

/** A list longer than this becomes a Map: a dynamic step of 50,000 items must not be scanned per value. */
const LIST_MAX = 8;

/**
 * Small output values the workers sent with their events, kept by the coordinator to put in the jobs of the steps
 * that read them (a worker then loads nothing from Redis). Kept per step as one value, a short list, or a Map by
 * output for a step with many (a dynamic output's items): a run of 100,000 steps holds 100,000 of them, so no Map
 * per step of one value, and a key string only for the values a job has carried.
 */
export class InlineValues {
  private readonly byStep = new Map<string, Held>();
  private bytes = 0;

  constructor(
    private readonly runId: string,
    /** Most bytes (base64) kept; values past it are not kept, and their readers load them from Redis. */
    private readonly budget: number,
    /**
     * Most bytes (keys and base64) put in one job; a step reading more (a fan-in of 100,000) loads the rest from
     * Redis, rather than the coordinator building, encoding and sending a job of many megabytes at once.
     */
    private readonly perJob = 1024 * 1024,
    /** The plan steps whose values are worth keeping (see inlinedProducers); all when undefined. */
    private readonly producers?: ReadonlySet<string>,
  ) {}

  /** Keeps the value stored under `key` (an IO ref key: `${runId}/${step}/${output}`) unless a newer one is kept. */
  put(key: string, attempt: number, bytes: Uint8Array): void {
    const { runId } = this;
    const stepEnd = key.indexOf('/', runId.length + 1);
    if (!key.startsWith(`${runId}/`) || stepEnd < 0) return;
    const step = key.slice(runId.length + 1, stepEnd);
    if (this.producers && !this.producers.has(planKeyOf(step))) return;
    const output = key.slice(stepEnd + 1);
    const held = this.byStep.get(step);
    const known = find(held, output);
    if (known && known.attempt > attempt) return;
    // The budget counts base64 characters, as kept.
    if (!known && this.bytes + Math.ceil(bytes.length / 3) * 4 > this.budget) return;
    const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
    if (known) {
      this.bytes += b64.length - known.b64.length;
      known.attempt = attempt;
      known.b64 = b64;
      return;
    }
    this.bytes += b64.length;
    const value: InlineValue = { output, attempt, b64 };
    if (held === undefined) this.byStep.set(step, value);
    else if (held instanceof Map) held.set(output, value);
    else if (!Array.isArray(held)) this.byStep.set(step, [held, value]);
    else if (held.length < LIST_MAX) held.push(value);
    else this.byStep.set(step, new Map([...held, value].map((v) => [v.output, v])));
  }

  /** A new attempt of `step` started: its older attempts' values must not reach any reader. */
  dropOlderThan(step: string, attempt: number): void {
    const held = this.byStep.get(step);
    if (held === undefined) return;
    const all = held instanceof Map ? [...held.values()] : Array.isArray(held) ? held : [held];
    const kept = all.filter((v) => {
      if (v.attempt >= attempt) return true;
      this.bytes -= v.b64.length;
      return false;
    });
    if (kept.length === all.length) return;
    if (kept.length === 0) this.byStep.delete(step);
    else if (kept.length === 1) this.byStep.set(step, kept[0] as InlineValue);
    else this.byStep.set(step, kept.length <= LIST_MAX ? kept : new Map(kept.map((v) => [v.output, v])));
  }

  /** The values `task` reads that are kept here, for its job's `inline` field (keyed as inlineKey does). */
  forTask(task: StepTask): { inline?: Record<string, string> } {
    if (this.byStep.size === 0) return {};
    let inline: Record<string, string> | undefined;
    let bytes = 0;
    const add = (ref: OutputRef) => {
      if (ref.runId !== this.runId || bytes >= this.perJob) return;
      const output = ref.mappingKey === undefined ? ref.output : `${ref.output}[${ref.mappingKey}]`;
      const value = find(this.byStep.get(ref.step), output);
      if (!value) return;
      inline ??= {};
      value.key ??= `${ref.step}/${output}`;
      const key = value.key;
      inline[key] = value.b64;
      bytes += key.length + value.b64.length;
    };
    for (const name in task.inputs) {
      const input = task.inputs[name];
      if (input?.from === 'one') add(input.ref);
      else if (input?.from === 'many') for (const ref of input.refs) add(ref);
    }
    return inline ? { inline } : {};
  }
}

function find(held: Held | undefined, output: string): InlineValue | undefined {
  if (held === undefined) return undefined;
  if (held instanceof Map) return held.get(output);
  if (!Array.isArray(held)) return held.output === output ? held : undefined;
  return held.find((v) => v.output === output);
}

/** The plan step of a step key: a mapped copy `template[mappingKey]` belongs to `template`. */
function planKeyOf(step: string): string {
  const bracket = step.indexOf('[');
  return bracket < 0 ? step : step.slice(0, bracket);
}
