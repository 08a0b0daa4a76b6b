import { StepwiseError, type StepwiseErrorOptions } from './stepwise-error.js';

/**
 * An optional peer dependency a feature needs is not installed (better-sqlite3 for SQLite storage, pg for
 * PostgreSQL): the message names the package, the feature and the `npm install` line.
 */
export class DependencyMissingError extends StepwiseError {
  /** The npm package to install. */
  readonly packageName: string;

  constructor(packageName: string, message: string, options?: StepwiseErrorOptions) {
    super('DEPENDENCY_MISSING', message, options);
    this.packageName = packageName;
  }
}
