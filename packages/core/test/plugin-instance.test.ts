import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStorageContract } from '@stepwise/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, Instance, loadInstanceConfig, parseInstanceConfig, readSection } from '../src/index.js';
import { greetingSection, JsonFileRunStorage } from './fixtures/test-plugin.js';

// A storage backend added without editing core: the test plugin's, loaded from stepwise.yaml's `plugins`.
const PLUGIN = resolve(fileURLToPath(new URL('./fixtures/test-plugin.ts', import.meta.url)));
const root = mkdtempSync(join(tmpdir(), 'stepwise-plugin-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

runStorageContract('test plugin (JSON file)', {
  open: () => new JsonFileRunStorage(join(root, `contract-${++n}.json`)),
  schedules: false,
  runQueueWake: false,
});

describe('a storage backend from a plugin', () => {
  it('is chosen by stepwise.yaml, with its options resolved against the file, and stores runs', async () => {
    const home = mkdtempSync(join(root, 'home-'));
    writeFileSync(join(home, 'stepwise.yaml'), `plugins: [${JSON.stringify(PLUGIN)}]\nstorage:\n  jsonFile: {}\n`);
    const config = await loadInstanceConfig(home);
    expect(config.plugins).toEqual([PLUGIN]);
    expect(config.storage).toEqual({ jsonFile: { file: join(home, 'runs.json') } });

    const instance = await Instance.local(home);
    try {
      expect(instance.storage).toBeInstanceOf(JsonFileRunStorage);
      expect(await instance.storage.listRuns()).toEqual([]);
    } finally {
      await instance.close();
    }
    await expect(
      Instance.fromConfig({ plugins: [PLUGIN], storage: { jsonFile: { file: 5 } } } as never, { home }),
    ).rejects.toThrow(/storage\.jsonFile\.file: expected string, got number/);
  });
});

describe("a plugin's own section of stepwise.yaml", () => {
  it('is validated by its schema, defaults applied, and read back typed', async () => {
    const home = mkdtempSync(join(root, 'home-'));
    writeFileSync(join(home, 'stepwise.yaml'), `plugins: [${JSON.stringify(PLUGIN)}]\ngreeting: { times: 3 }\n`);
    const config = await loadInstanceConfig(home);
    expect(readSection(config, greetingSection)).toEqual({ text: 'hello', times: 3 });
    expect(readSection(parseInstanceConfig({}, { home }), greetingSection)).toBeUndefined();
    expect(() => parseInstanceConfig({ greeting: { times: 0, txt: 'x' } }, { home })).toThrow(
      /greeting\.times: .*\n.*greeting\.txt: unknown key/,
    );
  });

  it("loads a known package for its section (the daemon's scheduler), and names the unknown ones", async () => {
    // Before @stepwise/daemon is loaded, the synchronous parse says where the section comes from.
    expect(() => parseInstanceConfig({ scheduler: {} }, { home: root })).toThrow(
      /scheduler: the 'scheduler' section comes from @stepwise\/daemon, which is not loaded/,
    );
    const home = mkdtempSync(join(root, 'home-'));
    writeFileSync(join(home, 'stepwise.yaml'), 'scheduler: { tickIntervalMs: 250 }\n');
    expect((await loadInstanceConfig(home)).sections?.scheduler).toEqual({ tickIntervalMs: 250 });
    writeFileSync(join(home, 'stepwise.yaml'), 'scheduler: { tickIntervalMs: soon }\n');
    const error = await loadInstanceConfig(home).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'scheduler.tickIntervalMs', message: 'expected number, got string' },
    ]);
    expect(() => parseInstanceConfig({ schedular: {} }, { home: root })).toThrow(/schedular: unknown key/);
  });
});
