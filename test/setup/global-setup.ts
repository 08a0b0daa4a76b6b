import { type RedisServer, startRedisServer } from '@stepwise/testing';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { DEFAULT_DATABASE_URL, probePostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A Redis the tests may use (with unique key prefixes / queue names); never FLUSHALL it. */
    redisUrl: string;
    /** A PostgreSQL database; tests isolate themselves in a random schema and drop it after. */
    databaseUrl: string;
  }
}

interface StartedContainer {
  getConnectionUrl(): string;
  stop(): Promise<unknown>;
}

async function startRedisContainer(): Promise<StartedContainer> {
  // Imported lazily: testcontainers is heavy and only this last fallback needs it.
  const { RedisContainer } = await import('@testcontainers/redis');
  return new RedisContainer('redis:7').start();
}

async function provideRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  let server: RedisServer;
  try {
    server = await startRedisServer();
    return { url: server.url, stop: () => server.stop() };
  } catch (spawnError) {
    try {
      const container = await startRedisContainer();
      return {
        url: container.getConnectionUrl(),
        stop: async () => {
          await container.stop();
        },
      };
    } catch (containerError) {
      throw new Error(
        'Tests need Redis and none could be found:\n' +
          `  - REDIS_URL is not set\n` +
          `  - spawning redis-server failed: ${(spawnError as Error).message}\n` +
          `  - starting a Redis container failed: ${(containerError as Error).message}\n` +
          'Fix: install redis-server (Debian/Ubuntu: `apt-get install -y redis-server`, macOS: `brew install redis`), ' +
          'or set REDIS_URL=redis://host:port, or run a Docker engine.',
      );
    }
  }
}

async function provideDatabase(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  try {
    await probePostgres(DEFAULT_DATABASE_URL);
    return DEFAULT_DATABASE_URL;
  } catch (err) {
    throw new Error(
      `Tests need PostgreSQL: DATABASE_URL is not set and ${DEFAULT_DATABASE_URL} does not answer ` +
        `(${(err as Error).message}).\n` +
        'Fix: set DATABASE_URL=postgres://user@host:port/db, or run PostgreSQL on 127.0.0.1:5432 with a ' +
        "database 'test' that user 'postgres' can reach (e.g. `apt-get install -y postgresql` and trust auth).",
    );
  }
}

/** Vitest globalSetup: provides `redisUrl` and `databaseUrl` to every test file (read with `inject`). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [redisResult, dbResult] = await Promise.allSettled([provideRedis(), provideDatabase()]);
  if (dbResult.status === 'rejected') {
    // Do not leave a spawned redis-server behind when the other half of the setup failed.
    if (redisResult.status === 'fulfilled') await redisResult.value.stop();
    throw dbResult.reason;
  }
  if (redisResult.status === 'rejected') throw redisResult.reason;
  const redis = redisResult.value;
  const databaseUrl = dbResult.value;
  project.provide('redisUrl', redis.url);
  project.provide('databaseUrl', databaseUrl);
  return async () => {
    await redis.stop();
  };
}
