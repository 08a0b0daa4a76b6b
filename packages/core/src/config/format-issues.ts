import type { z } from 'zod';
import type { ConfigIssue } from '../errors/index.js';

type ZodIssue = z.core.$ZodIssue;

interface LooseDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
}
const defOf = (schema: z.ZodType) => schema._zod.def as unknown as LooseDef;

/**
 * Keys of `value` that a plain `z.object()` in `schema` would silently strip. Users write `z.object` for op
 * config, but a typo in a config key must be reported, not dropped (Dagster's config is strict too).
 * Objects declared loose (`z.looseObject`, a catchall) keep their extra keys and are not checked.
 */
export function strippedKeys(schema: z.ZodType, value: unknown, prefix: readonly PropertyKey[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const visit = (s: z.ZodType, v: unknown, path: PropertyKey[], depth: number) => {
    if (depth > 32 || v === null || typeof v !== 'object') return;
    const def = defOf(s);
    switch (def.type) {
      case 'object': {
        if (Array.isArray(v) || def.shape === undefined) return;
        for (const [key, child] of Object.entries(v)) {
          // Own keys only: `toString` or `__proto__` in a config must not find Object.prototype's members.
          const field = Object.hasOwn(def.shape, key) ? def.shape[key] : undefined;
          if (field) visit(field, child, [...path, key], depth + 1);
          else if (def.catchall === undefined) out.push({ path: formatPath([...path, key]), message: 'unknown key' });
        }
        return;
      }
      case 'array':
        if (Array.isArray(v) && def.element) {
          for (let i = 0; i < v.length; i++) visit(def.element, v[i], [...path, i], depth + 1);
        }
        return;
      case 'record':
        if (!Array.isArray(v) && def.valueType) {
          for (const [key, child] of Object.entries(v)) visit(def.valueType, child, [...path, key], depth + 1);
        }
        return;
      case 'pipe':
        if (def.in) visit(def.in, v, path, depth + 1);
        return;
      default:
        // optional, nullable, default, prefault, readonly, catch, nonoptional: look through the wrapper.
        if (def.innerType) visit(def.innerType, v, path, depth + 1);
    }
  };
  visit(schema, value, [...prefix], 0);
  return out;
}
type PathKey = PropertyKey;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['ops', 'extract', 'config', 'rows', 0]` -> `ops.extract.config.rows[0]`. Odd keys are quoted: `tags["a.b"]`. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'symbol') out += `[${String(key)}]`;
    else if (IDENTIFIER.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** The type name a user would use for a config value: `string`, `number`, `array`, `null`, `object`, ... */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (value instanceof Date) return 'date';
  return typeof value;
}

/** The value at `path` inside `root`, or `found: false` when some segment is missing. */
function valueAt(root: unknown, path: readonly PathKey[]): { found: boolean; value: unknown } {
  let current = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) {
      return { found: false, value: undefined };
    }
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: current };
}

const EXPECTED_NAMES: Record<string, string> = { int: 'integer', nan: 'NaN' };

function typeMismatch(expected: string, value: unknown): string {
  const name = EXPECTED_NAMES[expected] ?? expected;
  // "expected integer, got number" reads as a contradiction; show the value instead.
  if (expected === 'int' && typeof value === 'number') return `expected integer, got ${value}`;
  return `expected ${name}, got ${describeType(value)}`;
}

/**
 * Converts zod 4 issues into `{ path, message }` with dotted paths and messages in Stepwise's form
 * (`expected number, got string`, `unknown key`, `required`). Zod does not keep the input in its issues
 * by default, so the received type is read from `input` (the value the schema parsed) at the issue's path.
 *
 * @param input the value that was parsed (used to name the received type)
 * @param prefix path of `input` inside the whole document, prepended to every issue path
 */
export function formatZodIssues(
  issues: readonly ZodIssue[],
  input: unknown,
  prefix: readonly PathKey[] = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) formatIssue(issue, input, prefix, [], out);
  return out;
}

function formatIssue(
  issue: ZodIssue,
  input: unknown,
  prefix: readonly PathKey[],
  base: readonly PathKey[],
  out: ConfigIssue[],
): void {
  const local = [...base, ...issue.path];
  const path = formatPath([...prefix, ...local]);
  switch (issue.code) {
    case 'invalid_type': {
      // z.never() is only used to carry a custom explanation (e.g. "input fed twice").
      if (issue.expected === 'never') {
        out.push({ path, message: issue.message });
        return;
      }
      const { found, value } = valueAt(input, local);
      out.push({ path, message: !found || value === undefined ? 'required' : typeMismatch(issue.expected, value) });
      return;
    }
    case 'unrecognized_keys':
      for (const key of issue.keys) out.push({ path: formatPath([...prefix, ...local, key]), message: 'unknown key' });
      return;
    case 'invalid_union': {
      const branches = issue.errors;
      if (branches.length === 0) {
        out.push({ path, message: issue.message });
        return;
      }
      // Every branch rejected the value's type itself: say which types would do.
      const rootTypes = branches.map((b) =>
        b.length === 1 && b[0]?.code === 'invalid_type' && b[0].path.length === 0 ? b[0].expected : undefined,
      );
      if (rootTypes.every((t) => t !== undefined)) {
        const { found, value } = valueAt(input, local);
        const names = [...new Set(rootTypes.map((t) => EXPECTED_NAMES[t as string] ?? t))];
        const got = !found || value === undefined ? undefined : describeType(value);
        out.push({ path, message: got === undefined ? 'required' : `expected ${names.join(' | ')}, got ${got}` });
        return;
      }
      // Otherwise report the branch that came closest (fewest problems).
      let best = branches[0] as readonly ZodIssue[];
      for (const b of branches) if (b.length < best.length) best = b;
      for (const sub of best) formatIssue(sub, input, prefix, local, out);
      return;
    }
    case 'invalid_key':
    case 'invalid_element':
      for (const sub of issue.issues) formatIssue(sub, input, prefix, local, out);
      if (issue.issues.length === 0) out.push({ path, message: issue.message });
      return;
    default:
      out.push({ path, message: issue.message });
  }
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** Up to `limit` names from `candidates` close to `name` (typos, case, prefixes), best first. */
export function closeMatches(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const lower = name.toLowerCase();
  const scored: Array<[string, number]> = [];
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const distance = editDistance(lower, cl);
    const related = cl.includes(lower) || lower.includes(cl);
    if (distance <= Math.max(1, Math.round(name.length / 3)) || (related && Math.min(cl.length, lower.length) >= 3)) {
      scored.push([c, related ? Math.min(distance, 1) : distance]);
    }
  }
  scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
  return scored.slice(0, limit).map(([c]) => c);
}

/** `; did you mean 'a' or 'b'?` or an empty string. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const matches = closeMatches(name, candidates);
  if (matches.length === 0) return '';
  const quoted = matches.map((m) => `'${m}'`);
  const last = quoted.pop() as string;
  return `; did you mean ${quoted.length ? `${quoted.join(', ')} or ${last}` : last}?`;
}
