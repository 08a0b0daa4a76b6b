// The generated references must match what the code says: regenerated here and compared with the committed files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { API_DOC, apiIndex } from '../../scripts/docs/api-index.js';
import { CLI_DOC, cliReference } from '../../scripts/docs/cli-reference.js';
import { CONFIG_DOC, configReference, environmentNamesInSources } from '../../scripts/docs/config-reference.js';
import { ENVIRONMENT } from '../../scripts/docs/env-vars.js';
import { ROOT } from '../deploy/chart.js';

const REGENERATE = 'stale: regenerate with npx tsx --conditions=source scripts/docs/';

describe('docs/configuration.md', () => {
  it('is what scripts/docs/config-reference.ts generates from the zod schemas', () => {
    expect(readFileSync(CONFIG_DOC, 'utf8'), `${REGENERATE}config-reference.ts`).toBe(configReference());
  });

  it('lists every key of every registered kind and section, each with a type and a description', () => {
    const doc = configReference();
    for (const key of ['storage.postgres.url', 'execution.queue.lockDurationMs', 'io.redis.maxValueBytes']) {
      expect(doc).toContain(`| \`${key}\` |`);
    }
    for (const key of ['runMonitoring.heartbeatTimeoutMs', 'runCoordinator.queued.maxConcurrentRuns']) {
      expect(doc).toContain(`| \`${key}\` |`);
    }
    const rows = doc
      .split('\n')
      .filter((l) => /^\| `(storage|io|computeLogs|execution|run[A-Z]|daemon|scheduler)[.\w[\]]*` \|/.test(l));
    expect(rows.length).toBeGreaterThan(30);
    expect(rows.filter((r) => r.trimEnd().endsWith('|  |'))).toEqual([]);
  });

  it('documents every environment variable the packages read', () => {
    const documented = ENVIRONMENT.flatMap((e) => e.name.split(', '));
    expect(environmentNamesInSources().filter((name) => !documented.includes(name))).toEqual([]);
  });
});

describe('docs/cli.md', () => {
  it('is what scripts/docs/cli-reference.ts generates from the commander commands', async () => {
    expect(readFileSync(CLI_DOC, 'utf8'), `${REGENERATE}cli-reference.ts`).toBe(await cliReference());
  });

  it("has every package's commands and the worker's flags with their defaults", async () => {
    const doc = await cliReference();
    for (const command of ['run', 'worker', 'daemon', 'schedule', 'ui', 'airflow', 'argo']) {
      expect(doc).toContain(`## \`stepwise ${command}\``);
    }
    expect(doc).toContain('| `--concurrency <n>` | `1` |');
    expect(doc).toContain('| `--lock-duration <ms>` | 30000 |');
    expect(doc).toContain('| `--drain-timeout <ms>` | 300000 |');
  });
});

describe('docs/api.md', () => {
  it("is what scripts/docs/api-index.ts generates from the packages' index.ts", () => {
    expect(readFileSync(API_DOC, 'utf8'), `${REGENERATE}api-index.ts`).toBe(apiIndex());
    expect(apiIndex()).toContain('- `executePipeline` — Executes a pipeline and resolves to its result.');
  });
});

describe('docs/embedding.md', () => {
  it('catalogues every event type with its payload', () => {
    const doc = readFileSync(join(ROOT, 'docs/embedding.md'), 'utf8');
    expect(EVENT_TYPES.filter((type) => !new RegExp(`^\\|\\s*\`${type}\`\\s*\\|\\s*\``, 'm').test(doc))).toEqual([]);
  });
});
