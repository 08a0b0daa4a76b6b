import { spawn } from 'node:child_process';
import { exitCode, killOnExit } from './child-process.js';

export interface ProcessResult {
  /** The exit code, or the signal that ended it. */
  code: number | string;
  stdout: string;
  stderr: string;
}

export interface RunProcessOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** SIGKILL and reject after this long. Default 60 s. */
  timeoutMs?: number;
}

/** Runs a command to its end and resolves with its output; never outlives the caller, never runs unbounded. */
export async function runProcess(
  command: string,
  args: string[],
  options: RunProcessOptions = {},
): Promise<ProcessResult> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  const what = `${command} ${args.join(' ')}`;
  const code = await Promise.race([exitCode(child, options.timeoutMs ?? 60_000, what), spawnFailed]).catch(
    (error: Error) => {
      child.kill('SIGKILL');
      throw Object.assign(error, { message: `${error.message}\n${stdout}\n${stderr}`.trimEnd() });
    },
  );
  // 'exit' can come before the last output: wait for the pipes to close.
  await new Promise<void>((resolve) => (child.stdout.readableEnded ? resolve() : child.stdout.once('close', resolve)));
  return { code, stdout, stderr };
}
