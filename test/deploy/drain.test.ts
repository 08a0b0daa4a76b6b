// A worker pod's end under Kubernetes' rules, with the command the chart renders: SIGTERM, then SIGKILL once the
// group's terminationGracePeriodSeconds has passed (what the kubelet does on scale-in, node drain or rollout).
// docs/deploy/kubernetes.md says what these show: a step shorter than the grace period finishes on the draining
// worker (not ready, still alive, exit 0); a longer one is SIGKILLed with its worker and re-run on another worker
// once its lock expires.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executePipeline, type RunResult } from '@stepwise/core';
import { deletePrefix, freePort, isRunning, stopProcess, waitForWorkers, waitUntil, within } from '@stepwise/testing';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { longStep } from '../fixtures/queue-pipelines.js';
import { find, flagValues, mainContainer, RELEASE, ROOT, render } from './chart.js';
import { type CliProcess, killStarted, startCli, withFlag } from './cli-process.js';

const redisUrl = inject('redisUrl');
const FIXTURE = join(ROOT, 'test/fixtures/queue-pipelines.ts');
const LOCK_MS = 2_000;

let prefix: string;
let tmp: string;

beforeEach(() => {
  prefix = `drain-${Math.random().toString(36).slice(2, 10)}`;
  tmp = mkdtempSync(join(tmpdir(), 'stepwise-drain-'));
});

afterEach(async () => {
  await killStarted();
  await deletePrefix(redisUrl, prefix);
  rmSync(tmp, { recursive: true, force: true });
});

/** The worker command of a one-group chart with this grace period. */
async function chartWorkerArgs(grace: number): Promise<string[]> {
  const group = {
    name: 'g',
    queues: ['default'],
    concurrency: 1,
    terminationGracePeriodSeconds: grace,
    lockDurationMs: LOCK_MS,
  };
  // The prefix is the test's own; -f and --metrics-port are swapped for the fixture and a free port at start.
  const objects = await render({
    flags: ['--set-json', `workers=${JSON.stringify([group])}`, '--set', `redis.prefix=${prefix}`],
  });
  const deployment = find(objects, 'Deployment', `${RELEASE}-stepwise-worker-g`);
  const pod = (deployment.spec as { template: { spec: { terminationGracePeriodSeconds: number } } }).template.spec;
  expect(pod.terminationGracePeriodSeconds).toBe(grace);
  return mainContainer(deployment).args;
}

interface Pod extends CliProcess {
  name: string;
  port: number;
}

/** Starts the chart's worker command as its container would (REDIS_URL from the Secret), with the test's file. */
async function startPod(args: string[], name: string): Promise<Pod> {
  const port = await freePort();
  const argv = withFlag(withFlag(args, '-f', FIXTURE), '--metrics-port', String(port));
  return { ...startCli([...argv, '--name', name], { REDIS_URL: redisUrl }), name, port };
}

/** The kubelet's end of a pod: SIGTERM, SIGKILL after the grace period. Resolves with how it ended and when. */
async function terminate(pod: Pod, graceSeconds: number): Promise<{ how: number | string; ms: number }> {
  const started = Date.now();
  await stopProcess(pod.proc, { graceMs: graceSeconds * 1000 });
  return { how: pod.proc.exitCode ?? pod.proc.signalCode ?? -1, ms: Date.now() - started };
}

const probe = async (pod: Pod, path: string) => (await fetch(`http://127.0.0.1:${pod.port}${path}`)).status;

async function runLong(ms: number, marker: string, onStart: () => void): Promise<RunResult> {
  return within(
    executePipeline(longStep, {
      runConfig: {
        execution: { queue: { redisUrl, prefix, lockDurationMs: LOCK_MS } },
        ops: { long: { config: { ms, marker } } },
      },
      onEvent: (e) => {
        if (e.type === 'STEP_START' && e.stepKey === 'long') onStart();
      },
    }),
    60_000,
    'the run',
  );
}

describe('worker drain under the kubelet rules (chart command, SIGTERM then SIGKILL at the grace period)', () => {
  it('a step shorter than the grace period finishes on the draining pod: not ready, alive, exit 0', async () => {
    const grace = 8;
    const args = await chartWorkerArgs(grace);
    expect(flagValues(args, '--drain-timeout')).toEqual([String((grace - 1) * 1000)]);
    const first = await startPod(args, 'pod-a');
    await waitForWorkers(redisUrl, prefix, ['pod-a']);
    expect(await probe(first, '/readyz')).toBe(200);
    let ended: Promise<{ how: number | string; ms: number }> | undefined;
    let successor: Pod | undefined;
    const marker = join(tmp, 'marker');
    const result = runLong(2_000, marker, () => {
      ended = terminate(first, grace);
      void startPod(args, 'pod-b').then((p) => {
        successor = p;
      });
    });
    await waitUntil(() => ended !== undefined, 20_000, 'the step to start');
    // While it drains, the pod leaves the Service endpoints but is not restarted.
    await waitUntil(async () => (await probe(first, '/readyz')) === 503, 5_000, '/readyz to fail while draining');
    expect(await probe(first, '/livez')).toBe(200);
    const end = await within(ended as Promise<{ how: number | string; ms: number }>, 20_000, 'pod-a to end');
    expect(end.how).toBe(0);
    expect(end.ms).toBeLessThan(grace * 1000);
    const run = await result;
    expect(run.status).toBe('SUCCESS');
    expect(run.steps.long?.attempts).toBe(1);
    expect(run.steps.long?.workerId).toBe('pod-a');
    expect(run.steps.double?.workerId).toBe('pod-b');
    expect(successor && isRunning(successor.proc)).toBe(true);
    expect(readFileSync(marker, 'utf8').trim().split('\n')).toEqual(['pod-a 1']);
  }, 90_000);

  it('a step longer than the grace period dies with its pod at the grace end and is re-run on another pod', async () => {
    const grace = 3;
    const args = await chartWorkerArgs(grace);
    const first = await startPod(args, 'pod-a');
    await waitForWorkers(redisUrl, prefix, ['pod-a']);
    let ended: Promise<{ how: number | string; ms: number }> | undefined;
    const marker = join(tmp, 'marker');
    const result = runLong(5_000, marker, () => {
      if (ended) return;
      ended = terminate(first, grace);
      void startPod(args, 'pod-b');
    });
    await waitUntil(() => ended !== undefined, 20_000, 'the step to start');
    const end = await within(ended as Promise<{ how: number | string; ms: number }>, 20_000, 'pod-a to end');
    // The worker gives up on its step at --drain-timeout (grace - 1 s, logging "drained":false); the step keeps the
    // process busy until the kubelet's SIGKILL at the grace end. It never claims to have drained.
    expect(first.output()).toMatch(/draining: finishing running steps/);
    expect(first.output()).not.toMatch(/"drained":true/);
    expect(end.how).toBe('SIGKILL');
    expect(end.ms).toBeLessThan(grace * 1000 + 1_500);
    const run = await result;
    expect(run.status).toBe('SUCCESS');
    expect(run.steps.long?.attempts).toBe(2);
    expect(run.steps.long?.workerId).toBe('pod-b');
    expect(readFileSync(marker, 'utf8').trim().split('\n')).toEqual(['pod-a 1', 'pod-b 2']);
  }, 90_000);
});
