import { ConfigError, StepwiseError } from '../errors/index.js';

/** Exit codes of `stepwise` (README.md, CLI). */
export const EXIT = { success: 0, runFailed: 1, usage: 2 } as const;

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The exit code for an error that ended a command: 2 for misuse (a StepwiseError whose `misuse` is set: bad usage,
 * config, file, unknown run, unreachable storage; a commander error), 1 for anything else: a failure, or a bug
 * (an ENOENT or a TypeError that nothing turned into a StepwiseError).
 */
export function exitCodeOf(error: unknown): number {
  if (StepwiseError.is(error)) return error.misuse ? EXIT.usage : EXIT.runFailed;
  return codeOf(error)?.startsWith('commander.') ? EXIT.usage : EXIT.runFailed;
}

/**
 * What `stepwise` prints for an error, without the `stepwise: error: ` prefix: one line where it can be (a config
 * error with a single problem is put on one line), every problem by path otherwise. Stacks only when `debug`.
 */
export function formatError(error: unknown, debug: boolean): string {
  let text: string;
  if (error instanceof ConfigError || (StepwiseError.is(error) && Array.isArray((error as ConfigError).issues))) {
    const { issues, message } = error as ConfigError;
    const head = (message.split('\n')[0] ?? message).replace(/:$/, '');
    const line = (i: { path: string; message: string }) => {
      // A YAML syntax error's path is `file:line:col` and its message repeats `line N, column M: `.
      const pos = /:(\d+):(\d+)$/.exec(i.path);
      const text = pos ? i.message.replace(`line ${pos[1]}, column ${pos[2]}: `, '') : i.message;
      return i.path ? `${i.path}: ${text}` : text;
    };
    const first = issues[0];
    const syntax = first !== undefined && issues.every((i) => /:\d+:\d+$/.test(i.path));
    if (first && issues.length === 1) text = `${head}: ${line(first)}`;
    else if (first && syntax) {
      // Later syntax errors of a document mostly follow from the first: show it alone, on one line.
      const more = issues.length - 1;
      text = `${head}: ${line(first)} (and ${more} more problem${more === 1 ? '' : 's'} after it)`;
    } else text = message;
  } else if (error instanceof Error) {
    text = error.message;
    if (!StepwiseError.is(error) && codeOf(error) === undefined && error.name !== 'Error')
      text = `${error.name}: ${text}`;
  } else {
    text = String(error);
  }
  if (debug) {
    const stacks: string[] = [];
    let current: unknown = error;
    for (let depth = 0; current instanceof Error && depth < 5; depth++) {
      if (current.stack) stacks.push(depth === 0 ? current.stack : `caused by: ${current.stack}`);
      current = current.cause;
    }
    if (stacks.length) text += `\n${stacks.join('\n')}`;
  } else if (exitCodeOf(error) !== EXIT.usage) {
    text += '\n(an unexpected error; set STEPWISE_DEBUG=1 to see its stack trace)';
  }
  return text;
}

/** True when STEPWISE_DEBUG asks for stack traces. */
export function debugEnabled(): boolean {
  const value = process.env.STEPWISE_DEBUG;
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/** Prints `stepwise: error: ...` to stderr and returns the exit code. */
export function reportError(error: unknown): number {
  process.stderr.write(`stepwise: error: ${formatError(error, debugEnabled())}\n`);
  return exitCodeOf(error);
}
