/**
 * The soak's coordinator, a process of its own so that the fault injector can SIGKILL it mid-run:
 *   tsx coordinator.ts --home DIR --run-id ID --redis URL --prefix P --lock-duration MS [--resume]
 * Runs (or, with --resume, resumes through `resumeRun`) the soak pipeline of $STEPWISE_SOAK_STEPS /
 * $STEPWISE_SOAK_SEED on the instance in DIR with the queue executor, and reports on stdout as `SOAK {json}`
 * lines: `{"event":"started"}` once the run is under way, then `{"event":"done","status":...}`.
 */
import { parseArgs } from 'node:util';
import * as core from '@stepwise/core';
import { QueueExecutor } from '@stepwise/executor-queue';
import { pino } from 'pino';
import { soak } from './pipeline.js';
import { findResumeRun } from './resume.js';

function report(message: Record<string, unknown>): void {
  process.stdout.write(`SOAK ${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      home: { type: 'string' },
      'run-id': { type: 'string' },
      redis: { type: 'string' },
      prefix: { type: 'string' },
      'lock-duration': { type: 'string' },
      resume: { type: 'boolean', default: false },
    },
  });
  const home = values.home;
  const runId = values['run-id'];
  if (!home || !runId || !values.redis || !values.prefix) {
    throw new Error('coordinator.ts needs --home, --run-id, --redis and --prefix (it is started by scripts/soak.ts)');
  }
  const queue = {
    redisUrl: values.redis,
    prefix: values.prefix,
    lockDurationMs: Number(values['lock-duration'] ?? 2_000),
  };
  const runConfig = { execution: { queue } };
  const instance = await core.Instance.local(home);
  const executor = new QueueExecutor(queue);
  const logger = pino({ level: process.env.STEPWISE_LOG_LEVEL ?? 'info' }, pino.destination(2));
  let result: core.RunResult;
  if (values.resume) {
    const resumeRun = findResumeRun();
    if (!resumeRun) throw new Error('@stepwise/core has no resumeRun: cannot resume');
    report({ event: 'started', runId, resumed: true });
    // The fault injector SIGKILLed the run's coordinator: its lease is stale but not yet expired, so take it over.
    result = await resumeRun(soak, runId, { instance, runConfig, executor, force: true });
  } else {
    report({ event: 'started', runId, resumed: false });
    result = await core.executePipeline(soak, { instance, runId, runConfig, executor, logger, loadOutputs: false });
  }
  const counts: Record<string, number> = {};
  for (const step of Object.values(result.steps)) counts[step.status] = (counts[step.status] ?? 0) + 1;
  report({ event: 'done', runId, status: result.status, counts });
  await instance.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `soak coordinator failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
    );
    report({ event: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  },
);
