import { isPlainObject } from './deep-merge.js';

/**
 * `{ env: NAME }`: a config value read from the environment variable NAME (as Dagster's `{ env: ... }`), in
 * stepwise.yaml and in run config. Values read this way are secret: never printed, and a run records the
 * reference, not the value, and reads it again on resume.
 */
export interface EnvRef {
  env: string;
}

/** An object with the single key `env` naming a variable. */
export function isEnvRef(value: unknown): value is EnvRef {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'env' && typeof value.env === 'string' && value.env !== '';
}
