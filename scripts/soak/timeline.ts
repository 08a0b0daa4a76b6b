/**
 * Prints the stored events of a soak run, to see what happened to the steps an invariant names:
 *   npx tsx --conditions=source scripts/soak/timeline.ts HOME RUN_ID [STEP_KEY ...]
 * HOME is the kept soak's instance (printed as STEPWISE_HOME=...). With no step keys: only the run's own events
 * (start, end, resumes). Columns: seq, seconds since the first event, type, step, attempt, worker, detail.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Instance, parseYaml } from '@stepwise/core';

async function main(): Promise<void> {
  const [home, runId, ...steps] = process.argv.slice(2);
  if (!home || !runId) throw new Error('usage: timeline.ts HOME RUN_ID [STEP_KEY ...]');
  // Only the run storage: the soak's Redis (its IO) is gone once the soak has ended.
  const config = parseYaml(readFileSync(join(home, 'stepwise.yaml'), 'utf8'), 'stepwise.yaml') as {
    storage: { sqlite: { dir: string } };
  };
  const instance = await Instance.fromConfig({ storage: config.storage, io: { memory: {} } }, { home });
  try {
    const events = await instance.storage.getEvents(runId);
    const t0 = events[0]?.timestamp ?? 0;
    const wanted = new Set(steps);
    for (const e of events) {
      if (e.stepKey !== undefined && !wanted.has(e.stepKey)) continue;
      const detail = e.type === 'ENGINE_EVENT' ? `${e.data.kind} ${e.message ?? ''}` : (e.message ?? '');
      const at = ((e.timestamp - t0) / 1000).toFixed(3);
      const cells = [e.seq, at, e.type, e.stepKey ?? '-', e.attempt ?? '-', e.workerId ?? '-', detail.slice(0, 200)];
      process.stdout.write(`${cells.join('\t')}\n`);
    }
  } finally {
    await instance.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
