import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Running from src/ (vitest, tsx): the entries are TypeScript too, and the step hosts import the sources.
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * The file a step host starts from: `process` is forked (an IPC channel), `thread` is a worker_threads Worker.
 * Both serve steps through the same host loop (step-host.ts); the multiprocess executor and `stepwise worker
 * --isolation` start them.
 */
export function stepHostEntry(kind: 'process' | 'thread'): string {
  const name = kind === 'process' ? 'multiprocess-child' : 'step-thread';
  return fileURLToPath(new URL(`./${name}.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));
}

function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/**
 * Node flags of a step host: what it needs to run its own entry and resolve packages as this process does.
 * (From dist, the host's definitions loader registers tsx itself when the pipeline file is TypeScript.)
 */
export function stepHostExecArgv(extra: readonly string[] = []): string[] {
  const args: string[] = [];
  if (FROM_SOURCE) args.push('--import', tsxLoader(), '--conditions=source');
  // Custom conditions change which code is loaded, hence the fingerprint: keep the parent's.
  const inherited = process.execArgv;
  for (let i = 0; i < inherited.length; i++) {
    const arg = inherited[i] as string;
    if (arg.startsWith('--conditions=') || arg.startsWith('-C=')) {
      if (!args.includes(arg)) args.push(arg);
    } else if ((arg === '--conditions' || arg === '-C') && inherited[i + 1] !== undefined) {
      args.push(arg, inherited[++i] as string);
    }
  }
  return [...args, ...extra];
}
