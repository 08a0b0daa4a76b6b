import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { formatZodIssues } from '../config/format-issues.js';
import { ConfigError, LoadError } from '../errors/index.js';
import type { ExecutionPlan } from './plan.js';

/** Exit code of `execute-step --create-run` for a step the run skips: BashOperator's default `skip_on_exit_code`. */
export const EXIT_SKIPPED = 99;

/** The environment variable naming a mapped task's mapping key (Airflow's expanded `env`, Argo's `{{item}}`). */
export const MAPPING_KEY_ENV = 'STEPWISE_MAPPING_KEY';

/** The `kind` of a compiled plan file. */
export const COMPILED_PLAN_KIND = 'stepwise/compiled-plan';

/**
 * A pipeline and its run config compiled for another scheduler (docs/deploy/airflow.md, argo.md): written beside an Airflow DAG or inside
 * an Argo Workflow, read by `stepwise execute-step --create-run --plan FILE`. Plain JSON, secrets never in it.
 */
export interface CompiledPlan {
  kind: typeof COMPILED_PLAN_KIND;
  version: 1;
  pipeline: string;
  /** The run config as given (recorded with each run created from this plan). */
  runConfig: unknown;
  /** Tags of every run created from this plan. */
  tags: Record<string, string>;
  plan: ExecutionPlan;
}

const compiledPlanSchema = z.object({
  kind: z.literal(COMPILED_PLAN_KIND),
  version: z.literal(1),
  pipeline: z.string().min(1),
  runConfig: z.unknown(),
  tags: z.record(z.string(), z.string()),
  plan: z.looseObject({
    version: z.literal(1),
    pipeline: z.string(),
    fingerprint: z.string(),
    steps: z.array(z.looseObject({ key: z.string(), upstream: z.array(z.string()) })),
  }),
});

/** Parses a compiled plan file's text; `source` names it in errors. */
export function parseCompiledPlan(text: string, source: string): CompiledPlan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`compiled plan '${source}'`, [
      { path: source, message: `not JSON (${(error as Error).message}); compile it again` },
    ]);
  }
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (kind !== COMPILED_PLAN_KIND) {
    throw new ConfigError(`compiled plan '${source}'`, [
      {
        path: 'kind',
        message: `not a compiled plan (kind ${JSON.stringify(kind ?? null)}); write one with stepwise airflow|argo compile`,
      },
    ]);
  }
  const parsed = compiledPlanSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(
      `compiled plan '${source}' (write it with stepwise airflow|argo compile)`,
      formatZodIssues(parsed.error.issues, value),
    );
  }
  return value as CompiledPlan;
}

/** Reads a compiled plan file (see {@link parseCompiledPlan}); a missing file is a LoadError naming it. */
export function readCompiledPlan(file: string): CompiledPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LoadError(`cannot read compiled plan '${file}': ${(error as Error).message}`, { cause: error });
  }
  return parseCompiledPlan(text, file);
}

/** JSON with object keys sorted: the same value always gives the same text (stored plans compare by it). */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}
