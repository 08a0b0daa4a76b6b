import { waitUntil } from '@stepwise/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCutProxy } from './cut-proxy.js';
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

/** The page's test hooks (web/src/lib/tab-stream.ts). */
type Hooked = { __stepwise?: { eventSeqs?: () => number[]; stream: { opened: number } } };

const stepStatus = (page: Page, key: string) =>
  page.locator(`.st-row[data-step="${key}"] .status`).first().getAttribute('data-status');

/** Compute logs are captured where a step runs in-process (queue workers keep none yet: docs/ui.md). */
const IN_DAEMON = { execution: { inProcess: {} } };

describe('run page in Chromium (SQLite, real workers)', () => {
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

  it('shows a step go running → succeeded live over one stream; a forced reconnect loses and repeats no event', async () => {
    const runId = await submitViaApi(stack.baseUrl, 'live', {
      ops: { talk: { config: { ms: 1500 } }, wait: { config: { ms: 3000 } }, finish: { config: { ms: 1500 } } },
    });
    // Through a proxy the test can cut: a real dropped connection, which the browser's EventSource resumes.
    const proxy = await startCutProxy(stack.baseUrl);
    const { page: p, watch: w } = await watchedPage(browser, proxy.url);
    await p.goto(`${proxy.url}/runs/${runId}`);
    await p.locator('[data-testid="connection"][data-state="open"]').waitFor({ timeout: 30_000 });
    await waitUntil(async () => (await stepStatus(p, 'wait')) === 'RUNNING', 45_000, 'wait RUNNING in the page');
    expect(w.streams).toHaveLength(1);
    expect(await p.evaluate(() => (window as unknown as Hooked).__stepwise?.stream.opened)).toBe(1);
    proxy.cut();
    await p.locator('[data-testid="connection"][data-state="retrying"]').waitFor({ timeout: 15_000 });
    await p.locator('[data-testid="connection"][data-state="open"]').waitFor({ timeout: 30_000 });
    await waitUntil(async () => (await stepStatus(p, 'finish')) === 'SUCCESS', 60_000, 'finish SUCCESS in the page');
    await p.locator('[data-testid="run-status"] [data-status="SUCCESS"]').waitFor({ timeout: 30_000 });
    expect(await waitRunEnded(stack.instance, runId)).toBe('SUCCESS');
    // Its steps ran on the worker process, not in the daemon.
    const starts = await stack.instance.storage.getEvents(runId, { types: ['STEP_START'] });
    expect(new Set(starts.map((e) => e.workerId))).toEqual(new Set([stack.workers[0]?.name]));
    const stored = (await stack.instance.storage.getEvents(runId)).map((e) => e.seq);
    const shown = await waitUntil(
      async () => {
        const seqs = await p.evaluate(() => (window as unknown as Hooked).__stepwise?.eventSeqs?.() ?? []);
        return seqs.length >= stored.length && seqs;
      },
      15_000,
      'every stored event in the log',
    );
    expect(shown).toEqual(stored);
    expect(await p.locator('[data-testid="log-count"]').textContent()).toBe(`${stored.length} events`);
    await screenshot(p, 'run-page');
    expect(w.foreign).toEqual([]);
    expect(w.errors).toEqual([]);
    await p.context().close();
    await proxy.close();
  }, 120_000);

  it('shows compute logs with colours as text: HTML in a log is not an element and runs nothing', async () => {
    const runId = await submitViaApi(stack.baseUrl, 'live', {
      ...IN_DAEMON,
      ops: { talk: { config: { ms: 10 } }, wait: { config: { ms: 10 } }, finish: { config: { ms: 10 } } },
    });
    expect(await waitRunEnded(stack.instance, runId)).toBe('SUCCESS');
    await page.goto(`${stack.baseUrl}/runs/${runId}?step=talk`);
    const term = page.locator('[data-testid="term-stdout"]');
    await term.getByText('<img src=x onerror=alert(1)>').waitFor({ timeout: 20_000 });
    expect(await term.locator('.ansi-fg-32').first().textContent()).toBe('line 0');
    expect(await page.locator('img').count()).toBe(0);
    await page.locator('[data-testid="logs-stderr"]').click();
    await page.locator('[data-testid="term-stderr"] .ansi-fg-31').getByText('warning on stderr').waitFor();
    expect(watch.dialogs).toEqual([]);
  }, 120_000);

  it('keeps the log filters (step, type, attempt) in the URL across a reload', async () => {
    const runId = await submitViaApi(stack.baseUrl, 'live', {
      ops: { talk: { config: { ms: 10 } }, wait: { config: { ms: 10 } }, finish: { config: { ms: 10 } } },
    });
    expect(await waitRunEnded(stack.instance, runId)).toBe('SUCCESS');
    await page.goto(`${stack.baseUrl}/runs/${runId}`);
    await page
      .locator('[data-testid="log-count"]')
      .getByText(/^\d+ events$/)
      .waitFor();
    await page.locator('[data-testid="log-filter-type"]').selectOption('STEP_START');
    await page.locator('[data-testid="log-filter-step"]').fill('talk');
    await page.locator('[data-testid="log-filter-step"]').press('Enter');
    await page.locator('[data-testid="log-filter-attempt"]').fill('1');
    await page.locator('[data-testid="log-filter-attempt"]').press('Enter');
    await page.waitForURL(/logAttempt=1/);
    const url = new URL(page.url());
    expect(url.searchParams.get('logType')).toBe('STEP_START');
    expect(url.searchParams.get('logStep')).toBe('talk');
    await page.reload();
    await page.locator('[data-testid="log-count"]').getByText('1 events').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid="log-filter-type"]').inputValue()).toBe('STEP_START');
    expect(await page.locator('[data-testid="log-filter-step"]').inputValue()).toBe('talk');
    expect(await page.locator('[data-testid="log-filter-attempt"]').inputValue()).toBe('1');
    const rows = page.locator('[data-testid="event-log"] .log-row');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('STEP_START');
  }, 120_000);

  it('cancels a running run from its page', async () => {
    const runId = await submitViaApi(stack.baseUrl, 'sleepy');
    await page.goto(`${stack.baseUrl}/runs/${runId}`);
    await waitUntil(async () => (await stepStatus(page, 'nap')) === 'RUNNING', 45_000, 'nap RUNNING in the page');
    await page.locator('[data-testid="cancel-run"]').click();
    await page.locator('[data-testid="run-status"] [data-status="CANCELED"]').waitFor({ timeout: 45_000 });
    expect(await waitRunEnded(stack.instance, runId)).toBe('CANCELED');
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  }, 120_000);
});
