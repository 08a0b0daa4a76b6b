import { ConfigError, StepwiseError } from '@stepwise/core';
import type { ApiErrorResponse, ConfigIssueJson } from '../api-types.js';
import { UiRequestError } from '../errors.js';

/** Library error codes that are the caller's bad input (400) or an unknown name (404). */
const BAD_INPUT = new Set(['USAGE', 'CONFIG_INVALID', 'SELECTION_INVALID', 'GRAPH_INVALID', 'DEFINITION_INVALID']);

export interface ErrorAnswer {
  status: 400 | 401 | 403 | 404 | 409 | 500;
  body: ApiErrorResponse;
}

/** The HTTP answer for an error thrown by a route: `{"error":{"code","message"}}` with its status. */
export function errorAnswer(error: unknown, issues?: ConfigIssueJson[]): ErrorAnswer {
  if (error instanceof UiRequestError) return answer(error.status, error.code, error.message);
  if (StepwiseError.is(error)) {
    const status = error.code === 'NOT_FOUND' ? 404 : BAD_INPUT.has(error.code) || error.misuse ? 400 : 500;
    const out = answer(status, error.code, firstLines(error.message));
    if (error instanceof ConfigError) out.body.error.issues = issues ?? error.issues.map((i) => ({ ...i }));
    return out;
  }
  // A bug or an unexpected failure: no stack or internals in the answer (they may hold paths or values).
  return answer(500, 'INTERNAL', `internal error: ${(error as Error)?.message?.split('\n')[0] ?? String(error)}`);
}

function answer(status: ErrorAnswer['status'], code: string, message: string): ErrorAnswer {
  return { status, body: { error: { code, message } } };
}

/** A load error's message can carry a whole stack of the user's file: its first lines say what is wrong. */
function firstLines(message: string): string {
  return message.split('\n').slice(0, 12).join('\n');
}
