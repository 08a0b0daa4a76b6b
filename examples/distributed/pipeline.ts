/**
 * A pipeline whose steps run on two kinds of workers: `io` steps (fetching) and `heavy` steps (CPU work).
 * See README.md for how to start Redis, the workers and a run.
 */
import { dynamicItem, op, pipeline, repository } from '@stepwise/core';
import { z } from 'zod';

const listPages = op({
  name: 'list_pages',
  config: z.object({ pages: z.number().int().positive().default(6) }),
  out: { schema: z.number(), dynamic: true },
  tags: { queue: 'io' },
  compute: (ctx) => Array.from({ length: ctx.config.pages }, (_, i) => dynamicItem(`page${i}`, i)),
});

const fetchPage = op({
  name: 'fetch_page',
  // 1,000 values are about 3 KB, under the 4 KB a job carries inline: more make crunch read its input from the IO manager.
  config: z.object({ values: z.number().int().positive().default(1_000) }),
  ins: { page: z.number() },
  out: z.array(z.number()),
  tags: { queue: 'io' },
  retry: { maxRetries: 2, delayMs: 100, backoff: 'exponential' },
  compute: async (ctx, { page }) => {
    await new Promise((r) => setTimeout(r, 50));
    return Array.from({ length: ctx.config.values }, (_, i) => page * 1_000 + i);
  },
});

const crunch = op({
  name: 'crunch',
  ins: { values: z.array(z.number()) },
  out: z.number(),
  tags: { queue: 'heavy' },
  compute: (ctx, { values }) => {
    let acc = 0;
    for (let round = 0; round < 200; round++) for (const v of values) acc = (acc + v * v) % 1_000_003;
    ctx.log.info({ acc }, 'crunched');
    return acc;
  },
});

const combine = op({
  name: 'combine',
  ins: { parts: z.array(z.number()) },
  out: z.number(),
  compute: (_ctx, { parts }) => parts.reduce((a, b) => (a + b) % 1_000_003, 0),
});

export const distributed = pipeline({
  name: 'distributed',
  build: () => {
    const crunched = listPages().map((page) => crunch({ values: fetchPage({ page }) }));
    combine({ parts: crunched.collect() });
  },
});

export default repository({ pipelines: [distributed] });
