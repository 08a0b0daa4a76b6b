// values.schema.json: generated from scripts/chart/values-schema.ts, and each of its rules refusing bad values
// under the real helm; plus the rules the templates check (JSON Schema cannot say them).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderValuesSchema, VALUES_SCHEMA_PATH } from '../../scripts/chart/write-values-schema.js';
import { render, renderError } from './chart.js';

const T = 120_000;
const group = (extra: Record<string, unknown>) => JSON.stringify([{ name: 'g', queues: ['default'], ...extra }]);

describe('values.schema.json', () => {
  it('is the one generated from scripts/chart/values-schema.ts (run `npx tsx scripts/chart/write-values-schema.ts`)', () => {
    expect(readFileSync(VALUES_SCHEMA_PATH, 'utf8')).toBe(renderValuesSchema());
  });

  it(
    'accepts a group written with only its name and queues (defaults from the chart)',
    async () => {
      const objects = await render({ flags: ['--set-json', `workers=${group({})}`] });
      expect(objects.some((o) => o.metadata.name === 'rel-stepwise-worker-g')).toBe(true);
    },
    T,
  );

  // Each rule: the values that break it, and what helm's message must name.
  const rules: Array<[string, string[], RegExp]> = [
    ['an unknown top-level key', ['--set', 'replicas=3'], /Additional property replicas is not allowed/],
    [
      'a misspelled key in a worker group',
      ['--set-json', `workers=${group({ concurency: 4 })}`],
      /workers\.0.*Additional property concurency is not allowed/,
    ],
    [
      'a group name that is not a DNS label',
      ['--set-json', `workers=${group({ name: 'Heavy_CPU' })}`],
      /workers\.0\.name: Does not match pattern/,
    ],
    [
      'a group with no queue',
      ['--set-json', `workers=${group({ queues: [] })}`],
      /workers\.0\.queues: Array must have at least 1/,
    ],
    [
      "a queue name with ':' (BullMQ refuses it)",
      ['--set-json', `workers=${group({ queues: ['a:b'] })}`],
      /workers\.0\.queues\.0: Does not match pattern/,
    ],
    [
      'concurrency 0',
      ['--set-json', `workers=${group({ concurrency: 0 })}`],
      /workers\.0\.concurrency: Must be greater than or equal to 1/,
    ],
    [
      'a grace period given as a string',
      ['--set-json', `workers=${group({ terminationGracePeriodSeconds: '30s' })}`],
      /workers\.0\.terminationGracePeriodSeconds: Invalid type\. Expected: integer, given: string/,
    ],
    [
      'autoscaling up to 0 replicas',
      ['--set-json', `workers=${group({ autoscaling: { enabled: true, maxReplicas: 0 } })}`],
      /workers\.0\.autoscaling\.maxReplicas: Must be greater than or equal to 1/,
    ],
    [
      'a lock duration under a second',
      ['--set-json', `workers=${group({ lockDurationMs: 500 })}`],
      /workers\.0\.lockDurationMs: Must be greater than or equal to 1000/,
    ],
    [
      'a cluster node without a port',
      ['--set-json', 'redis.cluster=["redis-0"]'],
      /redis\.cluster\.0: Does not match pattern/,
    ],
    [
      'a prefix with its own braces (the chart adds the hash tag)',
      ['--set-json', 'redis.prefix="{stepwise}"'],
      /redis\.prefix: Does not match pattern/,
    ],
    ['a UI port below 1024', ['--set', 'ui.port=80'], /ui\.port: Must be greater than or equal to 1024/],
    [
      'an unknown pull policy',
      ['--set', 'image.pullPolicy=Sometimes'],
      /image\.pullPolicy: image\.pullPolicy must be one of/,
    ],
    [
      'an unknown toleration operator',
      ['--set-json', 'tolerations=[{"key":"a","operator":"Is"}]'],
      /tolerations\.0\.operator: tolerations\.0\.operator must be one of/,
    ],
    [
      'a PostgreSQL schema that is not an identifier',
      ['--set-string', 'postgres.schema=my-schema'],
      /postgres\.schema: Does not match pattern/,
    ],
    ['a string for a boolean', ['--set-string', 'ui.enabled=yes'], /ui\.enabled: Invalid type\. Expected: boolean/],
  ];
  for (const [rule, flags, message] of rules) {
    it(`refuses ${rule}`, async () => expect(await renderError({ flags })).toMatch(message), T);
  }
});

describe('rules the templates check', () => {
  const rules: Array<[string, string[], RegExp]> = [
    [
      'two worker groups of one name',
      [
        '--set-json',
        `workers=${JSON.stringify([
          { name: 'a', queues: ['x'] },
          { name: 'a', queues: ['y'] },
        ])}`,
      ],
      /two groups are named "a"/,
    ],
    [
      'minReplicas above maxReplicas',
      ['--set-json', `workers=${group({ autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } })}`],
      /worker-g: autoscaling\.minReplicas \(5\) is above maxReplicas \(2\)/,
    ],
    ['an Ingress without a host', ['--set', 'ui.ingress.enabled=true'], /ui\.ingress\.enabled needs ui\.ingress\.host/],
    [
      'autoscaling with the Redis URL in a Secret and no address for KEDA',
      ['--set', 'redis.existingSecret.name=r', '--set-json', `workers=${group({ autoscaling: { enabled: true } })}`],
      /needs redis\.address/,
    ],
    ['no Redis at all', ['--set', 'redis.url='], /set redis\.url, or redis\.existingSecret\.name/],
  ];
  for (const [rule, flags, message] of rules) {
    it(`refuses ${rule}`, async () => expect(await renderError({ flags })).toMatch(message), T);
  }
});
