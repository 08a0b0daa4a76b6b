/**
 * Runs at most `max` of the tasks given to {@link run} at once, the rest waiting their turn in order. IO managers
 * use it so that a fan-out of 20,000 values does not open 20,000 files (EMFILE) or queue 20,000 commands at once.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** `Promise.all(items.map(fn))` with at most `max` calls of `fn` pending at once; results in the items' order. */
export function mapLimit<T, R>(items: readonly T[], max: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const limiter = new Limiter(max);
  return Promise.all(items.map((item) => limiter.run(() => fn(item))));
}
