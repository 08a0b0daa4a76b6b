/** Writes to a run storage from another Node process: the contract's tests of concurrent writer processes. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exitCode } from './child-process.js';

/** How a child process opens the backend: `new (await import(module))[exportName](options)`. */
export interface StorageInChild {
  /** An absolute path or file URL the child can import (under tsx, so a .ts source works). */
  module: string;
  /** The storage class exported by `module`. */
  exportName: string;
  /** Its constructor's options (JSON). */
  options: unknown;
}

/** @stepwise/core for the child, which runs from a temp dir where the package name does not resolve. */
const CORE = pathToFileURL(createRequire(import.meta.url).resolve('@stepwise/core')).href;

const CHILD_SCRIPT = `const [core, spec, exportName, options, runId, writer, batches, size] = process.argv.slice(2);
const { makeEvent } = await import(core);
const mod = await import(spec);
const storage = new mod[exportName](JSON.parse(options));
await storage.init();
for (let i = 0; i < Number(batches); i++) {
  const events = [];
  for (let j = 0; j < Number(size); j++) events.push(makeEvent('LOG', runId, { level: 'info', msg: writer + ':' + i + ':' + j }));
  await storage.appendEvents(events);
}
await storage.close();
`;

/** Appends `batches` x `size` LOG events to `runId` from a separate Node process. */
export async function appendFromChild(
  child: StorageInChild,
  runId: string,
  writer: string,
  batches: number,
  size: number,
) {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-storage-child-'));
  const script = join(dir, 'append-child.mts');
  writeFileSync(script, CHILD_SCRIPT);
  const args = [CORE, child.module, child.exportName, JSON.stringify(child.options), runId, writer, String(batches)];
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args, String(size)], {
    cwd: process.cwd(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    const code = await exitCode(proc, 25_000, `the append child ${writer}`).catch((error: Error) => {
      proc.kill('SIGKILL');
      throw error;
    });
    if (code !== 0) throw new Error(`append child exited with ${code}: ${stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
