import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchBrowser,
  type PageWatch,
  type Stack,
  startStack,
  submitViaApi,
  waitRunEnded,
  watchedPage,
} from './harness.js';

describe('re-execute from failure in Chromium (PostgreSQL, real workers)', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  beforeAll(async () => {
    stack = await startStack({ storage: 'postgres' });
    browser = await launchBrowser();
    ({ page, watch } = await watchedPage(browser, stack.baseUrl));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  it('preselects the root failure, shows its skips apart, and re-executes only failed and downstream steps', async () => {
    const marker = join(stack.home, 'fail-marker');
    writeFileSync(marker, 'x');
    const parent = await submitViaApi(stack.baseUrl, 'fragile', { ops: { flaky: { config: { failWhile: marker } } } });
    expect(await waitRunEnded(stack.instance, parent)).toBe('FAILURE');
    await page.goto(`${stack.baseUrl}/runs/${parent}`);
    // The failed step is preselected: in the URL and in the detail panel, with its error.
    await page.waitForURL(/step=flaky/, { timeout: 20_000 });
    await page.locator('[data-testid="step-detail"][data-step="flaky"]').waitFor();
    expect(await page.locator('[data-testid="step-error"]').textContent()).toContain('failing while');
    const summary = page.locator('[data-testid="failure-summary"]');
    expect(await summary.textContent()).toContain('flaky');
    expect(await summary.locator('[data-testid="caused-skips"]').textContent()).toContain('downstream');

    // The plan graph from the server's layout, and the Gantt with one lane per worker (the steps ran on one).
    await page.locator('[data-testid="view-graph"]').click();
    await page.locator('[data-testid="plan-graph"] .gnode[data-node="flaky"]').waitFor({ timeout: 30_000 });
    await page.waitForURL(/view=graph/);
    await page.locator('[data-testid="view-gantt"]').click();
    await page.locator('[data-testid="lanes-workers"]').click();
    await page
      .locator('.g-lane .g-label', { hasText: stack.workers[0]?.name ?? '' })
      .first()
      .waitFor();
    rmSync(marker);
    await page.locator('[data-testid="reexecute-failure"]').click();
    await page.waitForURL((url) => url.pathname.startsWith('/runs/') && !url.pathname.endsWith(parent), {
      timeout: 20_000,
    });
    const child = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() as string);
    await page.locator('[data-testid="parent-run"]').waitFor({ timeout: 20_000 });
    expect(await waitRunEnded(stack.instance, child)).toBe('SUCCESS');
    await page.locator('[data-testid="run-status"] [data-status="SUCCESS"]').waitFor({ timeout: 30_000 });
    const record = await stack.instance.storage.getRun(child);
    expect(record?.parentRunId).toBe(parent);
    const started = (await stack.instance.storage.getEvents(child, { types: ['STEP_START'] })).map((e) => e.stepKey);
    expect(started.sort()).toEqual(['downstream', 'flaky']);
    // The parent's page links to its child.
    await page.goto(`${stack.baseUrl}/runs/${parent}`);
    await page.locator(`a[href$="/runs/${child}"]`).waitFor({ timeout: 20_000 });
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  }, 120_000);
});
