import { rmSync } from 'node:fs';
import { submitRun } from '@stepwise/core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import {
  engineEvents,
  Instance,
  makeHome,
  maxOverlap,
  PIPELINES,
  startDaemonProcess,
  stop,
  waitEnded,
} from './support.js';

/** Daemon processes sharing one storage: every run is dequeued and launched exactly once, under the limit. */
async function manyDaemons(storageYaml: string, daemons: number, runs: number): Promise<void> {
  const home = makeHome(`${storageYaml}
runCoordinator: { queued: { maxConcurrentRuns: 4, dequeueIntervalMs: 50 } }
runLauncher: { inProcess: {} }
`);
  const instance = await Instance.local(home);
  const children: Awaited<ReturnType<typeof startDaemonProcess>>[] = [];
  try {
    for (let i = 0; i < daemons; i++) children.push(await startDaemonProcess(home, instance));
    const ids = await Promise.all(
      Array.from({ length: runs }, () =>
        submitRun(instance, {
          file: PIPELINES,
          pipeline: 'sleepy',
          runConfig: { ops: { nap: { config: { ms: 150 } } } },
        }),
      ),
    );
    const ended = await waitEnded(instance, ids, 90_000);
    expect(ended.map((r) => r.status)).toEqual(ids.map(() => 'SUCCESS'));
    expect(maxOverlap(ended)).toBeLessThanOrEqual(4);
    for (const id of ids) {
      const events = await instance.storage.getEvents(id);
      expect(
        events.filter((e) => e.type === 'RUN_START'),
        id,
      ).toHaveLength(1);
      expect(engineEvents(events, 'dequeued'), id).toHaveLength(1);
      expect(engineEvents(events, 'launched'), id).toHaveLength(1);
    }
    expect(children.every((c) => c.exitCode === null)).toBe(true);
  } finally {
    await Promise.all(children.map(stop));
    await instance.close();
    rmSync(home, { recursive: true, force: true });
  }
}

describe('several daemons on one storage', () => {
  const schema = randomSchemaName('daemons');
  afterAll(() => dropSchema(inject('databaseUrl'), schema));

  it('three daemons on PostgreSQL: each run launched exactly once (one RUN_START each)', async () => {
    await manyDaemons(`storage:\n  postgres: { url: "${inject('databaseUrl')}", schema: ${schema} }`, 3, 30);
  }, 150_000);

  it('two daemons on SQLite: each run launched exactly once', async () => {
    await manyDaemons('', 2, 20);
  }, 150_000);
});
