/**
 * What a package's tarball must hold, checked from the tarball's file list: every entry point package.json names
 * (main, types, bin, each exports target), every relative import of each shipped module, every file a module
 * reads beside itself (`new URL('../commands/x.lua', import.meta.url)`), a README and a LICENSE. A `files` field
 * that leaves one out fails here, before anyone installs the tarball.
 */
import { posix } from 'node:path';

export interface PackageManifest {
  name: string;
  main?: string;
  types?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
}

/** A shipped file and, for modules, its text. */
export interface PackedFile {
  path: string;
  text?: string;
}

const MODULE = /\.(js|mjs|d\.ts)$/;
/** `from './x.js'`, `import('./x.js')`, `export * from '../y.js'`. */
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
/** A file read relative to the module: the static part of the URL, up to any `${`. */
const URL_BESIDE = /new URL\(\s*[`'"](\.{1,2}\/[^`'"$]*)/g;

const norm = (path: string) => posix.normalize(path.replace(/^\.\//, ''));

function exportTargets(value: unknown, condition?: string): string[] {
  if (typeof value === 'string') return condition === 'source' ? [] : [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => exportTargets(v, key));
}

/** The files package.json points at (the `source` condition is for the repository's own tools, and ships too). */
export function entryPoints(manifest: PackageManifest): string[] {
  const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
  const all = [manifest.main, manifest.types, ...bins, ...exportTargets(manifest.exports)];
  return [...new Set(all.filter((p): p is string => typeof p === 'string').map(norm))];
}

/** Every problem with a tarball's contents, one line each; empty when it is complete. */
export function missingFiles(manifest: PackageManifest, files: readonly PackedFile[]): string[] {
  const shipped = new Set(files.map((f) => norm(f.path)));
  const problems: string[] = [];
  for (const entry of entryPoints(manifest)) {
    if (!shipped.has(entry))
      problems.push(`${manifest.name}: package.json names ${entry}, which is not in the tarball`);
  }
  for (const required of ['package.json', 'README.md', 'LICENSE']) {
    if (!shipped.has(required)) problems.push(`${manifest.name}: the tarball has no ${required}`);
  }
  for (const file of files) {
    if (file.text === undefined || !MODULE.test(file.path)) continue;
    const dir = posix.dirname(norm(file.path));
    for (const [, spec] of file.text.matchAll(RELATIVE_IMPORT)) {
      const target = posix.join(dir, spec as string);
      // A .d.ts imports `./x.js` for `./x.d.ts`.
      const candidates = file.path.endsWith('.d.ts') ? [target, target.replace(/\.js$/, '.d.ts')] : [target];
      if (!candidates.some((c) => shipped.has(c))) {
        problems.push(`${manifest.name}: ${file.path} imports ${spec}, which is not in the tarball`);
      }
    }
    for (const [, prefix] of file.text.matchAll(URL_BESIDE)) {
      const target = posix.join(dir, prefix as string);
      // The package root itself (`new URL('../../', import.meta.url)`) is always there.
      const found = target === './' || target === '.' || [...shipped].some((s) => s.startsWith(target));
      if (!found) problems.push(`${manifest.name}: ${file.path} reads ${prefix}, which is not in the tarball`);
    }
  }
  return problems;
}
