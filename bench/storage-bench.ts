/**
 * What run/event storage costs (issue 3): the same in-process run of no-op steps on an instance whose storage is
 * in memory, SQLite, or PostgreSQL. Everything else is held equal (in-memory IO manager and compute logs), so the
 * ratio storage-time / memory-time is the price of the storage alone (target ≤ 2×). One more row runs SQLite with
 * every other `stepwise.yaml` default too (fs intermediates, fs compute logs): what a `stepwise run` user gets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executePipeline, Instance, type InstanceConfigInput, type PipelineDefinition } from '@stepwise/core';
import pg from 'pg';
import { median } from './stats.js';

export type StorageBackend = 'memory' | 'sqlite' | 'postgres' | 'sqliteDefaults';

export interface StorageFigures {
  backend: StorageBackend;
  /** What the instance was built from (the PostgreSQL URL's password, if any, is not shown). */
  config: string;
  steps: number;
  /** Events of one run (every one is stored). */
  events: number;
  stepsPerSec: number;
  eventsPerSec: number;
  /** Median wall time of a run, in ms. */
  ms: number;
  runsMs: number[];
  /** This backend's median time / the in-memory one's (1 for memory). */
  vsMemory: number;
}

export interface StorageBenchOptions {
  /** PostgreSQL URL; its database must exist. A random schema is created and dropped. */
  postgresUrl: string;
  repetitions: number;
  /** One untimed run per backend first. Default true. */
  warmup?: boolean;
  /** Also run the all-defaults SQLite instance (fs IO, fs compute logs). Default true. */
  defaults?: boolean;
}

/** Times one run on `instance`; returns its wall time and the number of events it produced. */
async function runOnce(pipeline: PipelineDefinition, instance: Instance): Promise<{ ms: number; events: number }> {
  let events = 0;
  const t0 = performance.now();
  // executePipeline resolves after the run's events are flushed to storage and its status is written.
  const result = await executePipeline(pipeline, {
    instance,
    loadOutputs: false,
    onEvent: () => {
      events++;
    },
  });
  const ms = performance.now() - t0;
  if (result.status !== 'SUCCESS') throw new Error(`storage bench ${pipeline.name}: run ended ${result.status}`);
  return { ms, events };
}

async function measureOn(
  backend: StorageBackend,
  describe: string,
  pipeline: PipelineDefinition,
  instance: Instance,
  repetitions: number,
  warmup: boolean,
): Promise<Omit<StorageFigures, 'vsMemory'>> {
  if (warmup) await runOnce(pipeline, instance);
  const runs: Array<{ ms: number; events: number }> = [];
  for (let r = 0; r < repetitions; r++) runs.push(await runOnce(pipeline, instance));
  const ms = median(runs.map((r) => r.ms));
  const events = runs[0]?.events ?? 0;
  return {
    backend,
    config: describe,
    steps: pipeline.nodes.size,
    events,
    ms,
    runsMs: runs.map((r) => r.ms),
    stepsPerSec: (pipeline.nodes.size / ms) * 1000,
    eventsPerSec: (events / ms) * 1000,
  };
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** Runs `pipeline` on each storage backend (warm-up + repetitions each) and compares with in-memory storage. */
export async function benchStorage(
  pipeline: PipelineDefinition,
  options: StorageBenchOptions,
): Promise<StorageFigures[]> {
  const home = await mkdtemp(join(tmpdir(), 'stepwise-bench-'));
  const schema = `bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const memoryRest = { io: { memory: {} }, computeLogs: { memory: {} } } as const;
  const setups: Array<{ backend: StorageBackend; describe: string; config: InstanceConfigInput }> = [
    { backend: 'memory', describe: 'storage: memory', config: { storage: { memory: {} }, ...memoryRest } },
    { backend: 'sqlite', describe: 'storage: sqlite (temp dir)', config: { storage: { sqlite: {} }, ...memoryRest } },
    {
      backend: 'postgres',
      describe: `storage: postgres ${redact(options.postgresUrl)} schema ${schema}`,
      config: { storage: { postgres: { url: options.postgresUrl, schema } }, ...memoryRest },
    },
    {
      backend: 'sqliteDefaults',
      describe: 'stepwise.yaml defaults: sqlite storage, fs io, fs compute logs (temp home)',
      config: {},
    },
  ];
  const out: Array<Omit<StorageFigures, 'vsMemory'>> = [];
  let schemaCreated = false;
  try {
    for (const setup of setups) {
      if (setup.backend === 'sqliteDefaults' && options.defaults === false) continue;
      // Each backend gets its own home, so the SQLite rows do not share a database file.
      const instance = await Instance.fromConfig(setup.config, { home: join(home, setup.backend) });
      if (setup.backend === 'postgres') schemaCreated = true;
      try {
        out.push(
          await measureOn(
            setup.backend,
            setup.describe,
            pipeline,
            instance,
            options.repetitions,
            options.warmup ?? true,
          ),
        );
      } finally {
        await instance.close();
      }
    }
  } finally {
    await rm(home, { recursive: true, force: true });
    if (schemaCreated) await dropSchema(options.postgresUrl, schema);
  }
  const memoryMs = out.find((f) => f.backend === 'memory')?.ms ?? Number.NaN;
  return out.map((f) => ({ ...f, vsMemory: f.ms / memoryMs }));
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
