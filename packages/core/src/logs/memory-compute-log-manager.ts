import { type CaptureSink, captureOutput, type OutputStream } from './capture.js';
import type { ComputeLogManager } from './compute-log-manager.js';

interface StepLog {
  stdout: string[];
  stderr: string[];
}

/** Keeps captured step output in memory. For ephemeral instances and tests. */
export class MemoryComputeLogManager implements ComputeLogManager {
  private readonly runs = new Map<string, Map<string, StepLog>>();

  capture<T>(runId: string, stepKey: string, fn: () => Promise<T>): Promise<T> {
    const sink: CaptureSink = (stream, chunk) => this.append(runId, stepKey, stream, chunk);
    return captureOutput(sink, fn);
  }

  append(runId: string, stepKey: string, stream: OutputStream, chunk: string): void {
    if (chunk.length === 0) return;
    let steps = this.runs.get(runId);
    if (!steps) {
      steps = new Map();
      this.runs.set(runId, steps);
    }
    let log = steps.get(stepKey);
    if (!log) {
      log = { stdout: [], stderr: [] };
      steps.set(stepKey, log);
    }
    log[stream].push(chunk);
  }

  /** Without `stream`: stdout followed by stderr. */
  async read(runId: string, stepKey: string, stream?: OutputStream): Promise<string | undefined> {
    const log = this.runs.get(runId)?.get(stepKey);
    if (!log) return undefined;
    const chunks = stream ? log[stream] : [...log.stdout, ...log.stderr];
    return chunks.length === 0 ? undefined : chunks.join('');
  }

  async list(runId: string): Promise<string[]> {
    return [...(this.runs.get(runId)?.keys() ?? [])].sort();
  }

  async flush(): Promise<void> {}
}
