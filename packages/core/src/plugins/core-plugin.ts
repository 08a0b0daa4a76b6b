import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import { StorageError } from '../errors/index.js';
import { InProcessExecutor } from '../execution/executors/in-process.js';
import { MultiprocessExecutor } from '../execution/executors/multiprocess.js';
import { FsIOManager } from '../io/fs-io-manager.js';
import { MemoryIOManager } from '../io/memory-io-manager.js';
import { FsComputeLogManager } from '../logs/fs-compute-log-manager.js';
import { MemoryComputeLogManager } from '../logs/memory-compute-log-manager.js';
import { MemoryRunStorage } from '../storage/memory-storage.js';
import { PostgresRunStorage } from '../storage/postgres/postgres-run-storage.js';
import { SqliteRunStorage } from '../storage/sqlite/sqlite-run-storage.js';
import { type ConfigContext, defineExecutor, defineInstancePart, definePlugin } from './kinds.js';

const nonEmpty = z.string().min(1, 'must not be empty');
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `{ dir }`: absolute against stepwise.yaml's directory; `<home>/<fallback>` when not given. */
const dirOptions = (fallback: string) => (context: ConfigContext) =>
  z.strictObject({ dir: nonEmpty.optional().transform((dir) => context.dir(dir, fallback)) });

const noOptions = z.strictObject({});

/** The options of `inProcess` and `multiprocess`. */
const localExecution = z.strictObject({
  /** Steps run at once. Default: 32 in-process; the CPU count for multiprocess. */
  maxConcurrent: z.number().int().min(1).optional(),
});

async function makeDir(dir: string, configKey: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new StorageError(
      `cannot create directory ${dir}: ${(err as Error).message}; check ${configKey} in stepwise.yaml`,
      { cause: err },
    );
  }
}

/** `fs: { dir }`: files under the dir, created when the instance opens. */
function fsKind<T>(fallback: string, configKey: string, make: (dir: string) => T) {
  return defineInstancePart({
    kind: 'fs',
    description: 'files on this machine (the default)',
    options: dirOptions(fallback),
    create: async (options) => {
      await makeDir(options.dir, configKey);
      return make(options.dir);
    },
  });
}

/** `memory: {}`: in this process only. */
function memoryKind<T>(make: () => T) {
  return defineInstancePart({ kind: 'memory', description: 'in this process only', options: noOptions, create: make });
}

/** Core's own kinds, registered the way a third-party plugin's are. */
export const corePlugin = definePlugin({
  name: '@stepwise/core',
  executors: [
    defineExecutor({
      kind: 'inProcess',
      description: "steps interleave on the caller's event loop (the default)",
      options: localExecution,
      create: (options) => new InProcessExecutor(options),
    }),
    defineExecutor({
      kind: 'multiprocess',
      description: 'a pool of child processes on this machine',
      options: localExecution,
      create: (options) => new MultiprocessExecutor(options),
    }),
  ],
  storage: [
    defineInstancePart({
      kind: 'sqlite',
      description: 'a SQLite file on this machine (the default)',
      options: dirOptions('storage'),
      create: (options) => new SqliteRunStorage(options),
    }),
    defineInstancePart({
      kind: 'postgres',
      description: 'PostgreSQL, shared by every machine',
      options: z.strictObject({
        url: nonEmpty,
        /** Schema holding the tables. Default `public`. */
        schema: z.string().regex(IDENTIFIER, 'must be a plain identifier (letters, digits, _)').optional(),
      }),
      create: (options) => new PostgresRunStorage(options),
    }),
    memoryKind(() => new MemoryRunStorage()),
  ],
  io: [fsKind('io', 'io.fs.dir', (dir) => new FsIOManager(dir)), memoryKind(() => new MemoryIOManager())],
  computeLogs: [
    fsKind('logs', 'computeLogs.fs.dir', (dir) => new FsComputeLogManager(dir)),
    memoryKind(() => new MemoryComputeLogManager()),
  ],
});
