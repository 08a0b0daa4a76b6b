import { UiRequestError } from '../errors.js';

/** Every value of a repeatable query parameter, comma-separated values split (`type=A,B&type=C`). */
export function listParam(url: URL, name: string): string[] {
  return url.searchParams
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** An integer query parameter within [min, max], or `fallback` when absent; anything else is a 400 naming it. */
export function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UiRequestError(
      'BAD_REQUEST',
      `query parameter '${name}' must be an integer from ${min} to ${max}, got '${raw}'`,
    );
  }
  return value;
}

/** An optional integer query parameter (undefined when absent). */
export function optionalIntParam(url: URL, name: string, min: number, max: number): number | undefined {
  return url.searchParams.get(name) === null ? undefined : intParam(url, name, min, min, max);
}
