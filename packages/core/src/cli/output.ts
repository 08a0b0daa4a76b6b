import type { StepwiseEvent } from '../events/events.js';
import type { RunResult } from '../execution/run-result.js';
import { stepJson } from '../runs/run-json.js';

/** How a command shows a run: JSON Lines, a live progress line on a terminal, or one plain line per event. */
export type OutputMode = 'json' | 'tty' | 'plain';

/** `json` when asked; `tty` when stdout is a terminal (and TERM is not dumb); `plain` otherwise. */
export function outputMode(json: boolean | undefined, stream: NodeJS.WriteStream = process.stdout): OutputMode {
  if (json) return 'json';
  return stream.isTTY && process.env.TERM !== 'dumb' ? 'tty' : 'plain';
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(2)} s`;
  const s = Math.round(ms / 1_000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function formatTime(ts: number): string {
  const d = new Date(ts);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, for tables. */
export function formatDate(ts: number | undefined): string {
  if (ts === undefined) return '-';
  const d = new Date(ts);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const firstLine = (text: string) => text.split('\n')[0] ?? text;

/** The text after the step key on an event's line, or undefined for events not shown. */
function describe(event: StepwiseEvent): string | undefined {
  switch (event.type) {
    case 'RUN_START':
      return `run ${event.runId} (${event.data.stepCount} steps)`;
    case 'RUN_SUCCESS':
      return `run ${event.runId} succeeded in ${formatDuration(event.data.durationMs)}`;
    case 'RUN_FAILURE':
      return `run ${event.runId} failed${event.data.failedSteps.length ? `: steps failed: ${event.data.failedSteps.join(', ')}` : ''}`;
    case 'RUN_CANCELING':
      return `run ${event.runId} canceling${event.data.reason ? `: ${event.data.reason}` : ''}`;
    case 'RUN_CANCELED':
      return `run ${event.runId} canceled`;
    case 'STEP_START':
      return '';
    case 'STEP_SUCCESS':
      return `(${formatDuration(event.data.durationMs)})`;
    case 'STEP_FAILURE':
      return `${firstLine(event.data.error.message)}`;
    case 'STEP_SKIPPED':
      return event.data.reason;
    case 'STEP_UP_FOR_RETRY':
      return `attempt ${event.attempt ?? 1} failed: ${firstLine(event.data.error.message)}; retry in ${formatDuration(event.data.delayMs)}`;
    case 'STEP_RESTARTED':
      return `attempt ${event.attempt ?? ''}`;
    case 'ENGINE_EVENT':
      return event.message ?? event.data.kind;
    default:
      return undefined;
  }
}

/** One line for an event (`12:00:01.234 STEP_FAILURE      load: boom`), or undefined when it is not shown. */
export function formatEventLine(event: StepwiseEvent): string | undefined {
  const text = describe(event);
  if (text === undefined) return undefined;
  const sep = text.startsWith('(') ? ' ' : ': ';
  const subject = event.stepKey === undefined ? text : text === '' ? event.stepKey : `${event.stepKey}${sep}${text}`;
  return `${formatTime(event.timestamp)} ${event.type.padEnd(17)} ${subject}`;
}

/** Events worth a line above the progress line on a terminal. */
const TTY_LINES = new Set<StepwiseEvent['type']>([
  'STEP_FAILURE',
  'STEP_UP_FOR_RETRY',
  'RUN_CANCELING',
  'ENGINE_EVENT',
]);

/** Prints a run's events as they happen, in the chosen mode, and its final summary. */
export class RunPrinter {
  private readonly started = Date.now();
  private stepCount = 0;
  private readonly copies = new Set<string>();
  private readonly templates = new Set<string>();
  private readonly running = new Set<string>();
  private done = 0;
  private failed = 0;
  private drawn = false;
  private dirty = false;
  private timer?: NodeJS.Timeout;
  private label = '';

  private readonly write: (text: string) => void;

  /**
   * @param mode how to print
   * @param write where lines go. Default: stdout; in JSON mode the stdout writer from {@link reserveStdout}, so that
   *   steps printing to stdout cannot break the JSON Lines.
   */
  constructor(
    private readonly mode: OutputMode,
    write?: (text: string) => void,
  ) {
    this.write = write ?? (mode === 'json' ? reserveStdout() : (text) => void process.stdout.write(text));
  }

  /** Feed every event of the run here. */
  readonly onEvent = (event: StepwiseEvent): void => {
    if (this.mode === 'json') {
      this.write(`${JSON.stringify(event)}\n`);
      return;
    }
    this.count(event);
    if (this.mode === 'plain') {
      const line = formatEventLine(event);
      if (line !== undefined) this.write(`${line}\n`);
      return;
    }
    if (event.type === 'RUN_START') {
      this.label = `run ${event.runId}`;
      this.line(`run ${event.runId} started (${event.data.stepCount} steps)`);
      this.timer = setInterval(() => this.dirty && this.draw(), 100);
      this.timer.unref();
    } else if (TTY_LINES.has(event.type)) {
      const line = formatEventLine(event);
      if (line !== undefined) this.line(line);
    }
    this.dirty = true;
  };

  /** Ends the progress line and prints the summary (or, in JSON mode, a final `RUN_SUMMARY` line). */
  finish(result: RunResult): void {
    if (this.timer) clearInterval(this.timer);
    if (this.mode === 'json') {
      this.write(`${JSON.stringify({ type: 'RUN_SUMMARY', ...summaryJson(result) })}\n`);
      return;
    }
    this.clear();
    this.write(`${formatSummary(result)}\n`);
  }

  /** Stops redrawing (the run was rejected before it started). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }

  private count(event: StepwiseEvent): void {
    const key = event.stepKey;
    if (event.type === 'RUN_START') this.stepCount = event.data.stepCount;
    if (key === undefined) return;
    const bracket = key.indexOf('[');
    if (bracket > 0 && !this.copies.has(key)) {
      this.copies.add(key);
      this.templates.add(key.slice(0, bracket));
    }
    switch (event.type) {
      case 'STEP_START':
        this.running.add(key);
        break;
      case 'STEP_UP_FOR_RETRY':
        this.running.delete(key);
        break;
      case 'STEP_SUCCESS':
      case 'STEP_SKIPPED':
        this.running.delete(key);
        this.done++;
        break;
      case 'STEP_FAILURE':
        this.running.delete(key);
        this.done++;
        this.failed++;
        break;
      default:
        break;
    }
  }

  private progressText(): string {
    // A template counts once in the plan; once its copies appear, they count instead.
    const total = Math.max(this.done, this.stepCount - this.templates.size + this.copies.size);
    const width = 20;
    const filled = total === 0 ? 0 : Math.round((this.done / total) * width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const parts = [`${bar} ${this.done}/${total} done`, `${this.running.size} running`, `${this.failed} failed`];
    return `${parts.join(' · ')} · ${formatDuration(Date.now() - this.started)}  ${this.label}`;
  }

  private draw(): void {
    this.dirty = false;
    const columns = process.stdout.columns || 100;
    this.write(`\r\x1b[2K${this.progressText().slice(0, columns - 1)}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.write('\r\x1b[2K');
    this.drawn = false;
  }

  /** Prints a line above the progress line. */
  private line(text: string): void {
    this.clear();
    this.write(`${text}\n`);
    this.draw();
  }
}

/** The JSON of a run's outcome. */
export function summaryJson(result: RunResult): Record<string, unknown> {
  return {
    runId: result.runId,
    pipeline: result.pipeline,
    status: result.status,
    durationMs: Math.round(result.durationMs),
    steps: Object.values(result.steps).map(stepJson),
  };
}

/** `run <id> SUCCESS in 1.23 s: 9 steps, 9 succeeded`, then one line per failed step with its error. */
export function formatSummary(result: RunResult): string {
  const steps = Object.values(result.steps);
  const counts = new Map<string, number>();
  for (const s of steps) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const words: Record<string, string> = {
    SUCCESS: 'succeeded',
    FAILURE: 'failed',
    SKIPPED: 'skipped',
    CANCELED: 'canceled',
    NOT_STARTED: 'not started',
  };
  const parts = Object.entries(words)
    .filter(([status]) => counts.has(status))
    .map(([status, word]) => `${counts.get(status)} ${word}`);
  const lines = [
    `run ${result.runId} ${result.status} in ${formatDuration(result.durationMs)}: ${steps.length} steps, ${parts.join(', ') || 'none run'}`,
  ];
  for (const s of steps) {
    if (s.status === 'FAILURE') lines.push(`  ${s.key}: ${firstLine(s.error?.message ?? 'failed')}`);
  }
  if (result.status !== 'SUCCESS') {
    lines.push(`details: stepwise runs show ${result.runId}; retry: stepwise reexecute ${result.runId} --from-failure`);
  }
  return lines.join('\n');
}

let reserved: ((text: string) => void) | undefined;

/**
 * Keeps stdout for the command's own output: returns a writer to the real stdout and sends everything else written
 * to `process.stdout` (a step's console.log) to stderr. For `--json`, whose stdout must stay machine-readable.
 */
export function reserveStdout(): (text: string) => void {
  if (!reserved) {
    const original = process.stdout.write.bind(process.stdout) as (text: string) => boolean;
    const toStderr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((...args: Parameters<typeof process.stderr.write>) =>
      toStderr(...args)) as typeof process.stdout.write;
    reserved = (text) => void original(text);
  }
  return reserved;
}

/** Writes one JSON document (and a newline) to stdout. */
export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

/** Left-aligned columns; the last column is not padded. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
