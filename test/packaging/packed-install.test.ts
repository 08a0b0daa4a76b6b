// The packed-install check: every published package packed, its tarball's contents checked, the tarballs installed
// into an empty project, and used there (import, `stepwise --help`, the etl example without and with its SQLite
// driver). Slow by nature (npm installs from the registry): one test, with a bound of ten minutes.
import { describe, expect, inject, it } from 'vitest';
import { packedInstall } from '../../scripts/packed-install.js';

describe('packed install', () => {
  it('installs the tarballs into an empty project, where the library, the CLI and the etl example work', async () => {
    const timings = await packedInstall(false, inject('databaseUrl'));
    expect(timings.map((t) => t.split(/:| without/)[0])).toEqual([
      'pack and check tarballs',
      'npm install the tarballs',
      'use the install',
      'PostgreSQL only',
      'npm install better-sqlite3',
      'run the etl example',
    ]);
  }, 600_000);
});
