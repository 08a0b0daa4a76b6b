import { createRequire } from 'node:module';
import { troubleshootingUrl } from '../errors/docs-url.js';
import { DependencyMissingError } from '../errors/index.js';

const requireHere = createRequire(import.meta.url);

/** An optional peer of @stepwise/core: the feature that needs it and the version range to install. */
export interface OptionalDependency {
  /** The npm package name. */
  readonly name: string;
  /** The version to install (pinned as the workspace tests it). */
  readonly version: string;
  /** What needs it, e.g. `SQLite storage (storage.sqlite, the default)`. */
  readonly feature: string;
  /** What to do instead, e.g. `or choose storage: { postgres: { url } } in stepwise.yaml`. */
  readonly alternative?: string;
}

/** Optional peers core loads on first use: a user of one storage does not install the other's driver. */
export const OPTIONAL_DEPENDENCIES = {
  sqlite: {
    name: 'better-sqlite3',
    version: '12.11.1',
    feature: 'SQLite storage (storage.sqlite, the default)',
    alternative: 'or set storage: { postgres: { url } } or { memory: {} } in stepwise.yaml',
  },
  postgres: {
    name: 'pg',
    version: '8.23.1',
    feature: 'PostgreSQL storage (storage.postgres)',
    alternative: 'or use storage: { sqlite: {} } on one machine',
  },
} as const satisfies Record<string, OptionalDependency>;

const isMissing = (error: unknown, name: string) => {
  const e = error as { code?: unknown; message?: unknown } | null;
  return (
    (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') && String(e.message).includes(`'${name}'`)
  );
};

/**
 * Loads an optional peer (CommonJS, synchronously) the first time a feature needs it. A package that is not
 * installed is a DependencyMissingError naming it and the `npm install` line; any other load failure (a native
 * module built for another Node) is rethrown as it is.
 */
export function requireOptional<T>(dependency: OptionalDependency): T {
  try {
    return requireHere(dependency.name) as T;
  } catch (error) {
    if (!isMissing(error, dependency.name)) throw error;
    const alternative = dependency.alternative ? ` (${dependency.alternative})` : '';
    throw new DependencyMissingError(
      dependency.name,
      `${dependency.feature} needs the package ${dependency.name}, which is not installed: ` +
        `npm install ${dependency.name}@${dependency.version}${alternative}; see ${troubleshootingUrl('DEPENDENCY_MISSING')}`,
      { cause: error },
    );
  }
}
