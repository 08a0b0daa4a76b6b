/** Instances on real SQLite and PostgreSQL storage, runs executed for real on them, and the UI app over them. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executePipeline, Instance, loadDefinitions, type RunResult } from '@stepwise/core';
import { inject } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../../test/setup/postgres.js';
import { createUiApp, type UiApp, type UiOptions } from '../../src/index.js';

export const PIPELINES = fileURLToPath(new URL('./fixtures/pipelines.ts', import.meta.url));

export type StorageKind = 'sqlite' | 'postgres';
export const STORAGE_KINDS: StorageKind[] = ['sqlite', 'postgres'];

export interface TestInstance {
  instance: Instance;
  home: string;
  dispose(): Promise<void>;
}

/** A fresh instance home: SQLite in it, or a PostgreSQL schema of its own; fs IO and compute logs. */
export async function openInstance(kind: StorageKind): Promise<TestInstance> {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-ui-test-'));
  const schema = randomSchemaName('ui');
  const url = inject('databaseUrl');
  const storage = kind === 'sqlite' ? { sqlite: { dir: join(home, 'storage') } } : { postgres: { url, schema } };
  const instance = await Instance.fromConfig({ storage }, { home });
  return {
    instance,
    home,
    async dispose() {
      await instance.close();
      if (kind === 'postgres') await dropSchema(url, schema);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Runs a fixture pipeline to its end in this process, recorded in `instance`. */
export async function runFixture(instance: Instance, name: string, runConfig: unknown = {}): Promise<RunResult> {
  const defs = await loadDefinitions(PIPELINES);
  const pipeline = defs.pipelines.get(name);
  if (!pipeline) throw new Error(`no fixture pipeline ${name}`);
  return executePipeline(pipeline, { instance, runConfig, tags: { 'stepwise/file': defs.file } });
}

export function uiApp(instance: Instance, options: Partial<UiOptions> = {}): UiApp {
  return createUiApp({ instance, file: PIPELINES, ...options });
}

export interface JsonAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the app in process and parses the JSON answer. */
export async function call<T = unknown>(
  app: UiApp,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonAnswer<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await app.request(path, init);
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, headers: response.headers };
}
