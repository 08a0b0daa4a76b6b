// A `stepwise` command from a deploy file (chart, compose file, systemd unit) started as a real process.
import { type ChildProcess, spawn } from 'node:child_process';
import { killOnExit, STEPWISE_CLI, stopProcess } from '@stepwise/testing';

export interface CliProcess {
  proc: ChildProcess;
  output: () => string;
}

const started: ChildProcess[] = [];

/** Runs `stepwise ARGS` with the given environment added; output kept; SIGKILLed if the test process exits. */
export function startCli(args: string[], env: Record<string, string>): CliProcess {
  const proc = spawn(process.execPath, [STEPWISE_CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STEPWISE_LOG_LEVEL: 'info', ...env },
  });
  killOnExit(proc);
  started.push(proc);
  let out = '';
  const collect = (d: Buffer) => {
    out += d.toString();
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  return { proc, output: () => out };
}

/** Replaces the value after each `flag` (e.g. the image's `-f` path by a test file). */
export function withFlag(args: string[], flag: string, value: string): string[] {
  return args.map((a, i) => (args[i - 1] === flag ? value : a));
}

/** SIGKILLs every process startCli started that still runs; call in afterEach. */
export async function killStarted(): Promise<void> {
  await Promise.all(started.splice(0).map((p) => stopProcess(p, { ask: 'SIGKILL' })));
}
