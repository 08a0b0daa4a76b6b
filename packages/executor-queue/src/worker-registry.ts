import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';

/** What a live worker says of itself with each heartbeat. */
export interface WorkerInfo {
  id: string;
  name: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  running: Array<{ runId: string; stepKey: string; attempt: number; startedAt: number }>;
  startedAt: number;
  heartbeatAt: number;
  draining: boolean;
}

/** A worker is live while its heartbeat is younger than this. */
export const WORKER_TTL_MS = 10_000;

/** Records a heartbeat: the worker's description, and its entry in the live set. */
export async function writeHeartbeat(redis: Redis, keys: RedisKeys, info: WorkerInfo): Promise<void> {
  await redis
    .multi()
    .set(keys.worker(info.id), JSON.stringify(info), 'PX', WORKER_TTL_MS)
    .zadd(keys.workers, info.heartbeatAt, info.id)
    .exec();
}

export async function removeWorker(redis: Redis, keys: RedisKeys, id: string): Promise<void> {
  await redis.multi().del(keys.worker(id)).zrem(keys.workers, id).exec();
}

/** Live workers, oldest first. Prunes entries whose heartbeat stopped. */
export async function listWorkers(redis: Redis, keys: RedisKeys, now = Date.now()): Promise<WorkerInfo[]> {
  await redis.zremrangebyscore(keys.workers, '-inf', String(now - WORKER_TTL_MS));
  const ids = await redis.zrange(keys.workers, '0', '-1');
  if (ids.length === 0) return [];
  const raw = await redis.mget(ids.map((id) => keys.worker(id)));
  const out: WorkerInfo[] = [];
  for (const text of raw) {
    if (!text) continue;
    try {
      out.push(JSON.parse(text) as WorkerInfo);
    } catch {
      // A corrupt entry is skipped; it expires with its TTL.
    }
  }
  return out;
}
