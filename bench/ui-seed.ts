/** Runs for the UI benchmark, written through the storage API as a coordinator would write them. */
import { buildPlan, type Instance, makeEvent, type PipelineDefinition, type StepwiseEvent } from '@stepwise/core';

const WORKERS = 8;
const SLOTS = 4;

/**
 * A finished run of `pipeline`: per step STEP_START, LOG, STEP_OUTPUT and STEP_SUCCESS (4 events a step, so about
 * 40,000 for 10,000 steps), laid out in time as WORKERS × SLOTS workers would run them, one attempt each.
 */
export async function seedFinishedRun(
  instance: Instance,
  pipeline: PipelineDefinition,
  runId: string,
): Promise<number> {
  const plan = buildPlan(pipeline);
  const t0 = Date.now() - 3_600_000;
  const lanes: number[] = Array.from({ length: WORKERS * SLOTS }, () => t0);
  let end = t0;
  const events: StepwiseEvent[] = [makeEvent('RUN_START', runId, { stepCount: plan.steps.length })];
  (events[0] as StepwiseEvent).timestamp = t0;
  plan.steps.forEach((step, i) => {
    let lane = 0;
    for (let l = 1; l < lanes.length; l++) if ((lanes[l] as number) < (lanes[lane] as number)) lane = l;
    const start = lanes[lane] as number;
    const duration = 40 + ((i * 7919) % 400);
    lanes[lane] = start + duration + 5;
    end = Math.max(end, start + duration);
    const extra = { stepKey: step.key, attempt: 1, workerId: `worker-${lane % WORKERS}` };
    const at = (e: StepwiseEvent, t: number) => Object.assign(e, { timestamp: t });
    events.push(at(makeEvent('STEP_START', runId, { planKey: step.key }, extra), start));
    events.push(
      at(makeEvent('LOG', runId, { level: 'info', msg: `step ${step.key} working on item ${i}` }, extra), start + 1),
    );
    events.push(at(makeEvent('STEP_OUTPUT', runId, { output: 'result' }, extra), start + duration - 1));
    events.push(at(makeEvent('STEP_SUCCESS', runId, { durationMs: duration }, extra), start + duration));
  });
  events.sort((a, b) => a.timestamp - b.timestamp);
  events.push(Object.assign(makeEvent('RUN_SUCCESS', runId, { durationMs: end - t0 }), { timestamp: end }));
  await instance.storage.createRun({
    runId,
    pipeline: pipeline.name,
    status: 'SUCCESS',
    runConfig: {},
    plan,
    tags: {},
    createdAt: t0,
    startedAt: t0,
    endedAt: end,
    updatedAt: end,
  });
  for (let i = 0; i < events.length; i += 2000) await instance.storage.appendEvents(events.slice(i, i + 2000));
  return events.length;
}

/** A STARTED run of `pipeline` with only RUN_START; the live part of the benchmark appends to it. */
export async function seedLiveRun(instance: Instance, pipeline: PipelineDefinition, runId: string): Promise<void> {
  const plan = buildPlan(pipeline);
  const now = Date.now();
  await instance.storage.createRun({
    runId,
    pipeline: pipeline.name,
    status: 'STARTED',
    runConfig: {},
    plan,
    tags: {},
    createdAt: now,
    startedAt: now,
    updatedAt: now,
  });
  await instance.storage.appendEvents([makeEvent('RUN_START', runId, { stepCount: plan.steps.length })]);
}

/**
 * Appends `perSecond` events a second for `seconds` to a live run, in batches every 100 ms (a step starts, logs
 * and succeeds, as workers report), and returns when each seq was committed (epoch ms) for the lag figures.
 */
export async function emitLive(
  instance: Instance,
  pipeline: PipelineDefinition,
  runId: string,
  perSecond: number,
  seconds: number,
): Promise<Map<number, number>> {
  const committed = new Map<number, number>();
  const keys = pipeline.order;
  const perBatch = Math.round(perSecond / 10);
  let seq = 1;
  let step = 0;
  const t0 = Date.now();
  for (let b = 0; b < seconds * 10; b++) {
    const batch: StepwiseEvent[] = [];
    while (batch.length < perBatch) {
      const key = keys[step % keys.length] as string;
      const extra = { stepKey: key, attempt: 1 + Math.floor(step / keys.length), workerId: `worker-${step % 8}` };
      batch.push(makeEvent('STEP_START', runId, { planKey: key }, extra));
      batch.push(makeEvent('LOG', runId, { level: 'info', msg: `live ${step}` }, extra));
      batch.push(makeEvent('LOG', runId, { level: 'info', msg: `live ${step} more` }, extra));
      batch.push(makeEvent('LOG', runId, { level: 'info', msg: `live ${step} done` }, extra));
      batch.push(makeEvent('STEP_SUCCESS', runId, { durationMs: 5 }, extra));
      step++;
    }
    await instance.storage.appendEvents(batch);
    const now = Date.now();
    for (let i = 0; i < batch.length; i++) committed.set(++seq, now);
    const next = t0 + (b + 1) * 100;
    if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
  }
  return committed;
}
