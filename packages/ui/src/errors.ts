import { StepwiseError } from '@stepwise/core';

/** Codes of refused HTTP requests (docs/errors.md); each maps to one status. */
export type UiRequestErrorCode = 'INVALID_JSON' | 'BAD_REQUEST' | 'UNAUTHORIZED' | 'FORBIDDEN_ORIGIN' | 'READ_ONLY';

const STATUS: Record<UiRequestErrorCode, 400 | 401 | 403> = {
  INVALID_JSON: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN_ORIGIN: 403,
  READ_ONLY: 403,
};

/** A request the UI's API refuses: a malformed body or query, a missing token, a foreign Origin, read-only mode. */
export class UiRequestError extends StepwiseError {
  readonly status: 400 | 401 | 403;
  constructor(code: UiRequestErrorCode, message: string) {
    super(code, message);
    this.status = STATUS[code];
  }
}

/** `stepwise ui` / `createUiApp` cannot start: e.g. a non-loopback address without a token. */
export class UiStartError extends StepwiseError {
  constructor(message: string) {
    super('UI_START_FAILED', message);
  }
}
