import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { submitRun } from '@stepwise/core';
import { testRunRecord, waitUntil } from '@stepwise/testing';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import { cli, engineEvents, Instance, makeHome, PIPELINES, startDaemonProcess, stop, waitEnded } from './support.js';

// Rows edited by hand under a real daemon process: each broken run is failed with the cause, the daemon lives on,
// and `runs list` / `runs show` name the problem instead of failing. PostgreSQL's json columns refuse text that is
// not JSON, so there the edits are JSON of the wrong shape.
const schema = randomSchemaName('malformed');
const databaseUrl = inject('databaseUrl');

interface Backend {
  yaml: string;
  /** Runs `sql` (with `?` for the run id) on the instance's database. */
  edit(home: string, sql: string, runId: string): Promise<void>;
  badTags: string;
  /** What the broken tags read as. */
  tagsProblem: RegExp;
}

const backends: Record<string, Backend> = {
  SQLite: {
    yaml: '',
    edit: async (home, sql, runId) => {
      const db = new Database(join(home, 'storage', 'stepwise.db'));
      try {
        db.prepare(sql).run(runId);
      } finally {
        db.close();
      }
    },
    badTags: '\'{"team": \'',
    tagsProblem: /column tags is not JSON \(/,
  },
  PostgreSQL: {
    yaml: `storage:\n  postgres: { url: "${databaseUrl}", schema: ${schema} }\n`,
    edit: async (_home, sql, runId) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      client.on('error', () => {});
      await client.connect();
      try {
        await client.query(sql.replaceAll(' runs ', ` "${schema}".runs `).replace('?', '$1'), [runId]);
      } finally {
        await client.end();
      }
    },
    badTags: '\'["team"]\'',
    tagsProblem: /column tags is not an object of strings/,
  },
};

describe.each(Object.entries(backends))('%s: a hand-edited stored run under a real daemon', (kind, backend) => {
  const home = makeHome(`${backend.yaml}
runCoordinator: { queued: { maxConcurrentRuns: 5, dequeueIntervalMs: 100 } }
runLauncher: { inProcess: {} }
runMonitoring: { intervalMs: 200 }
`);
  let instance: Instance;
  let daemon: Awaited<ReturnType<typeof startDaemonProcess>> | undefined;
  const uid = (name: string) => `${name}-${kind}-${process.pid}-${Date.now().toString(36)}`;
  beforeAll(async () => {
    instance = await Instance.local(home);
    daemon = await startDaemonProcess(home, instance, ['--no-scheduler']);
  });
  afterAll(async () => {
    if (daemon) await stop(daemon);
    await instance.close();
    rmSync(home, { recursive: true, force: true });
    if (kind === 'PostgreSQL') await dropSchema(databaseUrl, schema);
  });

  /** Waits until the run's status reads back as an end one (its row may stay malformed). */
  const failedByDaemon = async (runId: string): Promise<string> => {
    await waitUntil(
      async () => engineEvents(await instance.storage.getEvents(runId), 'malformed_run').length > 0,
      20_000,
      `the daemon to fail ${runId}`,
    );
    const [event] = engineEvents(await instance.storage.getEvents(runId), 'malformed_run');
    const outcome = (await instance.storage.getEvents(runId, { types: ['RUN_FAILURE'] })).length;
    expect(outcome).toBe(1);
    return event?.message ?? '';
  };

  it('bad config, bad tags, an unknown status: each run failed with its cause; a good run still succeeds', async () => {
    // A run in progress (its coordinator elsewhere) whose run config is not JSON: SQLite only, as PostgreSQL's json
    // column refuses it.
    const badConfig = uid('bad-config');
    if (kind === 'SQLite') {
      await instance.storage.createRun(testRunRecord(badConfig, { status: 'STARTED', startedAt: Date.now() }));
      await backend.edit(home, "UPDATE runs SET run_config = '{not json' WHERE run_id = ?", badConfig);
    }
    // A queued run whose tags are broken: dequeued, then failed at launch.
    const badTags = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy', runConfig: nap(3_000) });
    await backend.edit(home, `UPDATE runs SET tags = ${backend.badTags}, status = 'QUEUED' WHERE run_id = ?`, badTags);
    // A status Stepwise does not know: in no list the daemon reads, but not forgotten.
    const unknown = uid('unknown-status');
    await instance.storage.createRun(testRunRecord(unknown, { status: 'STARTED', startedAt: Date.now() }));
    await backend.edit(home, "UPDATE runs SET status = 'RUNNING' WHERE run_id = ?", unknown);

    if (kind === 'SQLite') expect(await failedByDaemon(badConfig)).toMatch(/column run_config is not JSON/);
    expect(await failedByDaemon(badTags)).toMatch(backend.tagsProblem);
    expect(await failedByDaemon(unknown)).toContain("status 'RUNNING' is not one of QUEUED, STARTING");
    expect((await instance.storage.getRunStatus(unknown))?.status).toBe('FAILURE');

    const good = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy', runConfig: nap(50) });
    const [run] = await waitEnded(instance, [good], 20_000);
    expect(run?.status).toBe('SUCCESS');
    expect(daemon?.exitCode).toBeNull();
    const beats = await instance.storage.listDaemonHeartbeats();
    expect(beats.find((d) => d.pid === daemon?.pid)?.loops.monitor?.lastError).toBeUndefined();
  }, 90_000);

  it('runs list and runs show name the problem of a malformed run instead of failing', async () => {
    const broken = uid('broken');
    await instance.storage.createRun(testRunRecord(broken, { status: 'SUCCESS', endedAt: Date.now() }));
    await backend.edit(home, `UPDATE runs SET tags = ${backend.badTags} WHERE run_id = ?`, broken);
    const list = await cli(home, ['runs', 'list', '--limit', '500']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${broken}\\s+\\?\\s+MALFORMED`));
    expect(list.stdout).toMatch(new RegExp(`${broken}: ${backend.tagsProblem.source}`));
    const json = await cli(home, ['runs', 'list', '--json', '--limit', '500']);
    expect(json.code).toBe(0);
    expect(Array.isArray(JSON.parse(json.stdout))).toBe(true);
    expect(json.stderr).toContain(`stored run '${broken}' is malformed`);
    const show = await cli(home, ['runs', 'show', broken]);
    expect(show.code).toBe(1);
    expect(show.stdout).toMatch(new RegExp(`status    MALFORMED: ${backend.tagsProblem.source}`));
    expect(show.stderr).not.toMatch(/at .*\.js:\d+/);
  }, 60_000);
});

function nap(ms: number) {
  return { ops: { nap: { config: { ms } } } };
}
