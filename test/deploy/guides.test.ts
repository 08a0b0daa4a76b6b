// The deploy guides' files, run where they can run here: the worker commands of docs/deploy/docker/compose.yaml and
// of the systemd worker unit start real workers that register for their queues and drain on SIGTERM; the compose
// instance config passes stepwise.yaml's schema.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { loadPlugins, parseInstanceConfig } from '@stepwise/core';
import { deletePrefix, exitCode, freePort, waitForWorkers, waitUntil } from '@stepwise/testing';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { flagValues, ROOT } from './chart.js';
import { killStarted, startCli, withFlag } from './cli-process.js';

const redisUrl = inject('redisUrl');
const FIXTURE = join(ROOT, 'test/fixtures/queue-pipelines.ts');
const DOCS = join(ROOT, 'docs/deploy');

let prefix: string;
beforeEach(() => {
  prefix = `guide-${Math.random().toString(36).slice(2, 10)}`;
});
afterEach(async () => {
  await killStarted();
  await deletePrefix(redisUrl, prefix);
});

/**
 * Starts a guide's `stepwise worker …` command with the test's pipeline file, Redis and prefix, checks that it
 * registers for the command's queues with its concurrency, then SIGTERMs it: it must drain and exit 0.
 */
async function runWorkerCommand(args: string[], name: string): Promise<void> {
  expect(args[0]).toBe('worker');
  const argv = withFlag(withFlag(args, '-f', FIXTURE), '--metrics-port', String(await freePort()));
  const worker = startCli([...argv, '--prefix', prefix, '--name', name], { REDIS_URL: redisUrl });
  const live = await waitForWorkers(redisUrl, prefix, [name], 20_000);
  // Its SIGTERM handler is set once start() has resolved, just after the worker registers.
  await waitUntil(() => worker.output().includes('worker started'), 10_000, `${name} to log 'worker started'`);
  const me = live.find((w) => w.name === name);
  expect(me?.queues).toEqual(flagValues(args, '--queue'));
  expect(me?.concurrency).toBe(Number(flagValues(args, '--concurrency')[0]));
  worker.proc.kill('SIGTERM');
  expect(await exitCode(worker.proc, 15_000, `${name} to drain`)).toBe(0);
  expect(worker.output()).toMatch(/"drained":true/);
}

describe('docs/deploy/docker', () => {
  const compose = parse(readFileSync(join(DOCS, 'docker/compose.yaml'), 'utf8'));
  const services = compose.services as Record<string, { command?: string[]; stop_grace_period?: string }>;

  it('has Redis (noeviction), PostgreSQL, the daemon, the UI and two worker groups', () => {
    expect(Object.keys(services).sort()).toEqual(['daemon', 'postgres', 'redis', 'ui', 'worker-default', 'worker-io']);
    expect(services.redis?.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
    expect(services.daemon?.command?.slice(0, 2)).toEqual(['daemon', '-f']);
    expect(services.ui?.command).toEqual(expect.arrayContaining(['ui', '--host', '0.0.0.0']));
  });

  for (const group of ['worker-default', 'worker-io']) {
    it(`runs ${group}'s command: it serves its queue and drains inside its stop_grace_period`, async () => {
      const { command = [], stop_grace_period: grace = '' } = services[group] ?? {};
      const graceMs = Number(/^(\d+)s$/.exec(grace)?.[1]) * 1000;
      expect(Number(flagValues(command, '--drain-timeout')[0])).toBeLessThan(graceMs);
      await runWorkerCommand(command, group);
    });
  }

  it('shares an instance config that stepwise.yaml schema accepts (PostgreSQL runs, Redis intermediates)', async () => {
    await loadPlugins(['@stepwise/executor-queue']);
    const doc = parse(readFileSync(join(DOCS, 'docker/stepwise.yaml'), 'utf8'));
    const config = parseInstanceConfig(doc, { home: '/var/lib/stepwise' });
    expect(Object.keys(config.storage)).toEqual(['postgres']);
    expect(Object.keys(config.io)).toEqual(['redis']);
  });
});

describe('docs/deploy/systemd', () => {
  const unit = readFileSync(join(DOCS, 'systemd/stepwise-worker@.service'), 'utf8');
  const setting = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1] ?? '';

  it("runs the worker unit's ExecStart for queue 'default': it registers and drains inside TimeoutStopSec", async () => {
    const exec = setting('ExecStart').replaceAll('%i', 'default').replaceAll('%H', hostname()).split(/\s+/);
    expect(exec[0]).toBe('/srv/stepwise/node_modules/.bin/stepwise');
    expect(Number(flagValues(exec, '--drain-timeout')[0])).toBeLessThan(Number(setting('TimeoutStopSec')) * 1000);
    expect(setting('KillSignal')).toBe('SIGTERM');
    await runWorkerCommand(exec.slice(1), `${hostname()}-default`);
  });
});
