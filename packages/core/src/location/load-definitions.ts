import { existsSync, statSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import type { RepositoryDefinition } from '../definitions/repository.js';
import type { ScheduleDefinition } from '../definitions/schedule.js';
import { LoadError, UsageError } from '../errors/index.js';

/** What a definitions file provides, found by {@link loadDefinitions}. */
export interface LoadedDefinitions {
  /** Absolute path of the file. */
  readonly file: string;
  /** The path as the caller gave it, for messages. */
  readonly source: string;
  /** Every pipeline the file exports (directly or through a repository), by name. */
  readonly pipelines: ReadonlyMap<string, PipelineDefinition>;
  /** Schedules of the repositories it exports. */
  /** Schedules of the file's repositories, by name. */
  readonly schedules: ReadonlyMap<string, ScheduleDefinition>;
}

const SOURCE_MODE = import.meta.url.endsWith('.ts');
let hooksInstalled: Promise<void> | undefined;

/**
 * Makes `.ts` files importable in this process (tsx's loaders, registered globally: its namespaced
 * `tsImport` gives the user's file its own copy of every module, so `@stepwise/core` would not be ours), and maps
 * the user's `import '@stepwise/core'` to the copy this code belongs to, so that a file outside this install
 * (or with its own copy) still shares our module instance.
 */
export function installHooks(): Promise<void> {
  if (SOURCE_MODE) return Promise.resolve();
  // One promise for every caller: a second load started while the first installs must wait for the hooks too.
  hooksInstalled ??= registerTsHooks();
  return hooksInstalled;
}

async function registerTsHooks(): Promise<void> {
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  esm.register();
  // A .ts file in a package without "type": "module" is CommonJS (as under the `tsx` command): it needs tsx's
  // require hook too, or Node loads it untransformed.
  cjs.register();
  const coreUrl = new URL('../index.js', import.meta.url).href;
  const hook = `export async function resolve(specifier, context, next) {
  if (specifier === '@stepwise/core') return { url: ${JSON.stringify(coreUrl)}, shortCircuit: true };
  return next(specifier, context);
}`;
  registerHooks(`data:text/javascript,${encodeURIComponent(hook)}`);
}

function isPipeline(value: unknown): value is PipelineDefinition {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'pipeline';
}

function isRepository(value: unknown): value is RepositoryDefinition {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'repository';
}

/**
 * Whether an import failure is a bug in the file's code (a system error such as ENOENT, a TypeError, ...) rather
 * than the file refusing to load (an Error it throws, a syntax error): the CLI exits 1 for a bug, 2 for bad input.
 */
function isProgramBug(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof ReferenceError || error instanceof RangeError) return true;
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  return typeof code === 'string' && typeof syscall === 'string';
}

/** The one line of an import failure worth showing: esbuild's first `ERROR:` line, else the first line. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split('\n').map((l) => l.trim());
  const esbuild = lines.find((l) => l.includes('ERROR:'));
  return esbuild ?? lines.find((l) => l !== '') ?? 'unknown error';
}

export interface LoadOptions {
  /** How long the file's top-level code (its awaits included) may take; default {@link loadTimeoutMs}. */
  timeoutMs?: number;
}

const DEFAULT_LOAD_TIMEOUT_MS = 60_000;

/** The load timeout: `STEPWISE_LOAD_TIMEOUT_MS` (milliseconds, > 0), else 60 s. */
export function loadTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.STEPWISE_LOAD_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_LOAD_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new UsageError(`STEPWISE_LOAD_TIMEOUT_MS must be a whole number of milliseconds above 0, got '${raw}'`);
  }
  return ms;
}

/** Counts of this process's active handles and requests by type (timers, sockets, file reads...). */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** The resources opened since `before`, e.g. `1 TCPSocketWrap, 2 Timeout`. */
function openedSince(before: Map<string, number>): string {
  const parts: string[] = [];
  for (const [type, count] of activeResources()) {
    const more = count - (before.get(type) ?? 0);
    if (more > 0) parts.push(`${more} ${type}`);
  }
  return parts.join(', ');
}

/**
 * Imports the file, failing after `timeoutMs`. The timer also keeps the process alive: a top-level await on a
 * promise nothing settles would otherwise let Node exit 13 with no message.
 */
async function importWithin(path: string, file: string, timeoutMs: number): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const before = activeResources();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const opened = openedSince(before);
      const waiting = opened
        ? `its top-level code is still waiting on ${opened} it opened`
        : 'its top-level code awaits a promise that nothing settles (no timer, socket or file is pending)';
      reject(
        new LoadError(
          `pipeline file '${file}' did not finish loading within ${timeoutMs} ms: ${waiting}; fix its top-level await, or raise STEPWISE_LOAD_TIMEOUT_MS`,
          { misuse: false },
        ),
      );
    }, timeoutMs);
  });
  // Not counting the timeout's own timer.
  before.set('Timeout', (before.get('Timeout') ?? 0) + 1);
  try {
    return await Promise.race([import(pathToFileURL(path).href) as Promise<Record<string, unknown>>, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Loads a pipeline file (`.ts`, `.mts`, `.js`, `.mjs`) with no build step and collects its pipelines: a default
 * export that is a `repository()` or `pipeline()`, and every named export that is one. A missing file or an import
 * that throws (syntax error, graph error, runtime throw) is a LoadError with a one-line reason; its `misuse` is false
 * when the import failed on a bug in the file (see isProgramBug), and when its top-level code did not settle within
 * the load timeout (the message names the file and what it was waiting on).
 */
export async function loadDefinitions(file: string, options: LoadOptions = {}): Promise<LoadedDefinitions> {
  const path = resolve(file);
  if (!existsSync(path)) throw new LoadError(`pipeline file '${file}' not found`);
  if (statSync(path).isDirectory()) throw new LoadError(`pipeline file '${file}' is a directory`);
  await installHooks();
  let mod: Record<string, unknown>;
  try {
    mod = await importWithin(path, file, options.timeoutMs ?? loadTimeoutMs());
  } catch (error) {
    if (error instanceof LoadError) throw error;
    let reason = firstLine(error);
    if (/Cannot find (module|package) '@stepwise\/core'/.test(reason)) {
      // Only CommonJS files miss it: ES modules get this process's copy (see installHooks).
      reason += ` (install @stepwise/core where the file is, or mark its package "type": "module")`;
    }
    throw new LoadError(`could not load '${file}': ${reason}`, { cause: error, misuse: !isProgramBug(error) });
  }
  const pipelines = new Map<string, PipelineDefinition>();
  const schedules = new Map<string, ScheduleDefinition>();
  const add = (p: PipelineDefinition, where: string) => {
    const known = pipelines.get(p.name);
    if (known && known !== p) {
      throw new LoadError(`'${file}' exports two different pipelines named '${p.name}' (the second as ${where})`);
    }
    pipelines.set(p.name, p);
  };
  // The default export first, so that its order wins when listing.
  const entries = Object.entries(mod).sort(([a], [b]) => (a === 'default' ? -1 : b === 'default' ? 1 : 0));
  for (const [name, value] of entries) {
    const where = name === 'default' ? 'the default export' : `export '${name}'`;
    if (isPipeline(value)) add(value, where);
    else if (isRepository(value)) {
      for (const p of value.pipelines.values()) add(p, `${where}'s repository`);
      for (const s of value.schedules.values()) {
        const known = schedules.get(s.name);
        if (known && known !== s) throw new LoadError(`'${file}' exports two different schedules named '${s.name}'`);
        schedules.set(s.name, s);
      }
    }
  }
  return { file: path, source: file, pipelines, schedules };
}
