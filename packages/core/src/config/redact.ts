import { inspect } from 'node:util';
import type { StepwiseEvent } from '../events/events.js';
import type { ExecutionPlan, PlanInput, PlanStep } from '../plan/plan.js';
import { isPlainObject } from './deep-merge.js';
import { isEnvRef } from './env-ref.js';

/** What a redacted value is replaced with. */
export const REDACTED = '***';

/**
 * Config keys whose values are secrets. Matched anywhere in the key, case-insensitively, so `dbPassword`,
 * `api_key` and `GITHUB_TOKEN` match (and so do `bypass` or `maxTokens`: over-redacting is the safe side).
 */
export const DEFAULT_REDACT_KEY_PATTERN = /pass(word)?|secret|token|api[_-]?key|credential|private[_-]?key/i;

/**
 * Secret values shorter than this are not searched for inside other strings (a 2-letter password would blank out
 * every word containing it); their keys are still redacted.
 */
export const MIN_SCRUBBED_SECRET_LENGTH = 6;

// Registered with Symbol.for so that a Secret made by another copy of @stepwise/core is still recognised.
const SECRET_BRAND = Symbol.for('stepwise.secret');

/**
 * A run config value that must never be stored or printed. Ops and resources receive the real value; the run
 * record, events and CLI output show `***`. Made with {@link secret}.
 */
export class Secret {
  readonly [SECRET_BRAND] = true;
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== 'string') throw new TypeError(`secret() takes a string, got ${typeof value}`);
    this.#value = value;
  }

  /** The real value. */
  reveal(): string {
    return this.#value;
  }

  // Every way a value gets printed or serialised shows the mask, so a stray log line cannot leak it.
  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * Marks a run config value as secret: `{ resources: { db: { config: { url: secret(process.env.DB_URL) } } } }`.
 * The op or resource gets the plain string; storage, events and `stepwise runs` show `***`.
 */
export function secret(value: string): Secret {
  return new Secret(value);
}

/** True for a value made by {@link secret} (by any copy of @stepwise/core). */
export function isSecret(value: unknown): value is Secret {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SECRET_BRAND] === true;
}

const extraKeys = new Set<string>();
let envKeysSource: string | undefined;
let envKeys: string[] = [];

/**
 * Adds key names (case-insensitive, matched as substrings like the default pattern) to the redaction list of this
 * process. `$STEPWISE_REDACT_KEYS` (comma-separated) adds more without code.
 */
export function addRedactKeys(...keys: string[]): void {
  for (const k of keys) if (k.trim()) extraKeys.add(k.trim().toLowerCase());
}

/** True when values under `key` are secrets: the default pattern, {@link addRedactKeys} or `$STEPWISE_REDACT_KEYS`. */
export function isSecretKey(key: string): boolean {
  if (DEFAULT_REDACT_KEY_PATTERN.test(key)) return true;
  const fromEnv = process.env.STEPWISE_REDACT_KEYS;
  if (fromEnv !== envKeysSource) {
    envKeysSource = fromEnv;
    envKeys = (fromEnv ?? '')
      .split(',')
      .map((k) => k.trim().toLowerCase())
      .filter(Boolean);
  }
  if (extraKeys.size === 0 && envKeys.length === 0) return false;
  const lower = key.toLowerCase();
  for (const k of extraKeys) if (lower.includes(k)) return true;
  for (const k of envKeys) if (lower.includes(k)) return true;
  return false;
}

// Deeper than any sane config; stops a cyclic value from recursing forever.
const MAX_DEPTH = 64;

/**
 * Replaces every {@link Secret} in `value` by its real value. Plain objects and arrays on the way are copied;
 * a value without secrets is returned as is. Run config goes through this before validation.
 */
export function revealSecrets<T>(value: T): T {
  return reveal(value, 0) as T;
}

function reveal(value: unknown, depth: number): unknown {
  if (isSecret(value)) return value.reveal();
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = reveal(value[i], depth + 1);
      if (v !== value[i]) {
        out ??= value.slice();
        out[i] = v;
      }
    }
    return out ?? value;
  }
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const v = reveal(value[key], depth + 1);
    if (v !== value[key]) {
      out ??= copyObject(value);
      setOwn(out, key, v);
    }
  }
  return out ?? value;
}

/**
 * The secret strings in a run config: the values marked with {@link secret} and the strings under secret keys.
 * They are searched for (and masked) inside other strings of the stored plan and events, e.g. an error message
 * that quotes a connection URL.
 */
export function collectSecretValues(value: unknown): string[] {
  const found = new Set<string>(processSecrets);
  const visit = (v: unknown, underSecretKey: boolean, depth: number) => {
    if (isEnvRef(v)) return;
    if (isSecret(v)) {
      found.add(v.reveal());
      return;
    }
    if (typeof v === 'string') {
      if (underSecretKey) found.add(v);
      return;
    }
    if (depth > MAX_DEPTH || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) for (const item of v) visit(item, underSecretKey, depth + 1);
    else if (isPlainObject(v)) {
      for (const key of Object.keys(v)) visit(v[key], underSecretKey || isSecretKey(key), depth + 1);
    }
  };
  visit(value, false, 0);
  return [...found].filter((s) => s.length >= MIN_SCRUBBED_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** Secret strings of this process outside any run config (stepwise.yaml values read from the environment). */
const processSecrets = new Set<string>();

/** Adds strings every run of this process masks (see {@link collectSecretValues}). */
export function addSecretValues(...values: string[]): void {
  for (const v of values) processSecrets.add(v);
}

export interface RedactOptions {
  /** Secret strings to mask wherever they appear inside other strings (see {@link collectSecretValues}). */
  secrets?: readonly string[];
}

/**
 * A deep copy of `value` with the values under secret keys ({@link isSecretKey}) and {@link secret} values replaced
 * by `***`, and, inside strings, URL passwords and any of `options.secrets` masked. Non-plain objects (Date, Map,
 * Buffer) are kept as they are.
 */
export function redactConfig(value: unknown, options: RedactOptions = {}): unknown {
  return redact(value, options.secrets ?? [], true, 0);
}

/**
 * Like {@link redactConfig}, but unchanged parts are shared with the input, and the input itself is returned when
 * nothing needed redacting (cheap on hot paths such as log lines).
 */
export function redactValue<T>(value: T, options: RedactOptions = {}): T {
  return redact(value, options.secrets ?? [], false, 0) as T;
}

// `scheme://user:password@host`: the password part of a URL's userinfo.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)([^@\s/]+)@/gi;

/** Masks each secret inside `text`, and the password of any URL in it (`postgres://u:***@h/db`). */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  if (out.includes('://')) out = out.replace(URL_PASSWORD, `$1${REDACTED}@`);
  return out;
}

/** Copy-on-write redaction unless `copy`: unchanged subtrees are shared with the input. */
function redact(value: unknown, secrets: readonly string[], copy: boolean, depth: number): unknown {
  if (isSecret(value)) return REDACTED;
  if (typeof value === 'string') return scrub(value, secrets);
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined = copy ? value.slice() : undefined;
    for (let i = 0; i < value.length; i++) {
      const v = redact(value[i], secrets, copy, depth + 1);
      if (v !== value[i]) {
        out ??= value.slice();
        out[i] = v;
      }
    }
    return out ?? value;
  }
  // A `{ env: NAME }` names where a secret comes from, not the secret: kept, so that a resume reads it again.
  if (!isPlainObject(value) || isEnvRef(value)) return value;
  let out: Record<string, unknown> | undefined = copy ? copyObject(value) : undefined;
  for (const key of Object.keys(value)) {
    const v = isSecretKey(key) && !isEnvRef(value[key]) ? REDACTED : redact(value[key], secrets, copy, depth + 1);
    if (v !== value[key]) {
      out ??= copyObject(value);
      setOwn(out, key, v);
    }
  }
  return out ?? value;
}

function copyObject(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setOwn(out, key, value[key]);
  return out;
}

// defineProperty: a `__proto__` key stays an own key instead of changing the copy's prototype.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

function redactInputs(inputs: Record<string, PlanInput>, secrets: readonly string[]): Record<string, PlanInput> {
  let out: Record<string, PlanInput> | undefined;
  for (const [name, input] of Object.entries(inputs)) {
    if (input.from !== 'config') continue;
    const value = isSecretKey(name) ? REDACTED : redact(input.value, secrets, false, 0);
    if (value !== input.value) {
      out ??= { ...inputs };
      out[name] = { from: 'config', value };
    }
  }
  return out ?? inputs;
}

/**
 * The plan as it may be stored: op configs, config-fed inputs and resource configs redacted like
 * {@link redactConfig}. Unchanged steps are shared with `plan`, which keeps the real values for execution.
 */
export function redactPlan(plan: ExecutionPlan, options: RedactOptions = {}): ExecutionPlan {
  const secrets = options.secrets ?? [];
  let steps: PlanStep[] | undefined;
  plan.steps.forEach((step, i) => {
    const config = redact(step.config, secrets, false, 0);
    const inputs = redactInputs(step.inputs, secrets);
    if (config !== step.config || inputs !== step.inputs) {
      steps ??= plan.steps.slice();
      steps[i] = { ...step, config, inputs };
    }
  });
  const resources = redact(plan.resources, secrets, false, 0) as Record<string, unknown>;
  if (!steps && resources === plan.resources) return plan;
  return { ...plan, steps: steps ?? plan.steps, resources };
}

// Events whose payload is fixed engine data (keys, counts, durations): nothing of the user's can be in them.
const ENGINE_ONLY = new Set<StepwiseEvent['type']>([
  'RUN_START',
  'RUN_SUCCESS',
  'STEP_START',
  'STEP_INPUT',
  'STEP_OUTPUT',
  'STEP_SUCCESS',
  'STEP_RESTARTED',
]);

/**
 * The event as it may be stored or shown: in its `message` and `data` (log fields, error messages and stacks,
 * materialization metadata, engine details), values under secret keys become `***` and `options.secrets` are
 * masked. Returns the same object when there is nothing to redact.
 */
export function redactEvent<E extends StepwiseEvent>(event: E, options: RedactOptions = {}): E {
  if (ENGINE_ONLY.has(event.type)) return event;
  const secrets = options.secrets ?? [];
  const data = redact(event.data, secrets, false, 0);
  const message = event.message === undefined ? undefined : scrub(event.message, secrets);
  if (data === event.data && message === event.message) return event;
  return { ...event, data, ...(message === undefined ? {} : { message }) } as E;
}
