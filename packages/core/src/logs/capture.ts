import { AsyncLocalStorage } from 'node:async_hooks';

export type OutputStream = 'stdout' | 'stderr';
/** Receives the text written to a stream inside a captured scope. Must not throw (errors are swallowed). */
export type CaptureSink = (stream: OutputStream, chunk: string) => void;

type Write = typeof process.stdout.write;

const scope = new AsyncLocalStorage<CaptureSink>();
let originals: { stdout: Write; stderr: Write } | undefined;
let patched: { stdout: Write; stderr: Write } | undefined;

function toText(chunk: unknown, encoding: unknown): string {
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array) {
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString(
      typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8',
    );
  }
  return String(chunk);
}

function wrap(stream: OutputStream, original: Write): Write {
  return function captured(this: NodeJS.WriteStream, ...args: unknown[]): boolean {
    const sink = scope.getStore();
    if (sink) {
      try {
        sink(stream, toText(args[0], args[1]));
      } catch {
        // Capturing is best effort: never break the program's own output.
      }
    }
    return (original as (...a: unknown[]) => boolean).apply(this, args);
  } as Write;
}

/**
 * Patches process.stdout.write and process.stderr.write (once; later calls do nothing) so that writes made
 * inside {@link captureOutput} also reach that scope's sink. Output always passes through to the real stream.
 */
export function installOutputCapture(): void {
  if (originals) return;
  originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  patched = { stdout: wrap('stdout', originals.stdout), stderr: wrap('stderr', originals.stderr) };
  process.stdout.write = patched.stdout;
  process.stderr.write = patched.stderr;
}

/**
 * Undoes {@link installOutputCapture}. A stream whose `write` was replaced again by someone else since is left
 * alone (restoring it would drop their patch); captured scopes then simply stop seeing its writes.
 */
export function restoreOutputCapture(): void {
  if (!originals || !patched) return;
  if (process.stdout.write === patched.stdout) process.stdout.write = originals.stdout;
  if (process.stderr.write === patched.stderr) process.stderr.write = originals.stderr;
  originals = undefined;
  patched = undefined;
}

/**
 * Runs `fn` with stdout/stderr writes attributed to `sink`: those made synchronously in `fn`, in code it awaits,
 * and in timers or callbacks created within it (AsyncLocalStorage follows the async context). Concurrent
 * captures each see only their own writes. Nested captures: the innermost wins.
 */
export function captureOutput<T>(sink: CaptureSink, fn: () => Promise<T>): Promise<T> {
  installOutputCapture();
  return scope.run(sink, fn);
}
