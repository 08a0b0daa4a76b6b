import { waitUntil } from '@stepwise/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchBrowser,
  type PageWatch,
  type Stack,
  screenshot,
  startStack,
  submitViaApi,
  waitRunEnded,
  watchedPage,
} from './harness.js';

describe('runs list, schedules and workers pages in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  beforeAll(async () => {
    stack = await startStack({
      workers: [
        { name: 'ui-w-default', queues: ['default'] },
        { name: 'ui-w-heavy', queues: ['heavy'] },
      ],
    });
    browser = await launchBrowser();
    ({ page, watch } = await watchedPage(browser, stack.baseUrl));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  it('keeps the runs list filters (status, pipeline, tag) in the URL', async () => {
    const a = await submitViaApi(
      stack.baseUrl,
      'configured',
      { ops: { extract: { config: { limit: 1 } } } },
      { team: 'a' },
    );
    const b = await submitViaApi(
      stack.baseUrl,
      'configured',
      { ops: { extract: { config: { limit: 2 } } } },
      { team: 'b' },
    );
    await waitRunEnded(stack.instance, a);
    await waitRunEnded(stack.instance, b);
    await page.goto(`${stack.baseUrl}/runs?tag=team=a`);
    await page.locator(`tr[data-run="${a}"]`).waitFor({ timeout: 20_000 });
    expect(await page.locator(`tr[data-run="${b}"]`).count()).toBe(0);
    await page.locator('[data-testid="filter-status"]').selectOption('SUCCESS');
    await page.waitForURL(/status=SUCCESS/);
    await page.reload();
    await page.locator(`tr[data-run="${a}"]`).waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid="filter-status"]').inputValue()).toBe('SUCCESS');
    expect(await page.locator('[data-testid="filter-tag"]').inputValue()).toBe('team=a');
    expect(await page.locator(`tr[data-run="${b}"]`).count()).toBe(0);
    await page.goto(`${stack.baseUrl}/runs?pipeline=sleepy`);
    await page.getByText('No runs match.').waitFor({ timeout: 20_000 });
  }, 120_000);

  it('starts and stops a schedule and shows its next ticks', async () => {
    await page.goto(`${stack.baseUrl}/schedules`);
    const row = page.locator('tr[data-schedule="hourly"]');
    await row.locator('[data-status="stopped"]').waitFor({ timeout: 20_000 });
    expect(await row.textContent()).toContain('0 * * * *');
    await row.locator('[data-testid="schedule-start"]').click();
    await row.locator('[data-status="running"]').waitFor({ timeout: 20_000 });
    await row.locator('[data-testid="schedule-stop"]').click();
    await row.locator('[data-status="stopped"]').waitFor({ timeout: 20_000 });
    await row.click();
    await page.waitForURL(/schedule=hourly/);
    await page.locator('[data-testid="tick-history"]').waitFor();
  }, 120_000);

  it('shows two live workers on their queues, then the SIGKILLed one as lost and its queue unserved', async () => {
    await page.goto(`${stack.baseUrl}/workers`);
    const live = page.locator('[data-testid="workers-table"] tr[data-state="live"]');
    await waitUntil(async () => (await live.count()) === 2, 30_000, 'two live workers on the page');
    const text = await page.locator('[data-testid="workers-table"]').textContent();
    expect(text).toContain('ui-w-default');
    expect(text).toContain('ui-w-heavy');
    await screenshot(page, 'workers');
    const heavy = stack.workers.find((w) => w.name === 'ui-w-heavy');
    heavy?.proc.kill('SIGKILL');
    await heavy?.exited(10_000);
    const lost = page.locator('[data-testid="lost-table"] tr[data-state="lost"]');
    await lost.getByText('ui-w-heavy').waitFor({ timeout: 60_000 });
    await waitUntil(async () => (await live.count()) === 1, 30_000, 'one live worker left');
    // A run with a step on `heavy`: that queue has jobs and no worker.
    const runId = await submitViaApi(stack.baseUrl, 'live', { ops: { talk: { config: { ms: 10 } } } });
    await page
      .locator('tr[data-queue="heavy"] [data-testid="no-worker"]')
      .waitFor({ timeout: 60_000 })
      .catch(async (e: Error) => {
        const api = await (await fetch(`${stack.baseUrl}/api/workers`)).text();
        const run = await (await fetch(`${stack.baseUrl}/api/runs/${runId}`)).text();
        throw new Error(`${e.message}\n/api/workers: ${api}\nrun: ${run.slice(0, 3000)}`);
      });
    await screenshot(page, 'workers-lost');
    await fetch(`${stack.baseUrl}/api/runs/${runId}/cancel`, { method: 'POST', headers: { origin: stack.baseUrl } });
    await waitRunEnded(stack.instance, runId);
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  }, 180_000);
});
