import type { OutputRef } from '../plan/plan.js';
import { type IOManager, refKey, type StoreMeta } from './io-manager.js';

/** Write-through cache in front of an IO manager, for steps that run in the same process as their upstream. */
export class CachingIOManager implements IOManager {
  private readonly cache = new Map<string, unknown>();

  constructor(private readonly inner: IOManager) {}

  async store(ref: OutputRef, value: unknown, meta?: StoreMeta): Promise<void> {
    this.cache.set(refKey(ref), value);
    await this.inner.store(ref, value, meta);
  }

  async load(ref: OutputRef): Promise<unknown> {
    const key = refKey(ref);
    if (this.cache.has(key)) return this.cache.get(key);
    return this.inner.load(ref);
  }

  async has(ref: OutputRef): Promise<boolean> {
    return this.cache.has(refKey(ref)) || this.inner.has(ref);
  }
}
