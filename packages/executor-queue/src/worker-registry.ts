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
  /** Where its steps run: on its own event loop (`none`), in a pool of threads or of processes. */
  isolation?: 'none' | 'thread' | 'process';
  /** Its pools: members started, members with their code loaded, and members running a step now. */
  pools?: Array<{ isolation: 'thread' | 'process'; size: number; ready: number; busy: number }>;
  /** The longest its event loop was blocked in the last heartbeat period, in ms. */
  loopLagMs?: number;
  /**
   * Steps it gave up on while they still run on its event loop (`--isolation none` cannot kill them): their
   * attempts were failed, their slots released; the reason says why (cancel grace or timeout exceeded).
   */
  abandoned?: Array<{ runId: string; stepKey: string; attempt: number; reason: string; at: number }>;
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
