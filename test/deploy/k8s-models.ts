// Checks rendered objects against the Kubernetes and KEDA models: their schema validation at run time, and a strict
// check of field names through the models' TypeScript types (tsc's excess-property check), since the schemas let
// unknown keys pass.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { K8sObject } from './chart.js';
import { ROOT } from './chart.js';

const run = promisify(execFile);

interface Model {
  validate(): void;
}

/** Each kind the chart renders: its model class, and the module and interface of its type. */
const MODELS: Record<string, { make: (data: never) => Model; module: string; type: string }> = {
  'apps/v1/Deployment': { make: (d) => new Deployment(d), module: 'kubernetes-models/apps/v1', type: 'IDeployment' },
  'v1/Service': { make: (d) => new Service(d), module: 'kubernetes-models/v1', type: 'IService' },
  'v1/Secret': { make: (d) => new Secret(d), module: 'kubernetes-models/v1', type: 'ISecret' },
  'v1/ConfigMap': { make: (d) => new ConfigMap(d), module: 'kubernetes-models/v1', type: 'IConfigMap' },
  'v1/ServiceAccount': { make: (d) => new ServiceAccount(d), module: 'kubernetes-models/v1', type: 'IServiceAccount' },
  'networking.k8s.io/v1/Ingress': {
    make: (d) => new Ingress(d),
    module: 'kubernetes-models/networking.k8s.io/v1',
    type: 'IIngress',
  },
  'policy/v1/PodDisruptionBudget': {
    make: (d) => new PodDisruptionBudget(d),
    module: 'kubernetes-models/policy/v1',
    type: 'IPodDisruptionBudget',
  },
  'keda.sh/v1alpha1/ScaledObject': {
    make: (d) => new ScaledObject(d),
    module: '@kubernetes-models/keda/keda.sh/v1alpha1',
    type: 'IScaledObject',
  },
  'keda.sh/v1alpha1/TriggerAuthentication': {
    make: (d) => new TriggerAuthentication(d),
    module: '@kubernetes-models/keda/keda.sh/v1alpha1',
    type: 'ITriggerAuthentication',
  },
};

function modelOf(o: K8sObject) {
  const model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!model) throw new Error(`no model for ${o.apiVersion} ${o.kind} (${o.metadata.name}): add it to MODELS`);
  return model;
}

/** Schema errors of each object, as `Kind/name: message` lines (empty: all valid). */
export function schemaErrors(objects: K8sObject[]): string[] {
  const errors: string[] = [];
  for (const o of objects) {
    try {
      modelOf(o)
        .make(o as never)
        .validate();
    } catch (error) {
      errors.push(`${o.kind}/${o.metadata.name}: ${(error as Error).message}`);
    }
  }
  return errors;
}

/**
 * Field names (and types) of every object checked by tsc against the models' interfaces: an object literal with a
 * key its type lacks is an error there. Returns tsc's error lines (empty: all known).
 */
export async function strictFieldErrors(objects: K8sObject[]): Promise<string[]> {
  const dir = join(ROOT, '.test-tmp', `k8s-fields-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  try {
    const imports = new Map<string, Set<string>>();
    const lines = objects.map((o, i) => {
      const model = modelOf(o);
      imports.set(model.module, (imports.get(model.module) ?? new Set()).add(model.type));
      return `// ${o.kind}/${o.metadata.name}\nexport const o${i}: ${model.type} = ${JSON.stringify(o, null, 2)};`;
    });
    const head = [...imports].map(([m, types]) => `import type { ${[...types].join(', ')} } from '${m}';`);
    writeFileSync(join(dir, 'objects.ts'), `${head.join('\n')}\n\n${lines.join('\n\n')}\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.base.json',
        compilerOptions: { noEmit: true, composite: false, declaration: false, declarationMap: false },
        files: ['objects.ts'],
      }),
    );
    try {
      await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', dir], { cwd: ROOT, timeout: 60_000 });
      return [];
    } catch (error) {
      const out = (error as { stdout?: string }).stdout ?? '';
      if (!out.includes('error TS')) throw error;
      return out.split('\n').filter((l) => l.includes('error TS'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Metadata keys KEDA's redis and redis-cluster scalers read (keda pkg/scalers/redis_scaler.go); others are ignored. */
const REDIS_TRIGGER_KEYS = new Set([
  'address',
  'addresses',
  'host',
  'hosts',
  'port',
  'ports',
  'username',
  'password',
  'unsafeSsl',
  'listName',
  'listLength',
  'activationListLength',
  'databaseIndex',
  'enableTLS',
  'addressFromEnv',
  'hostFromEnv',
  'portFromEnv',
  'usernameFromEnv',
  'passwordFromEnv',
]);

/** Trigger metadata is a string map in the model: check its keys against what KEDA reads. */
export function triggerMetadataErrors(objects: K8sObject[]): string[] {
  const errors: string[] = [];
  for (const o of objects.filter((x) => x.kind === 'ScaledObject')) {
    const triggers = (o.spec as { triggers: Array<{ type: string; metadata: Record<string, string> }> }).triggers;
    for (const t of triggers) {
      if (t.type !== 'redis' && t.type !== 'redis-cluster') errors.push(`${o.metadata.name}: trigger type ${t.type}`);
      for (const key of Object.keys(t.metadata))
        if (!REDIS_TRIGGER_KEYS.has(key)) errors.push(`${o.metadata.name}: unknown redis trigger metadata '${key}'`);
    }
  }
  return errors;
}
