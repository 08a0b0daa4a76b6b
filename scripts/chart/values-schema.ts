/**
 * The one typed source of the Helm chart's values: charts/stepwise/values.schema.json is generated from it
 * (`npx tsx scripts/chart/write-values-schema.ts`); a test fails when the committed file is not current.
 * Rules JSON Schema cannot say (unique group names, min <= max, ingress host) are checked by the chart's templates.
 */
import { z } from 'zod';

const nonEmpty = z.string().min(1);
const dnsLabel = z
  .string()
  .regex(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/)
  .describe('lowercase letters, digits and -, starting with a letter (it names Kubernetes objects)');
// BullMQ refuses ':' in queue names; braces would break the Redis Cluster hash tag.
const queueName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/)
  .describe('letters, digits, _ . -');
const positive = z.number().int().min(1);
const nonNegative = z.number().int().min(0);
const quantity = z.union([z.string().regex(/^[0-9.]+[a-zA-Z]*$/), z.number().min(0)]);
const hostPort = z
  .string()
  .regex(/^[^\s:/]+:[0-9]{1,5}$/)
  .describe('host:port');

const secretKeyRef = z.strictObject({
  name: z.string().describe('Secret name; empty: not used'),
  key: nonEmpty.describe('key inside the Secret'),
});

const resources = z
  .strictObject({
    requests: z.record(z.string(), quantity).optional(),
    limits: z.record(z.string(), quantity).optional(),
  })
  .describe('container resources (requests / limits)');

const toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: nonNegative.optional(),
});

/** Where a pod runs and with what: each component has these; empty ones fall back to the top-level ones. */
const placement = {
  resources: resources.optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  tolerations: z.array(toleration).optional(),
  affinity: z.record(z.string(), z.unknown()).optional().describe('a Kubernetes affinity, passed through'),
  podAnnotations: z.record(z.string(), z.string()).optional(),
  env: z.array(z.strictObject({ name: nonEmpty, value: z.string() })).optional(),
};

const pdb = z.strictObject({
  enabled: z.boolean().optional(),
  maxUnavailable: z.union([positive, z.string().regex(/^[0-9]{1,3}%$/)]).optional(),
});

const autoscaling = z.strictObject({
  enabled: z.boolean().optional(),
  minReplicas: nonNegative.optional().describe('0 lets KEDA scale the group to zero when its queues are empty'),
  maxReplicas: positive.optional(),
  pollingInterval: positive.optional().describe('seconds between KEDA reads of the queue keys'),
  cooldownPeriod: nonNegative.optional().describe('seconds after the last activity before scaling to zero'),
});

/** A worker group (SPEC §13): one Deployment of `stepwise worker` processes serving the same queues. */
export const workerGroupSchema = z.strictObject({
  name: dnsLabel,
  queues: z.array(queueName).min(1),
  concurrency: positive.optional().describe('steps each worker runs at once (--concurrency); default 1'),
  replicas: nonNegative.optional().describe('worker pods when autoscaling is off; default 1'),
  terminationGracePeriodSeconds: positive
    .optional()
    .describe('seconds a draining worker gets after SIGTERM before SIGKILL; default 330'),
  lockDurationMs: z.number().int().min(1000).optional().describe('--lock-duration; default 30000'),
  autoscaling: autoscaling.optional(),
  podDisruptionBudget: pdb.optional(),
  ...placement,
});

const runsWorkers = z.strictObject({
  enabled: z.boolean(),
  queue: queueName.describe('queue of the run launcher `queue` (runLauncher.queue.queue)'),
  concurrency: positive.optional(),
  replicas: nonNegative.optional(),
  terminationGracePeriodSeconds: positive.optional(),
  lockDurationMs: z.number().int().min(1000).optional(),
  autoscaling: autoscaling.optional(),
  podDisruptionBudget: pdb.optional(),
  ...placement,
});

export const valuesSchema = z.strictObject({
  nameOverride: z.string().optional(),
  fullnameOverride: z.string().optional(),
  image: z.strictObject({
    repository: nonEmpty,
    tag: z.string().describe('empty: the chart appVersion'),
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
  }),
  imagePullSecrets: z.array(z.strictObject({ name: nonEmpty })),
  definitions: nonEmpty.describe('the definitions file inside the image, passed as -f'),
  metricsPort: z.number().int().min(1024).max(65535).describe('worker /metrics, /livez, /readyz port'),
  serviceAccount: z.strictObject({
    create: z.boolean(),
    name: z.string(),
    annotations: z.record(z.string(), z.string()),
  }),
  redis: z.strictObject({
    url: z.string().describe('redis:// or rediss:// URL; put in a chart-made Secret. Ignored with existingSecret'),
    existingSecret: z.strictObject({
      name: z.string().describe('Secret holding the Redis URL; empty: use url'),
      key: nonEmpty,
      passwordKey: z.string().describe('key of the Redis password, for KEDA; empty: no password'),
      usernameKey: z.string().optional().describe('key of the Redis ACL user name, for KEDA; empty: default user'),
    }),
    address: z.string().describe('host:port KEDA connects to; empty: taken from url'),
    tls: z.boolean().describe('KEDA connects with TLS; with url, rediss:// turns it on'),
    cluster: z.array(hostPort).describe('Redis Cluster nodes; set: cluster mode, keys under the {prefix} hash tag'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .describe('key prefix shared by workers and coordinators; the chart adds the braces in cluster mode'),
  }),
  postgres: z.strictObject({
    url: z.string().describe('postgres:// URL; put in a chart-made Secret. Ignored with existingSecret'),
    existingSecret: secretKeyRef,
    schema: z.string().regex(/^([A-Za-z_][A-Za-z0-9_]{0,62})?$/),
  }),
  config: z.record(z.string(), z.unknown()).describe('more stepwise.yaml (SPEC §6), merged over what the chart sets'),
  daemon: z.strictObject({
    enabled: z.boolean(),
    replicas: nonNegative,
    args: z.array(z.string()).describe('more `stepwise daemon` flags, e.g. --no-scheduler'),
    podDisruptionBudget: pdb,
    ...placement,
  }),
  ui: z.strictObject({
    enabled: z.boolean(),
    replicas: nonNegative,
    port: z.number().int().min(1024).max(65535),
    readOnly: z.boolean(),
    token: z.strictObject({ existingSecret: secretKeyRef }).describe('empty name: the chart makes a random token'),
    service: z.strictObject({
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']),
      port: z.number().int().min(1).max(65535),
    }),
    ingress: z.strictObject({
      enabled: z.boolean(),
      className: z.string(),
      host: z.string(),
      annotations: z.record(z.string(), z.string()),
      tlsSecretName: z.string(),
    }),
    podDisruptionBudget: pdb,
    ...placement,
  }),
  workers: z.array(workerGroupSchema),
  runs: runsWorkers,
  ...placement,
});

export type ChartValues = z.infer<typeof valuesSchema>;

/** The JSON Schema helm checks values against (draft-07: helm 3.17's validator). */
export function valuesJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(valuesSchema, { target: 'draft-07', io: 'input' }),
    title: 'Values of the stepwise Helm chart (generated from scripts/chart/values-schema.ts: do not edit)',
  };
}
