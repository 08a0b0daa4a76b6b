import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StorageError } from '../errors/index.js';
import { decodePathComponent, encodePathComponent } from '../io/fs-io-manager.js';
import { type CaptureSink, captureOutput, type OutputStream } from './capture.js';
import type { ComputeLogManager } from './compute-log-manager.js';

const EXTENSIONS: Record<OutputStream, string> = { stdout: '.out', stderr: '.err' };

/**
 * Writes captured step output to `<dir>/<runId>/<stepKey>.out` and `.err`. `append` only buffers; chunks are
 * appended to their file on the next turn of the event loop, one `appendFile` in flight per file, so a chatty
 * step costs one write per tick rather than one per line. Several processes may append to the same dir.
 */
export class FsComputeLogManager implements ComputeLogManager {
  private readonly pending = new Map<string, string[]>();
  private readonly writing = new Map<string, Promise<void>>();
  private readonly madeDirs = new Set<string>();
  private scheduled = false;
  private failure?: unknown;

  /** @param dir root directory; created on first write. */
  constructor(readonly dir: string) {}

  /** The file holding a step's output on one stream. */
  pathFor(runId: string, stepKey: string, stream: OutputStream): string {
    return join(this.dir, encodePathComponent(runId), `${encodePathComponent(stepKey)}${EXTENSIONS[stream]}`);
  }

  capture<T>(runId: string, stepKey: string, fn: () => Promise<T>): Promise<T> {
    const sink: CaptureSink = (stream, chunk) => this.append(runId, stepKey, stream, chunk);
    return captureOutput(sink, fn);
  }

  append(runId: string, stepKey: string, stream: OutputStream, chunk: string): void {
    if (chunk.length === 0) return;
    const file = this.pathFor(runId, stepKey, stream);
    const chunks = this.pending.get(file);
    if (chunks) chunks.push(chunk);
    else this.pending.set(file, [chunk]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        for (const f of this.pending.keys()) void this.drain(f);
      });
    }
  }

  /** Writes everything buffered for `file`; one drain per file at a time keeps its chunks in order. */
  private drain(file: string): Promise<void> {
    let running = this.writing.get(file);
    if (!running) {
      running = (async () => {
        for (;;) {
          const chunks = this.pending.get(file);
          if (!chunks || chunks.length === 0) break;
          this.pending.delete(file);
          try {
            const dir = dirname(file);
            if (!this.madeDirs.has(dir)) {
              await mkdir(dir, { recursive: true });
              this.madeDirs.add(dir);
            }
            await appendFile(file, chunks.join(''));
          } catch (err) {
            // Logs are best effort: drop the chunk rather than retry forever; flush() reports the failure.
            this.failure ??= err;
          }
        }
      })().finally(() => this.writing.delete(file));
      this.writing.set(file, running);
    }
    return running;
  }

  async flush(): Promise<void> {
    while (this.pending.size > 0 || this.writing.size > 0) {
      await Promise.all([...this.pending.keys()].map((f) => this.drain(f)));
      await Promise.all([...this.writing.values()]);
    }
    const failure = this.failure;
    if (failure !== undefined) {
      this.failure = undefined;
      throw new StorageError(`cannot write compute logs in ${this.dir}: ${(failure as Error).message}`, {
        cause: failure,
      });
    }
  }

  /** Without `stream`: stdout followed by stderr. */
  async read(runId: string, stepKey: string, stream?: OutputStream): Promise<string | undefined> {
    const streams: OutputStream[] = stream ? [stream] : ['stdout', 'stderr'];
    let text = '';
    for (const s of streams) {
      const file = this.pathFor(runId, stepKey, s);
      if (this.pending.has(file) || this.writing.has(file)) await this.drain(file);
      try {
        text += await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return text.length === 0 ? undefined : text;
  }

  async list(runId: string): Promise<string[]> {
    const runDir = join(this.dir, encodePathComponent(runId));
    for (const file of [...this.pending.keys(), ...this.writing.keys()]) {
      if (dirname(file) === runDir) await this.drain(file);
    }
    let names: string[];
    try {
      names = await readdir(runDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const keys = new Set<string>();
    for (const name of names) {
      const match = /^(.*)\.(out|err)$/.exec(name);
      if (match?.[1] !== undefined) keys.add(decodePathComponent(match[1]));
    }
    return [...keys].sort();
  }
}
