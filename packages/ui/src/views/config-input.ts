import { ConfigError, type PipelineDefinition, validateRunConfig } from '@stepwise/core';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { ConfigIssueJson } from '../api-types.js';

/** A run config as the API got it: an object, or YAML text whose issues are located by line for the editor. */
export interface ConfigInput {
  /** The config value (YAML parsed); undefined when the YAML does not parse. */
  value: unknown;
  /** YAML syntax errors (path ''), with their position. */
  syntaxIssues: ConfigIssueJson[];
  /** Adds the position in the YAML text of each issue's path (or of its nearest ancestor that is there). */
  locate(issues: readonly { path: string; message: string }[]): ConfigIssueJson[];
}

/** `ops.extract.config.limit`, `inputs.rows[0].id`, `["a b"]` -> path segments. */
export function pathSegments(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(`"${m[3]}"`) as string);
  }
  return out;
}

/** The node at `segments`, or the nearest ancestor present (an unknown key points at its mapping). */
function nodeAt(root: Node | null, segments: ReadonlyArray<string | number>): Node | undefined {
  let node: Node | null = root;
  let found: Node | undefined = root ?? undefined;
  for (const key of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === String(key));
      if (!pair) break;
      const value = pair.value as Node | null;
      // A key with no value underlines the key itself.
      found = value ?? (isScalar(pair.key) ? pair.key : found);
      node = value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (!item) break;
      found = item;
      node = item;
    } else break;
  }
  return found;
}

export function readConfigInput(raw: unknown): ConfigInput {
  if (typeof raw !== 'string') {
    return { value: raw ?? {}, syntaxIssues: [], locate: (issues) => issues.map((i) => ({ ...i })) };
  }
  const lines = new LineCounter();
  const doc = parseDocument(raw, { lineCounter: lines, prettyErrors: false });
  const at = (from: number, to: number) => {
    const pos = lines.linePos(from);
    return { line: pos.line, column: pos.col, from, to: Math.max(to, from) };
  };
  const syntaxIssues = doc.errors.map((err) => ({
    path: '',
    message: err.message.split('\n')[0] ?? err.message,
    ...at(err.pos[0], err.pos[1]),
  }));
  let value: unknown;
  if (syntaxIssues.length === 0) {
    try {
      value = doc.toJS() ?? {};
    } catch (error) {
      syntaxIssues.push({ path: '', message: (error as Error).message, ...at(0, 0) });
    }
  }
  return {
    value,
    syntaxIssues,
    locate: (issues) =>
      issues.map((issue) => {
        const node = nodeAt(doc.contents as Node | null, pathSegments(issue.path));
        const range = node?.range;
        return range ? { ...issue, ...at(range[0], range[1]) } : { ...issue };
      }),
  };
}

/**
 * Every problem of `input` for `pipeline`: YAML syntax, then the library's validator (the one `submitRun` and the
 * daemon use), each located in the YAML text. Empty: valid.
 */
export function configIssues(pipeline: PipelineDefinition, input: ConfigInput): ConfigIssueJson[] {
  if (input.syntaxIssues.length > 0) return input.syntaxIssues;
  try {
    validateRunConfig(pipeline, input.value);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return input.locate(error.issues);
    throw error;
  }
}
