// The Dockerfile, checked statically (no Docker engine or base images here): stages, non-root user, init as PID 1,
// the CLI as entrypoint, no secrets in layers, and a .dockerignore that keeps secrets and local state out.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './chart.js';

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined and comments dropped. */
function parse(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

const dockerfile = parse(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = dockerfile.reduce<Instruction[][]>((acc, ins) => {
  if (ins.op === 'FROM') acc.push([]);
  acc.at(-1)?.push(ins);
  return acc;
}, []);
const final = stages.at(-1) ?? [];

describe('Dockerfile', () => {
  it('builds in two stages, both on Node 20 slim', () => {
    expect(stages.length).toBe(2);
    const arg = dockerfile.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    expect(arg?.args).toBe('NODE_IMAGE=node:20-slim');
    for (const from of dockerfile.filter((i) => i.op === 'FROM'))
      expect(from.args).toMatch(/^\$\{NODE_IMAGE\}( AS build)?$/);
    // The final stage takes only built files from the first, and installs no compiler.
    expect(final.filter((i) => i.op === 'COPY').every((i) => i.args.startsWith('--from=build'))).toBe(true);
    expect(final.some((i) => i.op === 'RUN' && /g\+\+|make|python3/.test(i.args))).toBe(false);
  });

  it('installs from the lockfile and builds every package', () => {
    const run = (stages[0] ?? []).filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(run.some((r) => r.includes('npm ci') && r.includes('npm run build'))).toBe(true);
    expect(run.some((r) => /npm install\b/.test(r))).toBe(false);
    expect(run.some((r) => r.includes('npm prune --omit=dev'))).toBe(true);
    for (const source of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.base.json', 'packages/'])
      expect(existsSync(join(ROOT, source)), source).toBe(true);
  });

  it('runs as a non-root user, with tini as PID 1 and the stepwise CLI as entrypoint', () => {
    const users = final.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.length).toBe(1);
    expect(users[0]).not.toMatch(/^(root|0)(:|$)/);
    // USER comes after the last RUN, so nothing later runs as root.
    const userAt = final.findIndex((i) => i.op === 'USER');
    expect(final.findLastIndex((i) => i.op === 'RUN')).toBeLessThan(userAt);
    expect(final.some((i) => i.op === 'RUN' && i.args.includes('install -y --no-install-recommends tini'))).toBe(true);
    const entrypoint = final.find((i) => i.op === 'ENTRYPOINT');
    expect(JSON.parse(entrypoint?.args ?? 'null')).toEqual(['/usr/bin/tini', '--', 'stepwise']);
    const link = final.find((i) => i.op === 'RUN' && i.args.includes('/usr/local/bin/stepwise'));
    expect(link?.args).toContain('ln -s /app/packages/core/bin/stepwise.js /usr/local/bin/stepwise');
    expect(readFileSync(join(ROOT, 'packages/core/bin/stepwise.js'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(
      true,
    );
  });

  it('puts no secret in a layer: no secret-named ARG or ENV, no secret file copied, and they are ignored', () => {
    for (const i of dockerfile.filter((x) => x.op === 'ARG' || x.op === 'ENV'))
      expect(i.args, `${i.op} ${i.args}`).not.toMatch(/TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|_URL=/i);
    for (const i of dockerfile.filter((x) => x.op === 'COPY' || x.op === 'ADD'))
      expect(i.args, i.args).not.toMatch(/\.env|\.npmrc|\.pem|id_rsa|\.git\b/);
    expect(dockerfile.some((i) => i.op === 'ADD')).toBe(false);
    for (const pattern of ['.env', '.env.*', '.npmrc', '.git', '**/node_modules', '**/dist', '.stepwise'])
      expect(ignore, pattern).toContain(pattern);
  });

  it('does not ignore what the build needs', () => {
    for (const kept of ['packages', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.base.json']) {
      expect(ignore.includes(kept), kept).toBe(false);
    }
    expect(ignore.some((p) => p === 'packages/*/src' || p === 'packages/core/bin')).toBe(false);
  });
});
