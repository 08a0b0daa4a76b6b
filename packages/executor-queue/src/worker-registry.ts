import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';
import { deleteWorker, readWorkers, writeWorker } from './scripts.js';

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
  await writeWorker(redis, keys, info.id, JSON.stringify(info), info.heartbeatAt, WORKER_TTL_MS);
}

export async function removeWorker(redis: Redis, keys: RedisKeys, id: string): Promise<void> {
  await deleteWorker(redis, keys, id);
}

/** Live workers, oldest first. Prunes entries whose heartbeat stopped. */
export async function listWorkers(redis: Redis, keys: RedisKeys, now = Date.now()): Promise<WorkerInfo[]> {
  const raw = await readWorkers(redis, keys, now - WORKER_TTL_MS);
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
