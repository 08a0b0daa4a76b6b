import { docsUrl, StepwiseError } from '@stepwise/core';
import {
  createRedis,
  DEFAULT_PREFIX,
  defaultRedisUrl,
  listWorkers,
  RedisKeys,
  redactUrl,
} from '@stepwise/executor-queue';
import { type Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { DEFAULT_ISOLATION, ISOLATIONS, isIsolation } from './isolation.js';
import { StepwiseWorker } from './worker.js';

const DAEMON_PACKAGE = '@stepwise/daemon';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function positiveInt(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer, got '${value}'`);
    return n;
  };
}

/** A usage or start-up error: printed as one line, exit code 2. */
export class WorkerStartError extends StepwiseError {
  constructor(message: string) {
    super('WORKER_START_FAILED', message);
  }
}

/** Adds `stepwise worker` and `stepwise workers` to the CLI. */
export function registerCommands(program: Command): void {
  program
    .command('worker')
    .description('run steps from Redis queues until SIGTERM (then drain and exit 0)')
    .option('-f, --file <file>', 'the definitions file (.ts or .js) the coordinator runs')
    .option('--runs', "run the coordinators the daemon's queue launcher puts on the runs queue, instead of steps")
    .option('-q, --queue <name>', 'a queue to serve; repeatable (default: default)', collect)
    .option('--concurrency <n>', 'steps run at once', positiveInt('--concurrency'), 1)
    .option('--redis <url>', 'Redis URL (default $REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--prefix <prefix>', 'key prefix shared with the coordinator', DEFAULT_PREFIX)
    .option('--name <id>', 'worker id shown by `stepwise workers` (default host:pid)')
    .option(
      '--metrics-port <port>',
      'serve Prometheus /metrics and /healthz on this port (default: none, no server)',
      positiveInt('--metrics-port'),
    )
    .option(
      '--lock-duration <ms>',
      'ms without a heartbeat before a step is re-run elsewhere (default: 30000)',
      positiveInt('--lock-duration'),
    )
    .option(
      '--drain-timeout <ms>',
      'ms running steps get to finish on SIGTERM (default: 300000)',
      positiveInt('--drain-timeout'),
    )
    .option(
      '--isolation <mode>',
      `where steps run: ${ISOLATIONS.join(' | ')} (the worker's event loop, a pool of threads, a pool of processes; see ${docsUrl('workers.md')})`,
      (value: string) => {
        if (!isIsolation(value))
          throw new InvalidArgumentError(`--isolation must be one of ${ISOLATIONS.join(', ')}, got '${value}'`);
        return value;
      },
      DEFAULT_ISOLATION,
    )
    .option(
      '--cancel-grace <ms>',
      'ms an aborted step (run canceled, or past its timeout) gets to stop before it is killed (none: abandoned) (default: 5000)',
      positiveInt('--cancel-grace'),
    )
    .option(
      '--step-timeout <ms>',
      'time limit of each step unless its op sets timeoutMs (default: none)',
      positiveInt('--step-timeout'),
    )
    .option(
      '--max-stalls <n>',
      "a step's locks lost to this worker's blocked event loop before the step fails (default: 2)",
      positiveInt('--max-stalls'),
    )
    .action(async (opts) => {
      const logger = pino(
        { name: 'stepwise-worker', level: process.env.STEPWISE_LOG_LEVEL ?? 'info' },
        process.stdout.isTTY ? pino.transport({ target: 'pino-pretty' }) : undefined,
      );
      if (opts.runs) {
        // From @stepwise/daemon, loaded only here: a variable specifier, so this package does not build against it.
        const daemon = DAEMON_PACKAGE;
        const { serveRuns } = (await import(daemon)) as { serveRuns: (o: object) => Promise<void> };
        return serveRuns({ concurrency: opts.concurrency, redisUrl: opts.redis, logger });
      }
      if (opts.file === undefined) throw new WorkerStartError('give the definitions file with -f FILE (or --runs)');
      const worker = new StepwiseWorker({
        file: opts.file,
        queues: opts.queue,
        concurrency: opts.concurrency,
        redisUrl: opts.redis,
        prefix: opts.prefix,
        name: opts.name,
        metricsPort: opts.metricsPort,
        lockDurationMs: opts.lockDuration,
        drainTimeoutMs: opts.drainTimeout,
        isolation: opts.isolation,
        cancelGraceMs: opts.cancelGrace,
        stepTimeoutMs: opts.stepTimeout,
        maxStalls: opts.maxStalls,
        logger,
      });
      try {
        await worker.start();
      } catch (error) {
        throw new WorkerStartError((error as Error).message);
      }
      if (worker.metricsPort !== undefined)
        logger.info({ port: worker.metricsPort }, 'metrics on /metrics, health on /healthz');
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            logger.warn({ signal }, 'second signal: exiting without draining');
            process.exit(1);
          }
          stopping = true;
          logger.info({ signal }, 'stopping');
          void worker.stop().then((drained) => {
            process.exitCode = drained ? 0 : 1;
            resolve();
          });
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      });
    });

  program
    .command('workers')
    .description('list live workers: name, host, queues, running steps')
    .option('--json', 'one JSON document on stdout')
    .option('--redis <url>', 'Redis URL (default $REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--prefix <prefix>', 'key prefix shared with the coordinator', DEFAULT_PREFIX)
    .action(async (opts) => {
      const url = opts.redis ?? defaultRedisUrl();
      const redis = createRedis({ url, waitForever: false });
      let lastError = '';
      redis.on('error', (error: Error) => {
        lastError = error.message;
      });
      try {
        const workers = await Promise.race([
          listWorkers(redis, new RedisKeys(opts.prefix)).catch((error: Error) => {
            // ioredis gives up with MaxRetriesPerRequestError; the connection's own error says why.
            throw new WorkerStartError(
              `cannot list workers from Redis at ${redactUrl(url)}: ${lastError || error.message}`,
            );
          }),
          new Promise<never>((_, reject) =>
            setTimeout(
              () =>
                reject(
                  new WorkerStartError(`cannot reach Redis at ${redactUrl(url)}${lastError ? `: ${lastError}` : ''}`),
                ),
              5_000,
            ).unref(),
          ),
        ]);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ workers }, null, 2)}\n`);
          return;
        }
        if (workers.length === 0) {
          process.stdout.write('no live workers\n');
          return;
        }
        for (const w of workers) {
          const running = w.running.map((r) => `${r.stepKey}@${r.runId.slice(0, 8)}`).join(', ') || '-';
          const pools = (w.pools ?? []).map((p) => `  ${p.isolation}s=${p.busy}/${p.size} busy`).join('');
          const lag = w.loopLagMs ? `  loop-lag=${w.loopLagMs}ms` : '';
          process.stdout.write(
            `${w.name}  host=${w.host} pid=${w.pid}  queues=${w.queues.join(',')}  concurrency=${w.concurrency}  isolation=${w.isolation ?? 'none'}${pools}${lag}${w.draining ? '  draining' : ''}  running: ${running}\n`,
          );
          for (const a of w.abandoned ?? []) {
            process.stdout.write(
              `  abandoned: ${a.stepKey}@${a.runId.slice(0, 8)} attempt ${a.attempt}: ${a.reason}\n`,
            );
          }
        }
      } finally {
        redis.disconnect();
      }
    });
}
