/**
 * One worker process of the bare BullMQ floor (see bullmq-floor.ts), forked by the driver's worker pool.
 *
 * The process lives across runs, so its JIT is warm after the warm-up run, as a long-lived worker's would be.
 * Per run the driver sends `{ type: 'start', queue, stream }`: the process opens a BullMQ Worker (concurrency
 * from FLOOR_CONCURRENCY) whose processor does nothing but XADD the step key to the results stream, and answers
 * `started` once the Worker is connected; `{ type: 'close' }` closes that Worker and answers `closed`.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

export type FloorWorkerCommand =
  | { type: 'start'; queue: string; stream: string }
  | { type: 'close' }
  | { type: 'exit' };
export type FloorWorkerReply =
  | { type: 'ready' }
  | { type: 'started' }
  | { type: 'closed'; cpuMs: number }
  | { type: 'error'; message: string };

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`bullmq-floor-worker: ${name} is not set (this file is forked by bench/bullmq-floor.ts)`);
  return value;
}

const redisUrl = setting('FLOOR_REDIS_URL');
const concurrency = Number(setting('FLOOR_CONCURRENCY'));

// The result XADDs go over a connection of their own so they never queue behind BullMQ's scripts.
const results = new Redis(redisUrl);
let current: { worker: Worker; connection: Redis; cpu: NodeJS.CpuUsage } | undefined;

function reply(message: FloorWorkerReply): void {
  process.send?.(message);
}

async function start(queue: string, stream: string): Promise<void> {
  if (current) await close();
  // BullMQ duplicates this connection for its blocking fetch (BZPOPMIN on the queue's marker).
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker<{ k: string }>(
    queue,
    async (job) => {
      await results.xadd(stream, '*', 'k', job.data.k);
    },
    { connection, concurrency },
  );
  worker.on('error', (err) => console.error(`bullmq-floor-worker ${process.pid}:`, err));
  await worker.waitUntilReady();
  current = { worker, connection, cpu: process.cpuUsage() };
}

async function close(): Promise<number> {
  const run = current;
  current = undefined;
  if (!run) return 0;
  const cpu = process.cpuUsage(run.cpu);
  await run.worker.close();
  run.connection.disconnect();
  return (cpu.user + cpu.system) / 1000;
}

let exiting = false;
async function exit(): Promise<void> {
  if (exiting) return;
  exiting = true;
  try {
    await close();
  } finally {
    results.disconnect();
    process.exit(0);
  }
}

process.on('message', (message: FloorWorkerCommand) => {
  const handle = async () => {
    if (message.type === 'start') {
      await start(message.queue, message.stream);
      reply({ type: 'started' });
    } else if (message.type === 'close') {
      reply({ type: 'closed', cpuMs: await close() });
    } else if (message.type === 'exit') {
      await exit();
    }
  };
  handle().catch((err: unknown) => reply({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
});
// The driver died without asking us to exit: do not linger.
process.on('disconnect', () => void exit());

await results.ping();
reply({ type: 'ready' });
