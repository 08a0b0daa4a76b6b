// Rendering charts/stepwise with the pinned helm, for the deploy tests.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ensureHelm } from '../../scripts/helm.js';

const run = promisify(execFile);

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = join(ROOT, 'charts/stepwise');
export const RELEASE = 'rel';
export const NAMESPACE = 'stepwise';

/** The chart's default values and every values file under charts/stepwise/ci (each rendered alone). */
export const VALUES_FILES = [
  'values.yaml',
  ...readdirSync(join(CHART, 'ci'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => `ci/${f}`),
];

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the pinned helm; a non-zero exit is returned, not thrown. */
export async function helm(args: string[]): Promise<HelmResult> {
  const binary = await ensureHelm();
  try {
    const { stdout, stderr } = await run(binary, args, { cwd: CHART, timeout: 60_000, maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

export interface RenderOptions {
  /** Values files relative to the chart (`-f`). */
  files?: string[];
  /** `--set` / `--set-string` / `--set-json` pairs, as flags: e.g. ['--set', 'ui.port=80']. */
  flags?: string[];
}

function templateArgs(options: RenderOptions): string[] {
  return [
    'template',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    ...(options.files ?? []).flatMap((f) => ['-f', join(CHART, f)]),
    ...(options.flags ?? []),
  ];
}

/** `helm template` as objects; throws with helm's message when it fails. */
export async function render(options: RenderOptions = {}): Promise<K8sObject[]> {
  const result = await helm(templateArgs(options));
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** `helm template` expected to fail: resolves to helm's error output. */
export async function renderError(options: RenderOptions): Promise<string> {
  const result = await helm(templateArgs(options));
  if (result.code === 0)
    throw new Error(`helm template succeeded but was expected to fail (${JSON.stringify(options)})`);
  return result.stderr;
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} in the rendered chart (have: ${have})`);
  }
  return found;
}

export interface Container {
  name: string;
  args: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
}

/** The first container of a Deployment's pod template. */
export function mainContainer(deployment: K8sObject): Container {
  const spec = deployment.spec as { template: { spec: { containers: Container[] } } };
  const container = spec.template.spec.containers[0];
  if (!container) throw new Error(`${deployment.metadata.name} has no container`);
  return container;
}

/** The value following `flag` in a container's args (every value when repeated). */
export function flagValues(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag && args[i + 1] !== undefined ? [args[i + 1] as string] : []));
}
