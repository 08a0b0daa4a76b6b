import { SerializationError } from '../errors/index.js';

/**
 * Objects the codec keeps whole (see codec.ts): anything else that is not a plain object or an array would lose
 * its prototype, methods or contents on the way (msgpackr turns a function into undefined, a class instance
 * into a plain object, a WeakMap into `{}`).
 */
const KEPT: readonly (abstract new (...args: never[]) => unknown)[] = [
  Date,
  Map,
  Set,
  Error,
  RegExp,
  ArrayBuffer,
  DataView,
];

function kept(value: object): boolean {
  if (ArrayBuffer.isView(value)) return true;
  return KEPT.some((type) => value instanceof type);
}

function describeType(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'symbol') return `a symbol (${value.toString()})`;
  const name = (value as object).constructor?.name;
  return name ? `an instance of ${name}` : 'an object with a foreign prototype';
}

/**
 * Throws a SerializationError naming `what`, where in it and the type, when `value` holds something that cannot
 * cross the wire unchanged. Checked for every executor, in-process too, so a pipeline that passes here passes on
 * the queue and the multiprocess executors (where values are encoded) the same way.
 */
export function assertWireSafe(value: unknown, what: string): void {
  const seen = new Set<object>();
  const visit = (v: unknown, path: string): void => {
    if (typeof v === 'function' || typeof v === 'symbol') throw refuse(v, path);
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) visit(item, `${path}[${i}]`);
      return;
    }
    if (v instanceof Map) {
      for (const [key, item] of v) {
        visit(key, `${path} (a Map key)`);
        visit(item, `${path}.get(${typeof key === 'string' ? JSON.stringify(key) : String(key)})`);
      }
      return;
    }
    if (v instanceof Set) {
      for (const item of v) visit(item, `${path} (a Set item)`);
      return;
    }
    if (kept(v)) return;
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw refuse(v, path);
    for (const key of Object.getOwnPropertySymbols(v)) throw refuse(key, `${path}[${key.toString()}]`);
    for (const [key, item] of Object.entries(v)) visit(item, `${path}.${key}`);
  };
  visit(value, '');
  function refuse(v: unknown, path: string): SerializationError {
    return new SerializationError(
      `${what} holds ${describeType(v)}${path ? ` at ${path.replace(/^\./, '')}` : ''}, which cannot be serialized to pass between steps; return plain data (objects, arrays, strings, numbers, Date, Map, Set, Buffer) instead`,
    );
  }
}
