// Every guide's runnable code blocks, run against real parts (the built CLI, Redis, PostgreSQL), so the docs
// cannot rot. The rules of which block runs how are in scripts/docs/code-blocks.ts.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '@stepwise/testing';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { codeBlocks } from '../../scripts/docs/code-blocks.js';
import { ROOT } from '../deploy/chart.js';

const redisUrl = inject('redisUrl');
const databaseUrl = inject('databaseUrl');

/** Guides whose code blocks run; each must have at least one runnable block. */
const GUIDES = (process.env.DOCS_GUIDES ?? 'concepts.md,embedding.md,testing.md,operations.md,errors.md').split(',');

// Inside the repository, so `@stepwise/*` and `zod` resolve from the workspace's node_modules.
const SCRATCH = join(ROOT, '.test-tmp', `guides-${process.pid}`);
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

const TSX = join(ROOT, 'node_modules/.bin/tsx');

for (const guide of GUIDES) {
  describe(`docs/${guide}`, () => {
    const blocks = codeBlocks(readFileSync(join(ROOT, 'docs', guide), 'utf8'));
    const dir = join(SCRATCH, guide.replace('.md', ''));
    const prefix = `docs-${guide.replace('.md', '')}-${process.pid}`;
    const env = {
      STEPWISE_HOME: join(dir, '.stepwise'),
      REDIS_URL: redisUrl,
      DATABASE_URL: databaseUrl,
      STEPWISE_PREFIX: prefix,
      PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
    };

    it('has runnable blocks', () => {
      expect(blocks.filter((b) => b.runnable).length).toBeGreaterThan(0);
    });

    for (const [index, block] of blocks.entries()) {
      if (!block.runnable && block.file === undefined) continue;
      const title = `block ${index + 1} (line ${block.line}, ${block.lang}${block.file ? ` ${block.file}` : ''})`;
      it(`${title} ${block.runnable ? `runs (exit ${block.exit})` : 'is written'}`, async () => {
        mkdirSync(dir, { recursive: true });
        const ext = block.lang === 'sh' ? 'sh' : 'ts';
        const file = join(dir, block.file ?? `block-${index + 1}.${ext}`);
        mkdirSync(join(file, '..'), { recursive: true });
        writeFileSync(file, block.code);
        if (!block.runnable) return;
        const [cmd, args] = ext === 'sh' ? ['bash', ['-euo', 'pipefail', file]] : [TSX, ['--conditions=source', file]];
        const r = await runProcess(cmd, args as string[], { cwd: dir, env, timeoutMs: 120_000 });
        expect(r.code, `docs/${guide}:${block.line}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(block.exit);
      }, 150_000);
    }
  });
}
