import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { ConfigError, LoadError } from '../errors/index.js';
import { deepMerge, isPlainObject } from './deep-merge.js';
import { describeType } from './format-issues.js';

/**
 * Parses one YAML document that must be a mapping (an empty document is `{}`).
 * Syntax errors become a ConfigError naming `sourceName`, line and column with the parser's message.
 *
 * @param sourceName how the text is named in errors, usually its file path
 */
export function parseYaml(text: string, sourceName: string): Record<string, unknown> {
  const doc = yaml().parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((err) => {
      const pos = err.linePos?.[0];
      // The pretty message repeats the position and a source excerpt on later lines; keep the sentence.
      const sentence = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
      return {
        path: pos ? `${sourceName}:${pos.line}:${pos.col}` : sourceName,
        message: pos ? `line ${pos.line}, column ${pos.col}: ${sentence}` : sentence,
      };
    });
    throw new ConfigError(`config file '${sourceName}'`, issues);
  }
  let value: unknown;
  try {
    // Throws on an alias to a missing anchor and on alias bombs (maxAliasCount, default 100).
    value = doc.toJS();
  } catch (err) {
    throw new ConfigError(`config file '${sourceName}'`, [{ path: sourceName, message: (err as Error).message }]);
  }
  if (isCyclic(value)) {
    throw new ConfigError(`config file '${sourceName}'`, [
      { path: sourceName, message: 'an alias refers to a node that contains it (a cycle); config must be a tree' },
    ]);
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new ConfigError(`config file '${sourceName}'`, [
      { path: sourceName, message: `the document must be a mapping (key: value), got ${describeType(value)}` },
    ]);
  }
  return value;
}

let yamlModule: typeof Yaml | undefined;

/**
 * The yaml package, loaded when a document is first parsed: a service that passes its config as objects never
 * loads it (about 5 MB of RSS). Required, not imported, so that parsing stays synchronous.
 */
function yaml(): typeof Yaml {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yamlModule;
}

/** True when `value` contains itself (`a: &a [*a]`); shared, non-cyclic aliases are fine. */
function isCyclic(value: unknown, ancestors = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (ancestors.has(value)) return true;
  ancestors.add(value);
  const children =
    value instanceof Map ? [...value.values()] : value instanceof Set ? [...value] : Object.values(value);
  for (const child of children) if (isCyclic(child, ancestors)) return true;
  ancestors.delete(value);
  return false;
}

/**
 * Reads YAML files and deep-merges them in order, later files winning (objects merge, arrays and scalars replace).
 * A missing or unreadable file is a LoadError naming its path; bad YAML is a ConfigError (see {@link parseYaml}).
 */
export function loadYamlFiles(paths: readonly string[]): Record<string, unknown> {
  let merged: Record<string, unknown> = {};
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new LoadError(`config file '${path}' not found`, { cause: err });
      if (code === 'EISDIR') throw new LoadError(`config file '${path}' is a directory`, { cause: err });
      throw new LoadError(`config file '${path}' cannot be read: ${(err as Error).message}`, { cause: err });
    }
    merged = deepMerge(merged, parseYaml(text, path)) as Record<string, unknown>;
  }
  return merged;
}
