/**
 * The web UI at scale (issue 15), in a real Chromium against a real `stepwise ui` process: a 10,000-step run with
 * about 40,000 events seeded through the storage API; first Gantt paint, DOM size, long tasks while scrolling the
 * Gantt and the event log end to end; then a live run written at 500 events/s and the lag until the page holds each
 * event. Figures, not assertions (the machine is shared): see bench/RESULTS.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Instance, STEPWISE_BIN } from '@stepwise/core';
import { freePort, stopProcess, waitUntil } from '@stepwise/testing';
import { chromium, type Page } from 'playwright-core';
import { uiLive, uiWide } from './ui-pipelines.js';
import { emitLive, seedFinishedRun, seedLiveRun } from './ui-seed.js';

const PIPELINES = fileURLToPath(new URL('./ui-pipelines.ts', import.meta.url));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'];
ARGS.push('--disable-background-networking', '--disable-component-update', '--disable-sync');

export interface UiFigures {
  steps: number;
  events: number;
  /** Navigation start → the first frame with Gantt rows. */
  firstGanttPaintMs: number;
  /** Navigation start → the end of the run detail's response (10,000 step rows). */
  detailResponseMs: number;
  /** Navigation start → the event log holding every event. */
  logLoadedMs: number;
  domNodes: number;
  /** Long tasks (> 50 ms) while scrolling the Gantt, then the log, top to bottom. */
  scroll: { ganttMs: number; logMs: number; longTasks: number; maxLongTaskMs: number };
  /** Longest task during the page load (not bounded by the issue; shown for context). */
  loadMaxLongTaskMs: number;
  live: { eventsPerSec: number; seconds: number; events: number; lagP50Ms: number; lagP95Ms: number; lagMaxMs: number };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/**
 * Scrolls the element to its bottom one viewport per frame; resolves with the time it took. Given as text: tsx
 * would wrap a named arrow function in a `__name` helper that does not exist in the page.
 */
function scrollToEnd(page: Page, selector: string): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    const el = document.querySelector(${JSON.stringify(selector)});
    // From the top: the log follows its tail, so it starts at the bottom.
    el.scrollTop = 0;
    const t0 = performance.now();
    const step = () => {
      el.scrollTop += el.clientHeight;
      if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) resolve(performance.now() - t0);
      else requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  })`);
}

type Hooked = { __stepwise?: { ganttPaintedAt?: number; eventSeqs?: () => number[]; arrivals?: [number, number][] } };
type Timed = { __longtasks: number[] };

export async function measureUi(options: { liveSeconds: number }): Promise<UiFigures> {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-ui-bench-'));
  writeFileSync(join(home, 'stepwise.yaml'), '');
  const instance = await Instance.local(home);
  let ui: ChildProcess | undefined;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, headless: true });
  try {
    const events = await seedFinishedRun(instance, uiWide, 'bench-wide');
    const port = await freePort();
    ui = spawn(process.execPath, [STEPWISE_BIN, 'ui', '-f', PIPELINES, '--port', String(port)], {
      env: { ...process.env, STEPWISE_HOME: home },
      stdio: 'ignore',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitUntil(
      () =>
        fetch(`${base}/healthz`).then(
          (r) => r.ok,
          () => false,
        ),
      30_000,
      'stepwise ui',
      100,
    );
    // A first visit warms the server's caches as any second visitor would find them; the figures are the second's.
    const warm = await browser.newPage();
    await warm.goto(`${base}/runs/bench-wide`);
    await warm.locator('.g-row').first().waitFor({ timeout: 60_000 });
    await warm.close();

    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    await context.addInitScript(() => {
      const w = window as unknown as Timed;
      w.__longtasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longtasks.push(e.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    const page = await context.newPage();
    await page.goto(`${base}/runs/bench-wide`);
    await page.locator('.g-row').first().waitFor({ timeout: 60_000 });
    const firstGanttPaintMs = await waitUntil(
      () => page.evaluate(() => (window as unknown as Hooked).__stepwise?.ganttPaintedAt),
      10_000,
      'the Gantt paint mark',
    );
    await page.locator('[data-testid="log-count"]').getByText(`${events} events`).waitFor({ timeout: 120_000 });
    const logLoadedMs = await page.evaluate(() => performance.now());
    // How much of the first paint is the server's answer: the run detail's response end, from navigation start.
    const detailResponseMs = await page.evaluate(
      () =>
        (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).find((e) =>
          e.name.endsWith('/api/runs/bench-wide'),
        )?.responseEnd ?? Number.NaN,
    );
    await page.waitForTimeout(500);
    const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    const loadMaxLongTaskMs = Math.max(0, ...(await page.evaluate(() => (window as unknown as Timed).__longtasks)));
    await page.evaluate(() => {
      (window as unknown as Timed).__longtasks = [];
    });
    const ganttMs = await scrollToEnd(page, '[data-testid="gantt"]');
    const logMs = await scrollToEnd(page, '[data-testid="event-log"]');
    await page.waitForTimeout(300);
    const tasks = await page.evaluate(() => (window as unknown as Timed).__longtasks);
    await context.close();

    await seedLiveRun(instance, uiLive, 'bench-live');
    const livePage = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await livePage.goto(`${base}/runs/bench-live`);
    await livePage.locator('[data-testid="connection"][data-state="open"]').waitFor({ timeout: 30_000 });
    await livePage.evaluate(() => {
      const h = (window as unknown as Hooked).__stepwise;
      if (h) h.arrivals = [];
    });
    const committed = await emitLive(instance, uiLive, 'bench-live', 500, options.liveSeconds);
    const lastSeq = Math.max(...committed.keys());
    await waitUntil(
      () =>
        livePage.evaluate((s) => ((window as unknown as Hooked).__stepwise?.eventSeqs?.() ?? []).includes(s), lastSeq),
      30_000,
      'the last live event in the page',
    );
    const arrivals = await livePage.evaluate(() => (window as unknown as Hooked).__stepwise?.arrivals ?? []);
    // Each event's lag: when the page held it minus when storage committed it.
    const lags: number[] = [];
    let next = Math.min(...committed.keys());
    for (const [seq, at] of arrivals) {
      for (; next <= seq; next++) {
        const c = committed.get(next);
        if (c !== undefined) lags.push(at - c);
      }
    }
    lags.sort((a, b) => a - b);
    return {
      steps: uiWide.order.length,
      events,
      firstGanttPaintMs: Math.round(firstGanttPaintMs),
      detailResponseMs: Math.round(detailResponseMs),
      logLoadedMs: Math.round(logLoadedMs),
      domNodes,
      scroll: {
        ganttMs: Math.round(ganttMs),
        logMs: Math.round(logMs),
        longTasks: tasks.length,
        maxLongTaskMs: Math.round(Math.max(0, ...tasks)),
      },
      loadMaxLongTaskMs: Math.round(loadMaxLongTaskMs),
      live: {
        eventsPerSec: 500,
        seconds: options.liveSeconds,
        events: committed.size,
        lagP50Ms: percentile(lags, 0.5),
        lagP95Ms: percentile(lags, 0.95),
        lagMaxMs: lags[lags.length - 1] ?? Number.NaN,
      },
    };
  } finally {
    await browser.close();
    if (ui) await stopProcess(ui, { graceMs: 5_000 });
    await instance.close();
    rmSync(home, { recursive: true, force: true });
  }
}
