import { isMap, isPair, isScalar, isSeq, type Node, parseDocument } from 'yaml';

/** A character range of the YAML text and how exactly it matches the error's path. */
export interface PathRange {
  readonly from: number;
  readonly to: number;
  /** False when the path's tail is absent (a missing key): the range is its deepest existing parent's key. */
  readonly exact: boolean;
}

export interface YamlSyntaxError {
  readonly from: number;
  readonly to: number;
  readonly message: string;
}

/** Syntax errors of the text, as YAML reports them, before any schema check. */
export function yamlSyntaxErrors(text: string): YamlSyntaxError[] {
  const doc = parseDocument(text);
  return doc.errors.map((e) => ({ from: e.pos[0], to: e.pos[1], message: e.message }));
}

function keyOf(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

/**
 * Where `ops.x.config.y` (a validation error's path) sits in the text: the key of the deepest pair the path
 * reaches, so the underline lands on the line the user has to change. Paths outside the text map to line 1.
 */
export function rangeOfPath(text: string, path: string): PathRange {
  const doc = parseDocument(text);
  const parts = path === '' ? [] : path.split('.');
  let node: unknown = doc.contents;
  let best: { from: number; to: number } | undefined;
  let matched = 0;
  for (const part of parts) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyOf(p.key) === part);
      if (!pair) break;
      const key = pair.key as Node | null;
      const value = pair.value as Node | null;
      const from = key?.range?.[0] ?? 0;
      const valueEnd = value && isScalar(value) ? (value.range?.[1] ?? from) : (key?.range?.[1] ?? from);
      best = { from, to: Math.max(from + 1, valueEnd) };
      node = value;
    } else if (isSeq(node) && /^\d+$/.test(part)) {
      const item = node.items[Number(part)] as Node | undefined;
      if (!item?.range) break;
      best = { from: item.range[0], to: isScalar(item) ? item.range[1] : item.range[0] + 1 };
      node = item;
    } else break;
    matched++;
  }
  if (!best) {
    const lineEnd = text.indexOf('\n');
    return { from: 0, to: lineEnd < 0 ? text.length : lineEnd, exact: parts.length === 0 };
  }
  // Keep the underline on one line: a key's range never spans lines, a block value's would.
  const nl = text.indexOf('\n', best.from);
  const to = nl >= 0 ? Math.min(best.to, nl) : best.to;
  return { from: best.from, to: Math.max(to, best.from + 1), exact: matched === parts.length };
}
