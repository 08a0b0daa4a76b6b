/** Bounded waits: every wait in the tests, the bench and the soak names what it waits for and gives up in time. */

/** The error a bounded wait throws when its time is up. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`timed out after ${ms} ms waiting for ${what}`);
    this.name = 'WaitTimeoutError';
  }
}

/** Resolves as `promise` does, or rejects with a {@link WaitTimeoutError} naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new WaitTimeoutError(what, ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Like {@link within}, but resolves with `'timeout'` instead of rejecting (for waits whose expiry is a finding). */
export async function withinOrTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  try {
    return await within(promise, ms, 'a result');
  } catch (error) {
    if (error instanceof WaitTimeoutError) return 'timeout';
    throw error;
  }
}

/** Polls `check` every `intervalMs` (default 50) until it returns a value other than undefined/false. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new WaitTimeoutError(what, timeoutMs);
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
