/**
 * A small ETL: extract orders from a (simulated) source, split into partitions; transform each partition
 * separately (a dynamic fan-out, one step per partition, with retries for transient errors); collect and
 * validate them (rejected rows are an optional output: when there are none, `quarantine` is skipped); load
 * the clean rows into a warehouse resource; report.
 *
 *   npx stepwise run -f examples/etl/pipeline.ts
 *   npx stepwise run -f examples/etl/pipeline.ts -c examples/etl/config.yaml
 */
import { dynamicItem, op, pipeline, repository, resource } from '@stepwise/core';
import { z } from 'zod';

const order = z.object({
  orderId: z.string(),
  customer: z.string(),
  amount: z.number(),
  currency: z.enum(['USD', 'EUR', 'GBP']),
});
const usdOrder = z.object({ orderId: z.string(), customer: z.string(), amountUsd: z.number() });
const partition = z.object({ id: z.string(), orders: z.array(order) });

/** An in-memory stand-in for a warehouse client: built once per process, closed after the run. */
interface Warehouse {
  readonly table: string;
  insert(rows: ReadonlyArray<Record<string, unknown>>): number;
  count(): number;
  close(): void;
}

export const warehouse = resource({
  description: 'the warehouse the orders are loaded into',
  config: z.object({ table: z.string().default('orders') }),
  setup: ({ config, log }): Warehouse => {
    const rows: Array<Record<string, unknown>> = [];
    log.debug({ table: config.table }, 'warehouse connected');
    return {
      table: config.table,
      insert: (batch) => rows.push(...batch),
      count: () => rows.length,
      close: () => log.debug('warehouse closed'),
    };
  },
  teardown: (w) => w.close(),
});

/** A deterministic pseudo-random generator, so every run extracts the same data. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

export const extract = op({
  name: 'extract',
  description: 'reads the day’s orders and splits them into partitions',
  config: z.object({
    partitions: z.number().int().min(1).max(50).default(4),
    ordersPerPartition: z.number().int().min(0).default(25),
    /** Adds orders with a negative amount, which validation rejects. */
    includeBadRows: z.boolean().default(false),
    seed: z.number().int().default(42),
  }),
  out: { schema: partition, dynamic: true },
  compute: (ctx) => {
    const { partitions, ordersPerPartition, includeBadRows, seed } = ctx.config;
    const next = random(seed);
    const currencies = ['USD', 'EUR', 'GBP'] as const;
    const out = [];
    for (let p = 0; p < partitions; p++) {
      const orders = [];
      for (let i = 0; i < ordersPerPartition; i++) {
        orders.push({
          orderId: `o-${p}-${i}`,
          customer: `c-${Math.floor(next() * 100)}`,
          amount: Math.round(next() * 50_000) / 100,
          currency: currencies[Math.floor(next() * 3)] ?? 'USD',
        });
      }
      if (includeBadRows) orders.push({ orderId: `o-${p}-bad`, customer: 'c-0', amount: -1, currency: 'USD' as const });
      out.push(dynamicItem(`p${p}`, { id: `p${p}`, orders }));
    }
    ctx.log.info({ partitions, orders: partitions * ordersPerPartition }, 'extracted');
    return out;
  },
});

const RATES = { USD: 1, EUR: 1.08, GBP: 1.27 } as const;

export const transform = op({
  name: 'transform',
  description: 'converts one partition to USD',
  config: z.object({
    /** A partition whose first attempt fails with a transient error, to show retries. Empty: none. */
    flakyPartition: z.string().default('p1'),
  }),
  ins: { part: partition },
  out: z.array(usdOrder.extend({ valid: z.boolean() })),
  retry: { maxRetries: 3, delayMs: 20, backoff: 'exponential', jitter: true },
  compute: (ctx, { part }) => {
    if (part.id === ctx.config.flakyPartition && ctx.attempt === 1) {
      throw new Error(`transient: connection reset while reading partition ${part.id}`);
    }
    return part.orders.map((o) => ({
      orderId: o.orderId,
      customer: o.customer,
      amountUsd: Math.round(o.amount * RATES[o.currency] * 100) / 100,
      valid: o.amount >= 0,
    }));
  },
});

export const validate = op({
  name: 'validate',
  description: 'merges the partitions and separates rejected rows',
  ins: { parts: z.array(z.array(usdOrder.extend({ valid: z.boolean() }))) },
  outs: {
    clean: z.array(usdOrder),
    rejected: { schema: z.array(usdOrder), optional: true },
  },
  compute: (ctx, { parts }) => {
    const rows = parts.flat();
    const strip = ({ valid: _valid, ...row }: (typeof rows)[number]) => row;
    const clean = rows.filter((r) => r.valid).map(strip);
    const rejected = rows.filter((r) => !r.valid).map(strip);
    ctx.log.info({ clean: clean.length, rejected: rejected.length }, 'validated');
    // Leaving out the optional output skips `quarantine` (and only it).
    return rejected.length > 0 ? { clean, rejected } : { clean };
  },
});

export const load = op({
  name: 'load',
  description: 'inserts the clean rows into the warehouse',
  ins: { rows: z.array(usdOrder) },
  out: z.object({ table: z.string(), inserted: z.number(), revenueUsd: z.number() }),
  requiredResources: ['warehouse'],
  compute: (ctx, { rows }) => {
    const w = ctx.resources.warehouse as Warehouse;
    const inserted = w.insert(rows);
    const revenueUsd = Math.round(rows.reduce((sum, r) => sum + r.amountUsd, 0) * 100) / 100;
    ctx.emit({ kind: 'materialization', assetKey: `warehouse/${w.table}`, metadata: { rows: inserted, revenueUsd } });
    return { table: w.table, inserted, revenueUsd };
  },
});

export const quarantine = op({
  name: 'quarantine',
  description: 'keeps rejected rows for a human to look at',
  ins: { rows: z.array(usdOrder) },
  out: z.number(),
  requiredResources: ['warehouse'],
  compute: (ctx, { rows }) => {
    ctx.log.warn({ rows: rows.length }, 'rows quarantined');
    return rows.length;
  },
});

export const report = op({
  name: 'report',
  ins: { loaded: z.object({ table: z.string(), inserted: z.number(), revenueUsd: z.number() }) },
  compute: (_ctx, { loaded }) => {
    console.log(`loaded ${loaded.inserted} orders into ${loaded.table}: $${loaded.revenueUsd.toFixed(2)} revenue`);
  },
});

export const etl = pipeline({
  name: 'etl',
  description: 'orders: extract -> transform per partition -> validate -> load',
  tags: { team: 'data' },
  resources: { warehouse },
  build: () => {
    const converted = extract().map((part) => transform({ part }));
    const { clean, rejected } = validate({ parts: converted.collect() });
    report({ loaded: load({ rows: clean }) });
    quarantine({ rows: rejected });
  },
});

export default repository({ pipelines: [etl] });
