import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInstanceConfig } from '@stepwise/core';
import { afterAll, describe, expect, it } from 'vitest';
import { daemonSettings } from '../src/index.js';

const homes: string[] = [];
function home(yaml: string): string {
  const h = mkdtempSync(join(tmpdir(), 'stepwise-daemon-config-'));
  homes.push(h);
  writeFileSync(join(h, 'stepwise.yaml'), yaml);
  return h;
}
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

describe("the daemon's sections of stepwise.yaml", () => {
  it('defaults every setting when the file leaves them out', async () => {
    expect(daemonSettings(await loadInstanceConfig(home('')))).toEqual({
      runLauncher: { process: {} },
      runMonitoring: { heartbeatTimeoutMs: 30_000, startTimeoutMs: 180_000, maxResumeAttempts: 3, intervalMs: 5_000 },
      daemon: { heartbeatIntervalMs: 5_000, heartbeatTimeoutMs: 30_000 },
      scheduler: { tickIntervalMs: 1_000 },
    });
  });

  it('reads runLauncher, runMonitoring and daemon, and refuses two launchers or a bad value by path', async () => {
    const config = await loadInstanceConfig(
      home(`
runLauncher:
  queue: { redisUrl: redis://h:1 }
runMonitoring: { heartbeatTimeoutMs: 1000, maxResumeAttempts: 1 }
daemon: { heartbeatTimeoutMs: 2000 }
`),
    );
    const settings = daemonSettings(config);
    expect(settings.runLauncher).toEqual({ queue: { queue: 'runs', redisUrl: 'redis://h:1', prefix: 'stepwise' } });
    expect(settings.runMonitoring).toMatchObject({
      heartbeatTimeoutMs: 1000,
      maxResumeAttempts: 1,
      startTimeoutMs: 180_000,
    });
    expect(settings.daemon).toEqual({ heartbeatIntervalMs: 5_000, heartbeatTimeoutMs: 2_000 });
    await expect(loadInstanceConfig(home('runLauncher: { process: {}, inProcess: {} }'))).rejects.toThrow(
      /runLauncher: choose only one of: process, inProcess, queue/,
    );
    await expect(loadInstanceConfig(home('runMonitoring: { heartbeatTimeoutMs: -1 }'))).rejects.toThrow(
      /runMonitoring\.heartbeatTimeoutMs: must be greater than 0/,
    );
  });
});
