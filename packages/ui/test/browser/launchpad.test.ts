import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchBrowser,
  type PageWatch,
  type Stack,
  screenshot,
  startStack,
  waitRunEnded,
  watchedPage,
} from './harness.js';

const BAD = 'execution:\n  queue: {}\nops:\n  extract:\n    config:\n      limit: ten\n';
const GOOD = 'execution:\n  queue: {}\nops:\n  extract:\n    config:\n      limit: 3\n';

/** Replaces the editor's text as a paste would (no auto-indent on the way in). */
async function setEditor(page: Page, text: string): Promise<void> {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

describe('launchpad in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  beforeAll(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    ({ page, watch } = await watchedPage(browser, stack.baseUrl));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  it('shows a bad config error at its line with its path and Launch disabled; fixed, it launches and opens the run', async () => {
    await page.goto(`${stack.baseUrl}/pipelines/configured/launchpad`);
    await page.locator('.cm-content').waitFor({ timeout: 20_000 });
    await setEditor(page, BAD);
    const error = page.locator('[data-testid="config-errors"] li[data-path="ops.extract.config.limit"]');
    await error.waitFor({ timeout: 20_000 });
    expect(await error.getAttribute('data-line')).toBe('6');
    expect(await error.textContent()).toMatch(/^line 6: ops\.extract\.config\.limit: /);
    // Underlined in the editor on line 6, the line of `limit: ten`.
    const underlined = page.locator('.cm-line', { has: page.locator('.cm-lintRange-error') });
    await underlined.first().waitFor();
    expect(await underlined.first().textContent()).toContain('limit: ten');
    expect(await page.locator('[data-testid="launch"]').isDisabled()).toBe(true);
    await screenshot(page, 'launchpad');

    // The API refuses the same config with the same path.
    const res = await fetch(`${stack.baseUrl}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: stack.baseUrl },
      body: JSON.stringify({ pipeline: 'configured', runConfig: BAD }),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('ops.extract.config.limit');

    await setEditor(page, GOOD);
    await page.locator('[data-testid="config-valid"]').waitFor({ timeout: 20_000 });
    const launch = page.locator('[data-testid="launch"]');
    expect(await launch.isDisabled()).toBe(false);
    await launch.click();
    await page.waitForURL(/\/runs\/[^/?]+/, { timeout: 20_000 });
    const runId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() as string);
    await page.locator(`[data-testid="run-page"][data-run="${runId}"]`).waitFor({ timeout: 20_000 });
    expect(await waitRunEnded(stack.instance, runId)).toBe('SUCCESS');
    await page.locator('[data-testid="run-status"] [data-status="SUCCESS"]').waitFor({ timeout: 30_000 });
    const run = await stack.instance.storage.getRun(runId);
    expect(run?.runConfig).toEqual({ execution: { queue: {} }, ops: { extract: { config: { limit: 3 } } } });
    // Its steps ran on the worker.
    const starts = await stack.instance.storage.getEvents(runId, { types: ['STEP_START'] });
    expect(starts.map((e) => e.workerId)).toEqual(starts.map(() => stack.workers[0]?.name));
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  }, 120_000);
});
