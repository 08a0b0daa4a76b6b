/** Before a soak: the workers run the packages' dist, so sources newer than their build make a soak of old code. */

import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Warns when a package's dist is older than its sources: the workers run the built code. */
export function staleBuildWarning(): string | undefined {
  const stale: string[] = [];
  for (const pkg of ['core', 'executor-queue', 'worker']) {
    const src = join(ROOT, 'packages', pkg, 'src');
    const built = join(ROOT, 'packages', pkg, 'dist', '.tsbuildinfo');
    if (!existsSync(built)) {
      stale.push(`${pkg} (not built)`);
      continue;
    }
    const builtAt = statSync(built).mtimeMs;
    const newest = (dir: string): number =>
      readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
        const path = join(dir, entry.name);
        return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
      }, 0);
    if (newest(src) > builtAt) stale.push(pkg);
  }
  return stale.length > 0
    ? `warning: the workers run packages/*/dist, which is older than src for ${stale.join(', ')}; run \`npm run build\` first`
    : undefined;
}
