import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

type Labels = { queue: string; op: string };

export interface WorkerMetricsOptions {
  queueDepth: () => Promise<Record<string, number>>;
  health: () => Record<string, unknown>;
  /** The event loop's longest lag since the last scrape, in ms. */
  loopLagMs?: () => number;
  /** Each pool's members and busy members. */
  pools?: () => Array<{ isolation: string; size: number; busy: number }>;
}

/**
 * Prometheus metrics of one worker process, served on `--metrics-port` with `/healthz` (also `/readyz`: 503 while
 * draining or cut off from Redis) and `/livez` (200 while the process serves HTTP).
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly stepsStarted: Counter<'queue' | 'op'>;
  private readonly stepsFinished: Counter<'queue' | 'op' | 'status'>;
  private readonly stepDuration: Histogram<'queue' | 'op'>;
  private readonly activeSteps: Gauge;
  private readonly malformedJobs: Counter<'queue'>;
  private readonly killedSteps: Counter<'isolation'>;
  private readonly abandonedSteps: Counter;
  private readonly loopStalls: Counter;
  private server?: Server;

  constructor(options: WorkerMetricsOptions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'stepwise_worker_' });
    this.stepsStarted = new Counter({
      name: 'stepwise_steps_started_total',
      help: 'Step attempts started by this worker',
      labelNames: ['queue', 'op'],
      registers,
    });
    this.stepsFinished = new Counter({
      name: 'stepwise_steps_finished_total',
      help: 'Step attempts finished by this worker, by outcome (SUCCESS, FAILURE, RETRY, CANCELED)',
      labelNames: ['queue', 'op', 'status'],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'stepwise_step_duration_seconds',
      help: 'Duration of step attempts on this worker',
      labelNames: ['queue', 'op'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers,
    });
    this.activeSteps = new Gauge({
      name: 'stepwise_active_steps',
      help: 'Steps running on this worker now',
      registers,
    });
    this.malformedJobs = new Counter({
      name: 'stepwise_malformed_jobs_total',
      help: 'Malformed jobs dead-lettered by this worker',
      labelNames: ['queue'],
      registers,
    });
    new Gauge({
      name: 'stepwise_queue_depth',
      help: 'Jobs waiting (or delayed) in each queue this worker serves',
      labelNames: ['queue'],
      registers,
      async collect() {
        const depth = await options.queueDepth().catch(() => ({}));
        for (const [queue, n] of Object.entries(depth)) this.set({ queue }, n);
      },
    });
    this.killedSteps = new Counter({
      name: 'stepwise_killed_steps_total',
      help: 'Steps whose thread or process was killed past their cancel grace or timeout',
      labelNames: ['isolation'],
      registers,
    });
    this.abandonedSteps = new Counter({
      name: 'stepwise_abandoned_steps_total',
      help: 'Steps on the worker loop (--isolation none) given up on past their cancel grace or timeout',
      registers,
    });
    this.loopStalls = new Counter({
      name: 'stepwise_loop_stalls_total',
      help: "Job locks this worker lost because its event loop was blocked longer than the lock's renewal allows",
      registers,
    });
    const { loopLagMs, pools } = options;
    new Gauge({
      name: 'stepwise_event_loop_lag_seconds',
      help: "The longest the worker's event loop ran late since the last scrape",
      registers,
      collect() {
        this.set((loopLagMs?.() ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'stepwise_pool_size',
      help: 'Threads or processes in each step pool of this worker',
      labelNames: ['isolation'],
      registers,
      collect() {
        for (const p of pools?.() ?? []) this.set({ isolation: p.isolation }, p.size);
      },
    });
    new Gauge({
      name: 'stepwise_pool_utilisation',
      help: 'Share of each step pool running a step now (0 to 1)',
      labelNames: ['isolation'],
      registers,
      collect() {
        for (const p of pools?.() ?? []) this.set({ isolation: p.isolation }, p.size === 0 ? 0 : p.busy / p.size);
      },
    });
    this.health = options.health;
  }

  killed(isolation: string): void {
    this.killedSteps.inc({ isolation });
  }

  abandoned(): void {
    this.abandonedSteps.inc();
  }

  stalled(): void {
    this.loopStalls.inc();
  }

  private readonly health: () => Record<string, unknown>;

  started(labels: Labels): void {
    this.stepsStarted.inc(labels);
    this.activeSteps.inc();
  }

  finished(labels: Labels, status: string, seconds: number): void {
    this.stepsFinished.inc({ ...labels, status });
    this.stepDuration.observe(labels, seconds);
    this.activeSteps.dec();
  }

  malformed(queue: string): void {
    this.malformedJobs.inc({ queue });
  }

  /** Serves `/metrics`, `/healthz`, `/readyz` and `/livez` on `port` (0 picks a free one); resolves to the bound port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        this.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': this.registry.contentType });
            res.end(text);
          },
          (error: Error) => {
            res.writeHead(500);
            res.end(error.message);
          },
        );
        return;
      }
      if (req.url === '/livez') {
        // Liveness stays up while draining or cut off from Redis: a restart would help neither.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"alive"}');
        return;
      }
      if (req.url === '/healthz' || req.url === '/readyz') {
        const health = this.health();
        res.writeHead(health.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(health));
        return;
      }
      res.writeHead(404);
      res.end('not found: try /metrics, /readyz or /livez\n');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
