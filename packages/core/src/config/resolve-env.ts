import { ConfigError, type ConfigIssue } from '../errors/index.js';
import { isPlainObject } from './deep-merge.js';
import { isEnvRef } from './env-ref.js';
import { formatPath } from './format-issues.js';
import { addSecretValues, collectSecretValues, type Secret, secret } from './redact.js';

export interface ResolveEnvOptions {
  /** What the config is, for the error (`run config for pipeline 'etl'`, `instance config '<file>'`). */
  what: string;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * `secret`: each value becomes a {@link secret} (run config: ops get the string, storage and output `***`).
   * `plain`: the string itself, remembered as a secret of this process (stepwise.yaml: never printed in a run).
   */
  as: 'secret' | 'plain';
}

const MAX_DEPTH = 64;

/**
 * `value` with every `{ env: NAME }` (see isEnvRef) replaced by the variable's value; parts without one are shared,
 * and `value` itself is returned when it has none. A variable that is not set is a ConfigError naming each key and
 * variable.
 */
export function resolveEnvRefs<T>(value: T, options: ResolveEnvOptions): T {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const found: string[] = [];
  const visit = (v: unknown, path: PropertyKey[]): unknown => {
    if (isEnvRef(v)) {
      const read = env[v.env];
      if (read === undefined) {
        issues.push({
          path: formatPath(path),
          message: `the environment variable ${v.env} is not set (the value is { env: ${v.env} }); set it, or give the value in the file`,
        });
        return v;
      }
      found.push(read);
      return options.as === 'secret' ? (secret(read) satisfies Secret) : read;
    }
    if (path.length > MAX_DEPTH || typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      const out = v.map((item, i) => visit(item, [...path, i]));
      return out.some((item, i) => item !== v[i]) ? out : v;
    }
    if (!isPlainObject(v)) return v;
    let out: Record<string, unknown> | undefined;
    for (const key of Object.keys(v)) {
      const next = visit(v[key], [...path, key]);
      if (next !== v[key]) {
        out ??= { ...v };
        Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
      }
    }
    return out ?? v;
  };
  const resolved = visit(value, []) as T;
  if (issues.length > 0) throw new ConfigError(options.what, issues);
  if (options.as === 'plain') addSecretValues(...found);
  return resolved;
}

/** Whether `value` holds a `{ env: NAME }` anywhere. */
export function hasEnvRefs(value: unknown, depth = 0): boolean {
  if (isEnvRef(value)) return true;
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return false;
  const children = Array.isArray(value) ? value : isPlainObject(value) ? Object.values(value) : [];
  return children.some((child) => hasEnvRefs(child, depth + 1));
}

/**
 * The secret strings of a run config (see collectSecretValues), the values its `{ env: NAME }` read included. A
 * variable not set counts for nothing here: validation reports it.
 */
export function runConfigSecrets(raw: unknown): string[] {
  let resolved = raw;
  try {
    resolved = resolveEnvRefs(raw, { what: 'run config', as: 'secret' });
  } catch {}
  return collectSecretValues(resolved);
}
