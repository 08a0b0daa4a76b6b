// The tarball content check of the packed-install script: it must fail when a tarball misses a file.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryPoints, missingFiles, type PackedFile } from '../../scripts/packaging/packed-files.js';
import { PUBLISHED } from '../../scripts/packed-install.js';
import { ROOT } from '../deploy/chart.js';

const manifest = {
  name: '@stepwise/example',
  main: './dist/index.js',
  types: './dist/index.d.ts',
  bin: { stepwise: './bin/stepwise.js' },
  exports: { '.': { source: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
};

const complete: PackedFile[] = [
  { path: 'package.json' },
  { path: 'README.md' },
  { path: 'LICENSE' },
  { path: 'bin/stepwise.js', text: "await import('../dist/index.js');" },
  { path: 'dist/index.js', text: "export * from './scripts.js';" },
  { path: 'dist/index.d.ts', text: "export * from './scripts.js';" },
  { path: 'dist/scripts.js', text: 'readFileSync(new URL("../commands/" + name + ".lua", import.meta.url));' },
  { path: 'dist/scripts.d.ts', text: 'export {};' },
  { path: 'commands/addJob.lua' },
  { path: 'src/index.ts' },
];

const without = (path: string) => complete.filter((f) => f.path !== path);

describe('missingFiles', () => {
  it('accepts a complete tarball', () => {
    expect(entryPoints(manifest)).toEqual(['dist/index.js', 'dist/index.d.ts', 'bin/stepwise.js']);
    expect(missingFiles(manifest, complete)).toEqual([]);
  });

  it('names an entry point package.json promises and the tarball lacks', () => {
    expect(missingFiles(manifest, without('dist/index.d.ts'))).toEqual([
      '@stepwise/example: package.json names dist/index.d.ts, which is not in the tarball',
    ]);
    expect(missingFiles(manifest, without('bin/stepwise.js'))).toContain(
      '@stepwise/example: package.json names bin/stepwise.js, which is not in the tarball',
    );
  });

  it('names a module a shipped module imports and a file it reads beside itself', () => {
    expect(missingFiles(manifest, without('dist/scripts.js'))).toEqual([
      '@stepwise/example: dist/index.js imports ./scripts.js, which is not in the tarball',
    ]);
    expect(missingFiles(manifest, without('commands/addJob.lua'))).toEqual([
      '@stepwise/example: dist/scripts.js reads ../commands/, which is not in the tarball',
    ]);
  });

  it('wants a README and a LICENSE in every tarball', () => {
    expect(missingFiles(manifest, without('LICENSE'))).toEqual(['@stepwise/example: the tarball has no LICENSE']);
  });
});

describe('published packages', () => {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');

  it('are every workspace but the private testing kit', () => {
    expect(root.workspaces.map((w) => w.replace('packages/', '')).sort()).toEqual([...PUBLISHED, 'testing'].sort());
  });

  for (const pkg of PUBLISHED) {
    it(`${pkg}: has the fields a registry page and an install need, and the root LICENSE`, () => {
      const m = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(m.private).toBeUndefined();
      for (const field of ['description', 'license', 'repository', 'publishConfig', 'main', 'types', 'files']) {
        expect(m[field], `${pkg}: ${field}`).toBeDefined();
      }
      const dot = (m.exports as Record<string, Record<string, string>>)['.'] ?? {};
      // tsx and vitest run the sources through the `source` condition: it must stay first.
      expect(Object.keys(dot)[0]).toBe('source');
      expect(m.types).toBe(dot.types);
      expect(m.main).toBe(dot.default);
      expect(readFileSync(join(ROOT, 'packages', pkg, 'LICENSE'), 'utf8')).toBe(license);
      expect(readFileSync(join(ROOT, 'packages', pkg, 'README.md'), 'utf8')).toMatch(/^# @stepwise\//);
    });
  }
});

describe('shipped text', () => {
  /** String literals of the published packages' sources (comments left out): what users read in messages and help. */
  function literalsNaming(pattern: RegExp): string[] {
    const hits: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) {
          const code = readFileSync(path, 'utf8')
            .replace(/\/\*[\s\S]*?\*\//g, '')
            .replace(/^\s*\/\/.*$/gm, '');
          for (const m of code.matchAll(/(['"`])((?:(?!\1)[^\\\n]|\\.)*)\1/g)) {
            if (pattern.test(m[2] as string)) hits.push(`${path.slice(ROOT.length + 1)}: ${m[0]}`);
          }
        }
      }
    };
    for (const pkg of PUBLISHED) walk(join(ROOT, 'packages', pkg, 'src'));
    return hits;
  }

  it('names docs by URL, never by a repository path that does not ship', () => {
    // docs/ is not in any tarball: a message or help text pointing there must use docsUrl() (a URL).
    expect(literalsNaming(/(^|[\s(])(docs|examples|test|scripts)\/[\w./-]+\.(md|ts|yaml)/)).toEqual([]);
  });
});
