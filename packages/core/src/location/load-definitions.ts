import { existsSync, statSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import type { RepositoryDefinition } from '../definitions/repository.js';
import { LoadError } from '../errors/index.js';

/** What a definitions file provides, found by {@link loadDefinitions}. */
export interface LoadedDefinitions {
  /** Absolute path of the file. */
  readonly file: string;
  /** The path as the caller gave it, for messages. */
  readonly source: string;
  /** Every pipeline the file exports (directly or through a repository), by name. */
  readonly pipelines: ReadonlyMap<string, PipelineDefinition>;
  /** Schedules of the repositories it exports. */
  readonly schedules: readonly unknown[];
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

/**
 * Loads a pipeline file (`.ts`, `.mts`, `.js`, `.mjs`) with no build step and collects its pipelines: a default
 * export that is a `repository()` or `pipeline()`, and every named export that is one. A missing file or an import
 * that throws (syntax error, graph error, runtime throw) is a LoadError with a one-line reason; its `misuse` is false
 * when the import failed on a bug in the file (see isProgramBug).
 */
export async function loadDefinitions(file: string): Promise<LoadedDefinitions> {
  const path = resolve(file);
  if (!existsSync(path)) throw new LoadError(`pipeline file '${file}' not found`);
  if (statSync(path).isDirectory()) throw new LoadError(`pipeline file '${file}' is a directory`);
  await installHooks();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    let reason = firstLine(error);
    if (/Cannot find (module|package) '@stepwise\/core'/.test(reason)) {
      // Only CommonJS files miss it: ES modules get this process's copy (see installHooks).
      reason += ` (install @stepwise/core where the file is, or mark its package "type": "module")`;
    }
    throw new LoadError(`could not load '${file}': ${reason}`, { cause: error, misuse: !isProgramBug(error) });
  }
  const pipelines = new Map<string, PipelineDefinition>();
  const schedules: unknown[] = [];
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
      schedules.push(...value.schedules);
    }
  }
  return { file: path, source: file, pipelines, schedules };
}
