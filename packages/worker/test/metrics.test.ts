// The worker's probe endpoints over real HTTP: readiness follows the worker's state, liveness does not.
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerMetrics } from '../src/metrics.js';

let metrics: WorkerMetrics | undefined;

afterEach(async () => {
  await metrics?.close();
  metrics = undefined;
});

async function serve(status: () => string): Promise<(path: string) => Promise<Response>> {
  metrics = new WorkerMetrics({ queueDepth: async () => ({}), health: () => ({ status: status() }) });
  const port = await metrics.listen(0, '127.0.0.1');
  return (path) => fetch(`http://127.0.0.1:${port}${path}`);
}

describe('worker probe endpoints', () => {
  it('/readyz and /healthz answer 503 while draining or cut off from Redis; /livez stays 200', async () => {
    let status = 'ok';
    const get = await serve(() => status);
    for (const [state, ready] of [
      ['ok', 200],
      ['draining', 503],
      ['redis-unavailable', 503],
    ] as const) {
      status = state;
      const readyz = await get('/readyz');
      expect(readyz.status).toBe(ready);
      expect(await readyz.json()).toEqual({ status: state });
      expect((await get('/healthz')).status).toBe(ready);
      const livez = await get('/livez');
      expect(livez.status).toBe(200);
      expect(await livez.json()).toEqual({ status: 'alive' });
    }
  });

  it('answers 404 naming the routes for anything else', async () => {
    const get = await serve(() => 'ok');
    const res = await get('/ready');
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/\/readyz/);
  });

  it("serves the loop lag, the pools' utilisation and the killed steps", async () => {
    metrics = new WorkerMetrics({
      queueDepth: async () => ({}),
      health: () => ({ status: 'ok' }),
      loopLagMs: () => 250,
      pools: () => [{ isolation: 'thread', size: 4, busy: 2 }],
    });
    metrics.killed('thread');
    metrics.stalled();
    const port = await metrics.listen(0, '127.0.0.1');
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^stepwise_event_loop_lag_seconds 0\.25$/m);
    expect(text).toMatch(/^stepwise_pool_utilisation\{isolation="thread"\} 0\.5$/m);
    expect(text).toMatch(/^stepwise_pool_size\{isolation="thread"\} 4$/m);
    expect(text).toMatch(/^stepwise_killed_steps_total\{isolation="thread"\} 1$/m);
    expect(text).toMatch(/^stepwise_loop_stalls_total 1$/m);
  });
});
