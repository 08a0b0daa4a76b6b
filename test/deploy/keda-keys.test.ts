// The chart's KEDA triggers name BullMQ's real keys: with steps enqueued (plain, prioritized, some taken active) and
// no Stepwise worker running, the lengths KEDA reads from the trigger keys sum to BullMQ's own job counts, on a
// standalone Redis and on a Redis Cluster (where the keys carry the {prefix} hash tag and share one slot).
import { randomUUID } from 'node:crypto';
import { RedisKeys } from '@stepwise/executor-queue';
import { type RedisServer, startRedisServer, waitUntil } from '@stepwise/testing';
import { Queue, QueueKeys, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { find, flagValues, type K8sObject, mainContainer, RELEASE, render } from './chart.js';

const redisUrl = inject('redisUrl');

/** KEDA's list-length script, as its redis and redis-cluster scalers EVAL it (keda pkg/scalers/redis_scaler.go). */
const KEDA_LIST_LENGTH = `
  local listName = KEYS[1]
  local listType = redis.call('type', listName).ok
  local cmd = { zset = 'zcard', set = 'scard', list = 'llen', hash = 'hlen', none = 'llen' }
  return redis.call(cmd[listType], listName)
`;

interface Trigger {
  type: string;
  name: string;
  metadata: Record<string, string>;
}

const GROUP = { name: 'io', queues: ['io', 'default'], concurrency: 4, autoscaling: { enabled: true, maxReplicas: 9 } };

async function renderGroup(flags: string[]) {
  const objects = await render({ flags: ['--set-json', `workers=${JSON.stringify([GROUP])}`, ...flags] });
  const name = `${RELEASE}-stepwise-worker-io`;
  const scaled = find(objects, 'ScaledObject', name) as K8sObject & {
    spec: { triggers: Trigger[]; advanced: { scalingModifiers: { formula: string; target: string } } };
  };
  const args = mainContainer(find(objects, 'Deployment', name)).args;
  return { scaled, triggers: scaled.spec.triggers, workerPrefix: flagValues(args, '--prefix')[0] ?? '', args };
}

/** BullMQ's keys for the worker's queues, built as the worker builds its BullMQ prefix. */
function bullmqKeys(workerPrefix: string, queues: string[]): string[] {
  const keys = new QueueKeys(new RedisKeys(workerPrefix).prefix);
  return queues.flatMap((q) => ['wait', 'prioritized', 'active'].map((type) => keys.toKey(q, type)));
}

/** Enqueues plain, prioritized and delayed jobs, then takes two into active by hand (no processor runs them). */
async function enqueue(queues: Queue[], connection: Redis | Cluster, prefix: string): Promise<Worker[]> {
  const [io, dflt] = queues as [Queue, Queue];
  await io.addBulk(Array.from({ length: 7 }, (_, i) => ({ name: 'step', data: { i } })));
  await io.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'step', data: { i }, opts: { priority: 1 + i } })));
  await dflt.addBulk(Array.from({ length: 2 }, (_, i) => ({ name: 'step', data: { i } })));
  await dflt.add('step', {}, { priority: 10 });
  await dflt.add('later', {}, { delay: 60_000 });
  const takers = queues.map((q) => new Worker(q.name, null, { connection, prefix, autorun: false }));
  for (const taker of takers) await taker.getNextJob(randomUUID(), { block: false });
  const token = randomUUID();
  await takers[0]?.getNextJob(token, { block: false });
  return takers;
}

async function kedaSum(client: Redis | Cluster, triggers: Trigger[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of triggers) out[t.name] = Number(await client.eval(KEDA_LIST_LENGTH, 1, t.metadata.listName ?? ''));
  return out;
}

/** The ScaledObject's formula evaluated on the trigger values (it holds only names, numbers and + / ( )). */
function evaluate(formula: string, values: Record<string, number>): number {
  const expr = formula.replace(/q\d+_[a-z]+/g, (name) => String(values[name]));
  if (!/^[\d\s+/().]+$/.test(expr)) throw new Error(`unexpected formula: ${formula}`);
  return Function(`return (${expr});`)() as number;
}

/** BullMQ's own counts, named as the triggers are (q<index of the queue>_<type>). */
async function bullmqCounts(queues: Queue[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [i, q] of queues.entries()) {
    const counts = await q.getJobCounts('wait', 'prioritized', 'active');
    for (const type of ['wait', 'prioritized', 'active']) out[`q${i}_${type}`] = counts[type] ?? 0;
  }
  return out;
}

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

describe('KEDA triggers on BullMQ keys', () => {
  it('standalone Redis: the trigger keys are the worker queues keys and their lengths sum to getJobCounts', async () => {
    const prefix = `keda-${randomUUID().slice(0, 8)}`;
    const { scaled, triggers, workerPrefix } = await renderGroup([
      '--set',
      `redis.url=${redisUrl}/0`,
      '--set',
      `redis.prefix=${prefix}`,
    ]);
    expect(workerPrefix).toBe(prefix);
    expect(triggers.map((t) => t.type)).toEqual(Array(6).fill('redis'));
    expect(triggers.map((t) => t.metadata.listName)).toEqual(bullmqKeys(workerPrefix, GROUP.queues));
    // KEDA connects where the trigger says: the Redis of the URL the workers get.
    const url = new URL(redisUrl);
    expect(triggers[0]?.metadata.address).toBe(`${url.hostname}:${url.port}`);
    const kedaRedis = new Redis({
      host: url.hostname,
      port: Number(url.port),
      db: Number(triggers[0]?.metadata.databaseIndex ?? 0),
      maxRetriesPerRequest: null,
    });
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queues = GROUP.queues.map((q) => new Queue(q, { connection, prefix: workerPrefix }));
    const takers = await enqueue(queues, connection, workerPrefix);
    try {
      const values = await kedaSum(kedaRedis, triggers);
      expect(values).toEqual(await bullmqCounts(queues));
      // 10 jobs on io and 3 on default, 3 of them taken active; the delayed job counts in neither.
      const total = sum(values);
      expect(total).toBe(13);
      expect(values.q0_active).toBe(2);
      expect(values.q0_prioritized).toBeGreaterThan(0);
      const { formula, target } = scaled.spec.advanced.scalingModifiers;
      expect(evaluate(formula, values)).toBeCloseTo(total / GROUP.concurrency);
      expect(Math.ceil(evaluate(formula, values) / Number(target))).toBe(4);
    } finally {
      await Promise.all(takers.map((t) => t.close(true)));
      for (const q of queues) await q.obliterate({ force: true });
      await Promise.all(queues.map((q) => q.close()));
      connection.disconnect();
      kedaRedis.disconnect();
    }
  });

  describe('Redis Cluster', () => {
    let server: RedisServer;
    beforeAll(async () => {
      // A one-node cluster holding every slot: enough for keys, slots and the cluster client.
      server = await startRedisServer({
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1'],
      });
      const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await waitUntil(
        async () => String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'),
        10_000,
        'the cluster to be ok',
      );
      admin.disconnect();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('uses redis-cluster triggers on hash-tagged keys of one slot whose lengths sum to getJobCounts', async () => {
      const prefix = `keda-${randomUUID().slice(0, 8)}`;
      const node = `127.0.0.1:${server.port}`;
      const { triggers, workerPrefix, args } = await renderGroup([
        '--set-json',
        `redis.cluster=${JSON.stringify([node])}`,
        '--set',
        `redis.prefix=${prefix}`,
      ]);
      expect(workerPrefix).toBe(`{${prefix}}`);
      expect(flagValues(args, '--redis-cluster')).toEqual([node]);
      expect(triggers.map((t) => t.type)).toEqual(Array(6).fill('redis-cluster'));
      expect(triggers.every((t) => t.metadata.addresses === node)).toBe(true);
      const names = triggers.map((t) => t.metadata.listName ?? '');
      expect(names).toEqual(bullmqKeys(workerPrefix, GROUP.queues));
      expect(names.every((n) => n.startsWith(`{${prefix}}:`))).toBe(true);
      const cluster = new Cluster([{ host: '127.0.0.1', port: server.port }], {
        redisOptions: { maxRetriesPerRequest: null },
      });
      const slots = new Set(await Promise.all(names.map((n) => cluster.call('CLUSTER', 'KEYSLOT', n))));
      expect(slots.size).toBe(1);
      const queues = GROUP.queues.map((q) => new Queue(q, { connection: cluster, prefix: workerPrefix }));
      const takers = await enqueue(queues, cluster, workerPrefix);
      try {
        const values = await kedaSum(cluster, triggers);
        expect(values).toEqual(await bullmqCounts(queues));
        expect(sum(values)).toBe(13);
        expect(values.q0_active).toBe(2);
      } finally {
        await Promise.all(takers.map((t) => t.close(true)));
        for (const q of queues) await q.obliterate({ force: true });
        await Promise.all(queues.map((q) => q.close()));
        cluster.disconnect();
      }
    });
  });
});
