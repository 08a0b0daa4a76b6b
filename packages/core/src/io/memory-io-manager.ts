import { NotFoundError } from '../errors/index.js';
import type { OutputRef } from '../plan/plan.js';
import { type IOManager, refKey } from './io-manager.js';

/** Keeps outputs in this process's memory. For ephemeral instances and in-process runs. */
export class MemoryIOManager implements IOManager {
  private readonly values = new Map<string, unknown>();

  async store(ref: OutputRef, value: unknown): Promise<void> {
    this.values.set(refKey(ref), value);
  }

  async load(ref: OutputRef): Promise<unknown> {
    const key = refKey(ref);
    if (!this.values.has(key)) throw new NotFoundError(`no stored output at ${key}`);
    return this.values.get(key);
  }

  async has(ref: OutputRef): Promise<boolean> {
    return this.values.has(refKey(ref));
  }

  async deleteRun(runId: string): Promise<void> {
    for (const key of this.values.keys()) if (key.startsWith(`${runId}/`)) this.values.delete(key);
  }
}
