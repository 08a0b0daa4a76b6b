import { describe, expect, it } from 'vitest';
import { DependencyMissingError, StepwiseError } from '../src/index.js';
import { OPTIONAL_DEPENDENCIES, requireOptional } from '../src/plugins/optional-dependency.js';

describe('requireOptional', () => {
  it('loads an installed optional peer', () => {
    const pg = requireOptional<{ Pool: unknown }>(OPTIONAL_DEPENDENCIES.postgres);
    expect(typeof pg.Pool).toBe('function');
  });

  it('names the package, the feature and the npm install line when the peer is missing', () => {
    let caught: unknown;
    try {
      requireOptional({ name: 'stepwise-no-such-driver', version: '1.2.3', feature: 'Imaginary storage' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DependencyMissingError);
    const error = caught as DependencyMissingError;
    expect(StepwiseError.is(error)).toBe(true);
    expect(error.code).toBe('DEPENDENCY_MISSING');
    expect(error.misuse).toBe(true);
    expect(error.packageName).toBe('stepwise-no-such-driver');
    expect(error.message).toContain('Imaginary storage needs the package stepwise-no-such-driver');
    expect(error.message).toContain('npm install stepwise-no-such-driver@1.2.3');
    expect(error.message).toContain('errors.md#dependency_missing');
  });

  it('pins the versions the workspace installs', async () => {
    const { readFileSync } = await import('node:fs');
    const root = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(root.dependencies['better-sqlite3']).toBe(OPTIONAL_DEPENDENCIES.sqlite.version);
    expect(root.dependencies.pg).toBe(OPTIONAL_DEPENDENCIES.postgres.version);
  });
});
