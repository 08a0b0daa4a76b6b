/** A Python string literal of `text` (a JSON string is one: same quotes and escapes). */
export function pyStr(text: string): string {
  return JSON.stringify(text);
}

/** A Python literal of a JSON-like value (str, int, float, bool, None, list, dict), on one line. */
export function pyValue(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'None';
  if (typeof value === 'string') return pyStr(value);
  if (Array.isArray(value)) return `[${value.map(pyValue).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${pyStr(k)}: ${pyValue(v)}`).join(', ')}}`;
}
