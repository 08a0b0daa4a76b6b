import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Stack, startStack, submitViaApi, waitRunEnded, watchedPage } from './harness.js';

const TOKEN = 'ui-browser-test-token';
const XSS = '<img src=x onerror=alert(1)>';

/** Compute logs are captured where a step runs in-process (queue workers keep none yet: docs/ui.md). */
const IN_DAEMON = { execution: { inProcess: {} } };

describe('security in Chromium: token, read-only, text only, nothing off the origin', () => {
  let stack: Stack;
  let browser: Browser;
  let readOnlyUrl: string;
  const auth = { authorization: `Bearer ${TOKEN}` };
  beforeAll(async () => {
    stack = await startStack({ uiArgs: ['--token', TOKEN] });
    readOnlyUrl = (await stack.startUi(['--token', TOKEN, '--read-only'])).baseUrl;
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  it('answers 401 without the token; the page opened with ?token= works through its cookie', async () => {
    expect((await fetch(`${stack.baseUrl}/api/runs`)).status).toBe(401);
    expect((await fetch(`${stack.baseUrl}/api/runs`, { headers: auth })).status).toBe(200);
    const { page, watch } = await watchedPage(browser, stack.baseUrl);
    await page.goto(`${stack.baseUrl}/runs`);
    await page.locator('.error-box').waitFor({ timeout: 20_000 });
    await page.goto(`${stack.baseUrl}/?token=${TOKEN}`);
    await page.locator('[data-testid="runs-table"]').waitFor({ timeout: 20_000 });
    await page.goto(`${stack.baseUrl}/pipelines`);
    await page.locator('[data-testid="pipelines-table"] a', { hasText: 'configured' }).waitFor({ timeout: 20_000 });
    expect(await page.locator('.error-box').count()).toBe(0);
    expect(watch.foreign).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('renders a step log holding HTML as text: no element, no dialog; tags too', async () => {
    const runId = await submitViaApi(
      stack.baseUrl,
      'live',
      {
        ...IN_DAEMON,
        ops: { talk: { config: { ms: 10 } }, wait: { config: { ms: 10 } }, finish: { config: { ms: 10 } } },
      },
      { note: XSS },
      auth,
    );
    expect(await waitRunEnded(stack.instance, runId)).toBe('SUCCESS');
    const { page, watch } = await watchedPage(browser, stack.baseUrl);
    await page.goto(`${stack.baseUrl}/?token=${TOKEN}`);
    await page.locator(`tr[data-run="${runId}"]`).getByText(`note=${XSS}`).waitFor({ timeout: 20_000 });
    await page.goto(`${stack.baseUrl}/runs/${runId}?step=talk`);
    await page.locator('[data-testid="term-stdout"]').getByText(XSS).waitFor({ timeout: 20_000 });
    expect(await page.locator('img').count()).toBe(0);
    expect(watch.dialogs).toEqual([]);
    expect(watch.errors).toEqual([]);
    expect(watch.foreign).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('read-only: state-changing calls answer 403 and the pages show no action', async () => {
    const runs = (await (await fetch(`${readOnlyUrl}/api/runs`, { headers: auth })).json()) as {
      runs: { runId: string }[];
    };
    const runId = runs.runs[0]?.runId as string;
    const cancel = await fetch(`${readOnlyUrl}/api/runs/${runId}/cancel`, {
      method: 'POST',
      headers: { ...auth, origin: readOnlyUrl },
    });
    expect(cancel.status).toBe(403);
    const { page, watch } = await watchedPage(browser, readOnlyUrl);
    await page.goto(`${readOnlyUrl}/?token=${TOKEN}`);
    await page.locator('.badge-ro').waitFor({ timeout: 20_000 });
    await page.goto(`${readOnlyUrl}/runs/${runId}`);
    await page.locator('[data-testid="run-page"]').waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="steps-table"] .st-row').first().waitFor();
    expect(await page.locator('[data-testid^="reexecute"], [data-testid="cancel-run"]').count()).toBe(0);
    expect(await page.locator('.st-row input[type="checkbox"]').count()).toBe(0);
    await page.goto(`${readOnlyUrl}/schedules`);
    await page.locator('tr[data-schedule="hourly"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid^="schedule-st"]').count()).toBe(0);
    await page.goto(`${readOnlyUrl}/pipelines/configured/launchpad`);
    await page.locator('.cm-content').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid="launch"]').count()).toBe(0);
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
    await page.context().close();
  }, 120_000);
});
