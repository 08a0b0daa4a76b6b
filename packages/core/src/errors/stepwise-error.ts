/** Marks every StepwiseError; `Symbol.for` is shared by every copy of the package loaded in a process. */
const BRAND = Symbol.for('stepwise.error');

export interface StepwiseErrorOptions {
  cause?: unknown;
  /** Override of the class's {@link StepwiseError.misuse}. */
  misuse?: boolean;
}

/**
 * Base of every error Stepwise raises. `code` is stable and machine-readable (each listed, with its cause
 * and fix, at https://github.com/stepwise/stepwise/blob/main/docs/errors.md);
 * `message` names the offending thing and how to fix it.
 */
export class StepwiseError extends Error {
  readonly code: string;
  /**
   * True when the caller is at fault (bad usage, config, input or environment: the CLI exits 2), false for a
   * failure while working (a step, a worker, a bug in the user's code: exit 1). Default: true.
   */
  readonly misuse: boolean;

  constructor(code: string, message: string, options?: StepwiseErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.misuse = options?.misuse ?? true;
    this.name = new.target.name;
  }

  /**
   * Whether `value` is a StepwiseError, also one made by another copy of the package (where `instanceof` fails).
   * An error that merely has a string `code` (ENOENT, a PostgreSQL SQLSTATE) is not one.
   */
  static is(value: unknown): value is StepwiseError {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }
}

Object.defineProperty(StepwiseError.prototype, BRAND, { value: true });
