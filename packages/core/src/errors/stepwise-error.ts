/**
 * Base of every error Stepwise raises on misuse. `code` is stable and machine-readable;
 * `message` names the offending thing and how to fix it.
 */
export class StepwiseError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** Works across duplicated package copies, where `instanceof` would not. */
  static is(value: unknown): value is StepwiseError {
    return value instanceof Error && typeof (value as { code?: unknown }).code === 'string' && 'code' in value;
  }
}
