import { StepwiseError, type StepwiseErrorOptions } from './stepwise-error.js';

/** One problem found in a config document, located by its dotted path. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A run config, instance config or CLI option is invalid. Lists every problem by path. */
export class ConfigError extends StepwiseError {
  readonly issues: ConfigIssue[];
  constructor(what: string, issues: ConfigIssue[], options?: StepwiseErrorOptions) {
    const lines = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    super('CONFIG_INVALID', `${what} is invalid:\n  ${lines.join('\n  ')}`, options);
    this.issues = issues;
  }
}
