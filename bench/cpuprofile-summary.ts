/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof` or the inspector's Profiler domain): where the time went,
 * by function (self and total time) and by file/package, optionally restricted to a window of the profile's
 * clock (CLOCK_MONOTONIC microseconds, the clock of `process.hrtime`), so a long-lived process's startup can be
 * left out.
 *
 * Run alone: `npx tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top N] [--from US --to US]`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number; scriptId?: string };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  /** Where it lives: a package, a Stepwise file, or a V8/Node category. */
  where: string;
  selfMs: number;
  totalMs: number;
  /** Share of the busy (non-idle) time of the window, in %. */
  selfPct: number;
  totalPct: number;
}

export interface ProfileSummary {
  /** Length of the window summarized, in ms. */
  windowMs: number;
  /** Time not spent idle, in ms. */
  busyMs: number;
  samples: number;
  byFunction: Row[];
  byFile: Row[];
}

const SPECIAL = new Set(['(program)', '(idle)', '(garbage collector)', '(root)']);

/** A short label for a script URL: `bullmq/<file>`, `@stepwise/core/<file>`, `node:<module>`, or the file name. */
export function whereOf(url: string, functionName: string): string {
  if (SPECIAL.has(functionName) && url === '') return functionName;
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return url;
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    if (rest[0]?.startsWith('@stepwise')) return `${rest[0]}/${rest[1]}/${rest.slice(2).join('/')}`;
    const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '?');
    const file = rest[rest.length - 1] ?? '';
    return `${pkg} (${file})`;
  }
  const pk = path.indexOf('/packages/');
  if (pk >= 0) {
    const [pkg, ...rest] = path.slice(pk + '/packages/'.length).split('/');
    return `@stepwise/${pkg}/${rest.join('/')}`;
  }
  const bench = path.indexOf('/bench/');
  if (bench >= 0) return path.slice(bench + 1);
  return path.split('/').slice(-2).join('/');
}

/** Aggregates the samples of `profile` that fall in [fromUs, toUs] (the whole profile by default). */
export function summarizeProfile(
  profile: CpuProfile,
  options: { fromUs?: number; toUs?: number; top?: number } = {},
): ProfileSummary {
  const top = options.top ?? 25;
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const keyOf = (node: CpuProfileNode) => {
    const f = node.callFrame;
    const name = f.functionName || '(anonymous)';
    const where = whereOf(f.url, f.functionName);
    return { key: `${name}\u0000${where}:${f.lineNumber + 1}`, name, where, file: where };
  };
  const self = new Map<string, { name: string; where: string; ms: number }>();
  const total = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  const fileTotal = new Map<string, number>();
  const from = options.fromUs ?? Number.NEGATIVE_INFINITY;
  const to = options.toUs ?? Number.POSITIVE_INFINITY;
  let t = profile.startTime;
  let busy = 0;
  let windowMs = 0;
  let count = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    // A sample stands for the interval up to the next one.
    const ms = (timeDeltas[i + 1] ?? 0) / 1000;
    windowMs += ms;
    count++;
    const node = byId.get(samples[i] as number);
    if (!node) continue;
    const leaf = keyOf(node);
    if (node.callFrame.functionName === '(idle)') continue;
    busy += ms;
    const s = self.get(leaf.key) ?? { name: leaf.name, where: `${leaf.where}:${node.callFrame.lineNumber + 1}`, ms: 0 };
    s.ms += ms;
    self.set(leaf.key, s);
    fileSelf.set(leaf.file, (fileSelf.get(leaf.file) ?? 0) + ms);
    // Total time: every distinct function and file on the stack, once per sample (recursion counted once).
    const seen = new Set<string>();
    const seenFiles = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      if (!n || n.callFrame.functionName === '(root)') continue;
      const k = keyOf(n);
      if (!seen.has(k.key)) {
        seen.add(k.key);
        total.set(k.key, (total.get(k.key) ?? 0) + ms);
        if (!self.has(k.key))
          self.set(k.key, { name: k.name, where: `${k.where}:${n.callFrame.lineNumber + 1}`, ms: 0 });
      }
      if (!seenFiles.has(k.file)) {
        seenFiles.add(k.file);
        fileTotal.set(k.file, (fileTotal.get(k.file) ?? 0) + ms);
      }
    }
  }
  const pct = (ms: number) => (busy > 0 ? (ms / busy) * 100 : 0);
  const byFunction = [...self]
    .map(([key, s]) => ({
      name: s.name,
      where: s.where,
      selfMs: s.ms,
      totalMs: total.get(key) ?? s.ms,
      selfPct: pct(s.ms),
      totalPct: pct(total.get(key) ?? s.ms),
    }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top);
  const byFile = [...fileSelf]
    .map(([file, ms]) => ({
      name: file,
      where: file,
      selfMs: ms,
      totalMs: fileTotal.get(file) ?? ms,
      selfPct: pct(ms),
      totalPct: pct(fileTotal.get(file) ?? ms),
    }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top);
  return { windowMs, busyMs: busy, samples: count, byFunction, byFile };
}

/** The top `n` functions by total (inclusive) time whose file matches `filter` (e.g. Stepwise's own code). */
export function topByTotal(
  profile: CpuProfile,
  filter: (where: string) => boolean,
  options: { fromUs?: number; toUs?: number; top?: number } = {},
): Row[] {
  const all = summarizeProfile(profile, { ...options, top: Number.MAX_SAFE_INTEGER });
  return all.byFunction
    .filter((r) => filter(r.where))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, options.top ?? 25);
}

/** Renders rows as a Markdown table. */
export function markdownRows(rows: Row[], first = 'function'): string {
  const lines = [`| ${first} | where | self ms | self % | total % |`, '|---|---|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(
      `| \`${r.name.replaceAll('|', '\\|')}\` | ${r.where.replaceAll('|', '\\|')} | ${r.selfMs.toFixed(0)} | ${r.selfPct.toFixed(1)} | ${r.totalPct.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

function main(): void {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top N] [--from US --to US]');
    process.exit(2);
  }
  const opt = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 && rest[i + 1] !== undefined ? Number(rest[i + 1]) : undefined;
  };
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const summary = summarizeProfile(profile, { top: opt('--top') ?? 30, fromUs: opt('--from'), toUs: opt('--to') });
  console.log(
    `window ${summary.windowMs.toFixed(0)} ms, busy ${summary.busyMs.toFixed(0)} ms, ${summary.samples} samples\n`,
  );
  console.log(markdownRows(summary.byFunction));
  console.log('');
  console.log(markdownRows(summary.byFile, 'file / package'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
