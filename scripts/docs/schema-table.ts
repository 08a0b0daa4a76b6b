/**
 * Rows of a configuration reference from a zod schema: each key (nested objects flattened to dotted paths) with
 * its type, default and description. Types and defaults come from the schema (z.toJSONSchema, and a parse of `{}`
 * for defaults a transform applies); descriptions from the TSDoc comment on the key in the schema's source file,
 * since the schemas carry none at run time. A "Default ..." sentence in the comment is the default when the schema
 * has none (options whose defaults the code applies later).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export interface Row {
  path: string;
  type: string;
  required: boolean;
  default: string;
  description: string;
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  default?: unknown;
  minLength?: number;
  minimum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
}

/** TSDoc comments on object keys, in source order: `/** text *\/ key:`. */
export class Comments {
  private readonly entries: { key: string; text: string }[] = [];
  private cursor = 0;

  constructor(files: readonly string[]) {
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(
        /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(?:readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)\??\s*:/g,
      )) {
        const text = (m[1] as string)
          .split('\n')
          .map((l) => l.replace(/^\s*\*\s?/, '').trim())
          .join(' ')
          .replace(/\s+/g, ' ')
          .trim();
        this.entries.push({ key: m[2] as string, text });
      }
    }
  }

  /** The next comment on `key` after the last one taken (schemas are walked in source order), else the first. */
  take(key: string): string {
    const after = this.entries.findIndex((e, i) => i >= this.cursor && e.key === key);
    const index = after >= 0 ? after : this.entries.findIndex((e) => e.key === key);
    if (index < 0) return '';
    this.cursor = index + 1;
    return this.entries[index]?.text ?? '';
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  const t = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
  const bounds: string[] = [];
  if (s.exclusiveMinimum !== undefined) bounds.push(`> ${s.exclusiveMinimum}`);
  if (s.minimum !== undefined && s.minimum > -MAX_SAFE) bounds.push(`≥ ${s.minimum}`);
  if (t === 'string' && s.minLength) bounds.push('non-empty');
  if (s.pattern) bounds.push(`matching \`${s.pattern}\``);
  if (t === 'array' && s.items) return `array of ${typeOf(s.items)}`;
  return bounds.length ? `${t} (${bounds.join(', ')})` : t;
}

const fromComment = (text: string) => /\bDefault:?\s+(.+?)(?:\.(?:\s|$)|;|$)/.exec(text)?.[1]?.trim();

const show = (value: unknown) => (typeof value === 'string' ? `\`${value}\`` : `\`${JSON.stringify(value)}\``);

/**
 * The rows of `schema` under `prefix`. `defaults` are applied values the schema does not declare (an executor's
 * `defaults`); `parsedDefaults` what parsing `{}` yields (transforms' defaults, e.g. directories under the home).
 */
export function schemaRows(
  schema: z.ZodType,
  prefix: string,
  comments: Comments,
  defaults: Record<string, unknown> = {},
): Row[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const parsed = schema.safeParse({});
  const parsedDefaults =
    parsed.success && typeof parsed.data === 'object' ? (parsed.data as Record<string, unknown>) : {};
  return objectRows(json, prefix, comments, { ...parsedDefaults, ...defaults });
}

function objectRows(json: JsonSchema, prefix: string, comments: Comments, defaults: Record<string, unknown>): Row[] {
  const rows: Row[] = [];
  for (const [key, prop] of Object.entries(json.properties ?? {})) {
    const path = `${prefix}.${key}`;
    const description = comments.take(key);
    const given = prop.default !== undefined ? prop.default : defaults[key];
    const fallback = fromComment(description);
    const isObject = prop.type === 'object' && prop.properties !== undefined;
    rows.push({
      path,
      type: isObject && Object.keys(prop.properties ?? {}).length === 0 ? 'object (`{}`)' : typeOf(prop),
      required: json.required?.includes(key) === true && prop.default === undefined,
      default: given !== undefined && !(Array.isArray(given) && given.length === 0) ? show(given) : (fallback ?? '—'),
      description,
    });
    if (isObject) rows.push(...objectRows(prop, path, comments, {}));
    if (prop.type === 'array' && prop.items?.properties)
      rows.push(...objectRows(prop.items, `${path}[]`, comments, {}));
  }
  return rows;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** A Markdown table of rows. */
export function table(rows: readonly Row[]): string {
  const lines = ['| key | type | default | description |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    const type = r.required ? `${r.type}, **required**` : r.type;
    lines.push(`| \`${r.path}\` | ${type} | ${cell(r.default)} | ${cell(r.description)} |`);
  }
  return lines.join('\n');
}
