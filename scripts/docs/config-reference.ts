/**
 * Generates docs/configuration.md, the reference of stepwise.yaml and the run config, from the zod schemas the
 * plugins register (core's, @stepwise/executor-queue's and @stepwise/daemon's), so it cannot drift from them.
 *
 *   npx tsx --conditions=source scripts/docs/config-reference.ts          # rewrites docs/configuration.md
 *   npx tsx --conditions=source scripts/docs/config-reference.ts --check  # exits 1 when the file is stale
 * test/docs/references.test.ts runs the check in CI.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ConfigContext,
  computeLogKinds,
  configSections,
  executorKinds,
  ioKinds,
  registerPlugin,
  runCoordinatorSchema,
  storageKinds,
} from '@stepwise/core';
import { plugin as daemonPlugin } from '@stepwise/daemon';
import { plugin as queuePlugin } from '@stepwise/executor-queue';
import type { z } from 'zod';
import { ENVIRONMENT } from './env-vars.js';
import { Comments, type Row, schemaRows, table } from './schema-table.js';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CONFIG_DOC = join(ROOT, 'docs/configuration.md');

const sources = (...files: string[]) => files.map((f) => join(ROOT, 'packages', f));

/** Where each kind's option comments are: its schema's source files, most specific first. */
const COMMENTS: Record<string, string[]> = {
  'storage.postgres': sources('core/src/plugins/core-plugin.ts', 'core/src/storage/postgres/postgres-run-storage.ts'),
  'io.redis': sources('executor-queue/src/plugin.ts'),
  'execution.queue': sources('executor-queue/src/options.ts'),
  sections: sources('daemon/src/config.ts'),
  default: sources('core/src/plugins/core-plugin.ts'),
};

/** Descriptions of keys whose schema has no comment to read. */
const DESCRIPTIONS: Record<string, string> = {
  'storage.sqlite.dir':
    'Directory of the database file `stepwise.db`; created if missing. One machine: several processes may share it.',
  'io.fs.dir':
    'Directory of step outputs. For steps on several machines it must be one volume mounted at the same path everywhere.',
  'computeLogs.fs.dir': "Directory of each step's captured stdout/stderr.",
  'io.redis.url': 'Redis holding the values, e.g. `redis://host:6379`. Use `maxmemory-policy noeviction`.',
  'runCoordinator.queued.tagConcurrencyLimits[].key': 'The tag the limit counts runs by.',
  'runCoordinator.queued.tagConcurrencyLimits[].value':
    'Only runs whose tag has this value count (all of them together).',
  'runCoordinator.queued.tagConcurrencyLimits[].perUniqueValue':
    'The limit applies to each distinct value of the tag on its own.',
  'runCoordinator.queued.tagConcurrencyLimits[].limit':
    'Runs in progress allowed; 0 holds every matching run in the queue.',
};

/** Defaults the code applies that no single comment sentence states for the key. */
const DEFAULTS: Record<string, string> = {
  'execution.inProcess.maxConcurrent': '`32`',
  'execution.multiprocess.maxConcurrent': 'the CPU count',
  'runCoordinator.queued.tagConcurrencyLimits': 'none',
};

/** Directories as the reference shows them: under the home, relative to stepwise.yaml. */
const CONTEXT: ConfigContext = {
  home: '$STEPWISE_HOME',
  baseDir: '.',
  dir: (given, fallback) => given ?? `$STEPWISE_HOME/${fallback}`,
};

interface Kind {
  kind: string;
  description: string;
  options: z.ZodType | ((context: ConfigContext) => z.ZodType);
  defaults?: Record<string, unknown>;
}

function ownerOf(kind: Kind): string {
  for (const plugin of [queuePlugin]) {
    const all = [...(plugin.executors ?? []), ...(plugin.io ?? []), ...(plugin.storage ?? [])] as unknown[];
    if (all.includes(kind)) return plugin.name;
  }
  return '@stepwise/core';
}

const withDescriptions = (rows: Row[]) =>
  rows.map((r) => ({
    ...r,
    description: r.description || (DESCRIPTIONS[r.path] ?? ''),
    default: DEFAULTS[r.path] ?? r.default,
  }));

function kindSection(block: string, kinds: readonly Kind[], one: boolean): string {
  const parts: string[] = [];
  for (const k of kinds) {
    const owner = ownerOf(k);
    const schema = typeof k.options === 'function' ? k.options(CONTEXT) : k.options;
    const files = COMMENTS[`${block}.${k.kind}`] ?? COMMENTS.default ?? [];
    const rows = withDescriptions(schemaRows(schema, `${block}.${k.kind}`, new Comments(files), k.defaults ?? {}));
    const from = owner === '@stepwise/core' ? '' : ` (from \`${owner}\`, loaded when a config names it)`;
    parts.push(`### \`${block}.${k.kind}\`\n\n${k.description}${from}.\n`);
    parts.push(rows.length ? table(rows) : 'No options: write `{}`.');
    parts.push('');
  }
  const choose = one ? 'Give exactly one kind.' : 'Give options for any number of kinds.';
  return `${choose}\n\n${parts.join('\n')}`;
}

function sectionRows(): string {
  const parts: string[] = [];
  const comments = new Comments(COMMENTS.sections ?? []);
  for (const section of configSections().values()) {
    const rows: Row[] = schemaRows(section.schema, section.name, comments);
    parts.push(`### \`${section.name}\` (from \`@stepwise/daemon\`)\n\n${section.description}.\n\n${table(rows)}\n`);
  }
  return parts.join('\n');
}

export function configReference(): string {
  registerPlugin(queuePlugin);
  registerPlugin(daemonPlugin);
  const core = new Comments(sources('core/src/config/instance-config.ts'));
  const coordinator = table(withDescriptions(schemaRows(runCoordinatorSchema, 'runCoordinator', core)));
  const env = [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...ENVIRONMENT.map((e) => `| \`${e.name}\` | ${e.default} | ${e.description} |`),
  ].join('\n');
  return `<!-- Generated by scripts/docs/config-reference.ts from the zod schemas: do not edit by hand.
     Regenerate: npx tsx --conditions=source scripts/docs/config-reference.ts -->

# Configuration reference

Two documents configure Stepwise:

- **\`stepwise.yaml\`**, the instance: where runs, events, step outputs and compute logs live, and instance-wide
  defaults. Read from \`$STEPWISE_HOME/stepwise.yaml\` (default \`./.stepwise/stepwise.yaml\`). Every key is
  optional; an absent file means every default below. Relative directories resolve against the file's directory.
- **The run config**, one run's settings: op config, unconnected inputs, resources, the executor and tags. Given
  as YAML files (\`stepwise run -c a.yaml -c b.yaml\`, deep-merged in order) or as an object
  (\`executePipeline(p, { runConfig })\`).

Both are validated before anything runs: every problem is listed by dotted path
(\`ops.extract.config.limit: expected number, got string\`), with exit code 2 and error code \`CONFIG_INVALID\`.

**Values from the environment.** Any string value of either document may be written \`{ env: NAME }\`: the value
of the environment variable NAME. It is secret: ops and resources get the string, while logs, events, \`runs show\`
and stored records show \`***\`; a run stores the reference and reads the variable again on \`resume\`. A variable
that is not set is a config error naming the key and the variable.

**Plugins.** Executors, storage, IO managers and compute log managers are plugin kinds; the tables below list
those of \`@stepwise/core\`, \`@stepwise/executor-queue\` and \`@stepwise/daemon\`. A plugin named under
\`plugins:\` adds its own (see [plugins.md](plugins.md)).

## \`stepwise.yaml\`

| key | type | default | description |
| --- | --- | --- | --- |
| \`plugins\` | array of string | — | Plugin modules (package names, or paths relative to the file) loaded before the rest is read. |
| \`storage\` | one kind | \`{ sqlite: {} }\` | Where runs and their event logs live. |
| \`io\` | one kind | \`{ fs: {} }\` | Where step outputs (intermediates) live. With none given, queue runs keep them in the run's Redis. |
| \`computeLogs\` | one kind | \`{ fs: {} }\` | Where captured step stdout/stderr goes. |
| \`runCoordinator\` | object | — (runs launch at once) | The run queue of \`stepwise submit\` and the daemon. |
| \`execution\` | kinds | — | Instance-wide defaults per executor kind; a run config's \`execution\` overrides them. |
${[...configSections().values()].map((s) => `| \`${s.name}\` | object | see below | ${s.description} (from \`@stepwise/daemon\`). |`).join('\n')}

## \`storage\`

${kindSection('storage', storageKinds.registered(), true)}
## \`io\`

${kindSection('io', ioKinds.registered(), true)}
## \`computeLogs\`

${kindSection('computeLogs', computeLogKinds.registered(), true)}
## \`runCoordinator\`

Present: \`stepwise submit\`ted runs wait QUEUED and the daemon dequeues them under these limits (priority tag
\`stepwise/priority\`, higher first, then FIFO). \`queued: {}\` takes every default.

${coordinator}

## \`execution\` (stepwise.yaml and run config)

In stepwise.yaml: defaults per kind. In a run config: the run's executor, exactly one kind (default \`inProcess\`);
its options override stepwise.yaml's. \`stepwise run --executor in-process|multiprocess|queue\` picks the kind.

${kindSection('execution', executorKinds.registered(), false)}
## Daemon sections

${sectionRows()}
## The run config

Its shape depends on the pipeline: each op's \`config\` schema, each unconnected input, each resource's \`config\`.
\`stepwise plan -f FILE -c config.yaml\` validates one without running it; \`runConfigSchema(pipeline)\` returns it
as a zod schema (for JSON Schema export or an editor).

| key | type | default | description |
| --- | --- | --- | --- |
| \`ops.<step>.config\` | the op's \`config\` schema | the schema's defaults | Per-op config (\`ctx.config\`). Required when the schema has required keys without defaults. \`<step>\` is the op's name in the pipeline, or its alias. |
| \`ops.<step>.inputs.<input>\` | the input's schema | — | A value for an input no upstream output feeds. An input fed by an upstream output cannot be given here (\`input fed twice\`). |
| \`resources.<name>.config\` | the resource's \`config\` schema | the schema's defaults | Config of a pipeline resource, given to its setup. |
| \`execution\` | one executor kind | \`{ inProcess: {} }\` | See above. |
| \`tags\` | map of string to string | — | Tags stored on the run (\`--tag k=v\` adds more). \`stepwise/priority\`, \`stepwise/max-runtime-ms\` are read by the daemon. |

\`\`\`yaml
ops:
  extract: { config: { limit: 5 } }
  total: { inputs: { rows: [ { id: 1 } ] } }
resources:
  db: { config: { url: { env: DATABASE_URL } } }
execution:
  queue: { defaultQueue: default }
tags: { team: data }
\`\`\`

## Environment variables

${env}
`;
}

/** The environment variable names the published packages' sources mention. */
export function environmentNamesInSources(): string[] {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/\b(STEPWISE_[A-Z_]+|REDIS_URL|PG[A-Z]+)\b/g))
          names.add(m[1] as string);
      }
    }
  };
  for (const pkg of ['core', 'executor-queue', 'worker', 'daemon', 'compile', 'ui'])
    walk(join(ROOT, 'packages', pkg, 'src'));
  names.delete('STEPWISE_BIN'); // a constant: the CLI's path, not a variable
  return [...names].sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = configReference();
  if (process.argv.includes('--check')) {
    if (readFileSync(CONFIG_DOC, 'utf8') !== text) {
      console.error('docs/configuration.md is stale: run npx tsx --conditions=source scripts/docs/config-reference.ts');
      process.exit(1);
    }
  } else writeFileSync(CONFIG_DOC, text);
}
