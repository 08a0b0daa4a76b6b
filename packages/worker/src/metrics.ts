import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

type Labels = { queue: string; op: string };

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
  private server?: Server;

  constructor(options: { queueDepth: () => Promise<Record<string, number>>; health: () => Record<string, unknown> }) {
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
    this.health = options.health;
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
