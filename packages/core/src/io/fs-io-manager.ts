import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, StorageError } from '../errors/index.js';
import type { OutputRef } from '../plan/plan.js';
import { decodeValue, encodeValue } from './codec.js';
import { type IOManager, refKey } from './io-manager.js';
import { Limiter } from './limit.js';

/** Most files this manager reads or writes at once, whatever the fan-out: well under the usual 1,024 open files. */
const MAX_OPEN_FILES = 64;

const SAFE = /[A-Za-z0-9_-]/;
/** Leaves room under the usual 255-byte file name limit for suffixes (`.<mappingKey>.bin`, temp suffix). */
const MAX_COMPONENT = 100;

/**
 * Turns a run id, step key, output name or mapping key into one file name component: every character outside
 * `[A-Za-z0-9_-]` becomes `%XX` per UTF-8 byte (so `.`, `/`, `[`, `]` cannot escape the directory or collide
 * with the separators). Reversible with {@link decodePathComponent} unless too long, where it is cut and hashed.
 */
export function encodePathComponent(name: string): string {
  let out = '';
  for (const ch of name) {
    if (SAFE.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length === 0) return '%';
  if (out.length <= MAX_COMPONENT) return out;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${out.slice(0, MAX_COMPONENT - 18)}~~${hash}`;
}

/** Inverse of {@link encodePathComponent} (for names that were not shortened). */
export function decodePathComponent(component: string): string {
  if (component === '%') return '';
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Stores each output as a msgpack file at `<dir>/<runId>/<step>/<output>[.<mappingKey>].bin`. Writes go to a
 * temp file and are renamed into place, so readers (in this or another process on a shared volume) never
 * see a half-written value.
 */
export class FsIOManager implements IOManager {
  private readonly files = new Limiter(MAX_OPEN_FILES);

  /** @param dir root directory; created on first store. */
  constructor(readonly dir: string) {}

  /** The file that holds `ref`. */
  pathFor(ref: OutputRef): string {
    const name =
      ref.mappingKey === undefined
        ? encodePathComponent(ref.output)
        : `${encodePathComponent(ref.output)}.${encodePathComponent(ref.mappingKey)}`;
    return join(this.dir, encodePathComponent(ref.runId), encodePathComponent(ref.step), `${name}.bin`);
  }

  store(ref: OutputRef, value: unknown): Promise<void> {
    return this.files.run(() => this.write(ref, value));
  }

  private async write(ref: OutputRef, value: unknown): Promise<void> {
    const file = this.pathFor(ref);
    const bytes = encodeValue(value);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(tmp, bytes);
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw new StorageError(
        `cannot store output ${refKey(ref)} in ${this.dir}: ${(err as Error).message}; check io.fs.dir in stepwise.yaml`,
        { cause: err },
      );
    }
  }

  async load(ref: OutputRef): Promise<unknown> {
    const file = this.pathFor(ref);
    let bytes: Buffer;
    try {
      bytes = await this.files.run(() => readFile(file));
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') {
        throw new NotFoundError(
          `the fs IO manager (io.fs.dir ${this.dir}) has no stored output ${refKey(ref)} (looked for ${file}); when steps run on several machines, each must see the same directory there (a shared volume mounted at ${this.dir} on every machine), or set io: { redis: { url } } in stepwise.yaml (a queue run with no io set uses Redis)`,
        );
      }
      throw new StorageError(`cannot read output ${refKey(ref)} from ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return decodeValue(bytes, `output ${refKey(ref)} (${file})`);
  }

  async has(ref: OutputRef): Promise<boolean> {
    try {
      return (await stat(this.pathFor(ref))).isFile();
    } catch {
      return false;
    }
  }

  async deleteRun(runId: string): Promise<void> {
    await rm(join(this.dir, encodePathComponent(runId)), { recursive: true, force: true });
  }

  async close(): Promise<void> {}
}
