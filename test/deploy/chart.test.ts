// charts/stepwise under the pinned helm: lint, render, and every rendered object checked against the Kubernetes and
// KEDA models, with unknown field names refused.
import { describe, expect, it } from 'vitest';
import { find, flagValues, helm, type K8sObject, mainContainer, RELEASE, render, VALUES_FILES } from './chart.js';
import { schemaErrors, strictFieldErrors, triggerMetadataErrors } from './k8s-models.js';

const HELM_TIMEOUT = 240_000;

describe('charts/stepwise', () => {
  it(
    'passes `helm lint --strict` with the default values and each values file',
    async () => {
      for (const file of VALUES_FILES) {
        const result = await helm(['lint', '--strict', '.', '-f', file]);
        expect(result.stderr + result.stdout, file).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
        expect(result.code, `${file}: ${result.stdout}${result.stderr}`).toBe(0);
      }
    },
    HELM_TIMEOUT,
  );

  it(
    'renders objects that the Kubernetes and KEDA models accept, with no unknown field anywhere',
    async () => {
      const all: K8sObject[] = [];
      for (const file of VALUES_FILES) {
        const objects = await render({ files: [file] });
        expect(objects.length, file).toBeGreaterThan(5);
        expect(schemaErrors(objects), file).toEqual([]);
        expect(triggerMetadataErrors(objects), file).toEqual([]);
        all.push(...objects);
      }
      // One tsc run over the objects of every values file.
      expect(await strictFieldErrors(all)).toEqual([]);
      const kinds = new Set(all.map((o) => o.kind));
      for (const kind of ['Deployment', 'Service', 'Ingress', 'ScaledObject', 'TriggerAuthentication'])
        expect(kinds.has(kind), kind).toBe(true);
    },
    HELM_TIMEOUT,
  );

  it(
    'the strict check finds a misspelled field that the models schema validation lets pass',
    async () => {
      const objects = await render();
      const deployment = structuredClone(find(objects, 'Deployment', `${RELEASE}-stepwise-worker-default`));
      const pod = (deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec;
      pod.terminationGracePeriodSecond = 30;
      expect(schemaErrors([deployment])).toEqual([]);
      const errors = await strictFieldErrors([deployment]);
      expect(errors.join('\n')).toMatch(/terminationGracePeriodSecond/);
      const bad = structuredClone(deployment);
      (bad.spec as Record<string, unknown>).replicas = 'two';
      expect(schemaErrors([bad]).join('\n')).toMatch(/replicas must be integer/);
    },
    HELM_TIMEOUT,
  );

  it(
    'runs every component with the CLI commands and flags SPEC §9 and §11 fix',
    async () => {
      const objects = await render({ files: ['ci/existing-secrets-values.yaml'] });
      const daemon = mainContainer(find(objects, 'Deployment', `${RELEASE}-stepwise-daemon`));
      expect(daemon.args).toEqual(['daemon', '-f', '/app/pipelines/repository.ts', '--no-scheduler']);
      const ui = mainContainer(find(objects, 'Deployment', `${RELEASE}-stepwise-ui`));
      expect(ui.args).toEqual(['ui', '-f', '/app/pipelines/repository.ts', '--host', '0.0.0.0', '--port', '3000']);
      const token = ui.env?.find((e) => e.name === 'STEPWISE_UI_TOKEN');
      expect(token?.valueFrom).toEqual({ secretKeyRef: { name: 'stepwise-ui', key: 'token' } });
      const runs = mainContainer(find(objects, 'Deployment', `${RELEASE}-stepwise-runs`));
      // The runs worker takes its queue, prefix and Redis from stepwise.yaml's runLauncher.queue.
      expect(runs.args).toEqual(['worker', '--runs', '--concurrency', '2']);
      const worker = mainContainer(find(objects, 'Deployment', `${RELEASE}-stepwise-worker-default`));
      expect(flagValues(worker.args, '--concurrency')).toEqual(['1']);
      expect(flagValues(worker.args, '--metrics-port')).toEqual(['9464']);
      // No URL or password in any ConfigMap, arg or plain env value.
      const text = JSON.stringify(objects.filter((o) => o.kind !== 'Secret'));
      expect(text).not.toMatch(/postgres:\/\/|redis:\/\//);
    },
    HELM_TIMEOUT,
  );

  it(
    'sets each worker group its grace period and a drain timeout inside it, readiness /readyz, liveness /livez',
    async () => {
      const objects = await render({ files: ['ci/autoscaling-values.yaml'] });
      for (const [group, grace] of [
        ['io', 120],
        ['heavy-cpu', 1800],
      ] as const) {
        const deployment = find(objects, 'Deployment', `${RELEASE}-stepwise-worker-${group}`);
        const pod = (deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec;
        expect(pod.terminationGracePeriodSeconds).toBe(grace);
        const container = mainContainer(deployment) as unknown as Record<string, { httpGet?: { path: string } }>;
        const args = mainContainer(deployment).args;
        expect(Number(flagValues(args, '--drain-timeout')[0])).toBe((grace - 5) * 1000);
        expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
        expect(container.livenessProbe?.httpGet?.path).toBe('/livez');
      }
      // An autoscaled group leaves replicas to KEDA; a fixed one has its own.
      const spec = (name: string) => find(objects, 'Deployment', `${RELEASE}-stepwise-worker-${name}`).spec;
      expect(spec('io')).not.toHaveProperty('replicas');
      expect(spec('heavy-cpu')).toHaveProperty('replicas', 3);
      expect(find(objects, 'PodDisruptionBudget', `${RELEASE}-stepwise-worker-heavy-cpu`).spec).toMatchObject({
        maxUnavailable: 2,
      });
    },
    HELM_TIMEOUT,
  );

  it(
    'gives KEDA the Redis password and ACL user of the URL through a TriggerAuthentication, not the ScaledObject',
    async () => {
      const objects = await render({ files: ['ci/autoscaling-values.yaml'] });
      const connections = `${RELEASE}-stepwise-connections`;
      expect(find(objects, 'Secret', connections).stringData).toMatchObject({
        'redis-password': 's3cret',
        'redis-username': 'stepwise',
      });
      const auth = find(objects, 'TriggerAuthentication', `${RELEASE}-stepwise-worker-io-redis`);
      expect((auth.spec as { secretTargetRef: unknown }).secretTargetRef).toEqual([
        { parameter: 'password', name: connections, key: 'redis-password' },
        { parameter: 'username', name: connections, key: 'redis-username' },
      ]);
      const scaled = find(objects, 'ScaledObject', `${RELEASE}-stepwise-worker-io`);
      expect(JSON.stringify(scaled)).not.toMatch(/s3cret/);
      expect(
        (scaled.spec as { triggers: Array<{ metadata: Record<string, string> }> }).triggers[0]?.metadata,
      ).toMatchObject({
        address: 'redis-master.data:6380',
        databaseIndex: '2',
        enableTLS: 'false',
      });
    },
    HELM_TIMEOUT,
  );
});
