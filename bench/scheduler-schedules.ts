// The scheduler benchmark's schedules: STEPWISE_BENCH_SCHEDULES (default 1,000) schedules of `* * * * *`.
import { op, pipeline, repository, schedule } from '@stepwise/core';
import { z } from 'zod';

const one = op({ name: 'one', out: z.number(), compute: () => 1 });
export const tick = pipeline({ name: 'tick_run', build: () => one() });

const count = Number(process.env.STEPWISE_BENCH_SCHEDULES ?? 1_000);
export default repository({
  pipelines: [tick],
  schedules: Array.from({ length: count }, (_, i) =>
    schedule({ name: `s${String(i).padStart(4, '0')}`, pipeline: tick, cron: '* * * * *' }),
  ),
});
