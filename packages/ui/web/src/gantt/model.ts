/** One attempt of a step on the timeline. Times are epoch ms; `end` absent while it runs. */
export interface GanttSegment {
  readonly stepKey: string;
  readonly attempt: number;
  readonly start: number;
  readonly end?: number | undefined;
  readonly workerId?: string | undefined;
  readonly status: string;
}

export interface GanttStepInput {
  readonly key: string;
  readonly status: string;
  readonly segments: readonly GanttSegment[];
}

/** A row of the chart: a step, a folded group of dynamic copies, or a worker's lane. */
export interface GanttRow {
  readonly id: string;
  readonly label: string;
  readonly kind: 'step' | 'group' | 'lane';
  readonly status: string;
  readonly segments: readonly GanttSegment[];
  /** The step to select on click (a group selects nothing). */
  readonly stepKey?: string | undefined;
  /** For groups: how many copies it folds, and whether it is open. */
  readonly count?: number;
  readonly open?: boolean;
}

/** `fan[3]` → `fan`: copies of a mapped template share the template's key before the bracket. */
export function templateKey(stepKey: string): string | undefined {
  const at = stepKey.indexOf('[');
  return at > 0 ? stepKey.slice(0, at) : undefined;
}

const STATUS_RANK: Readonly<Record<string, number>> = { FAILURE: 5, RUNNING: 4, UP_FOR_RETRY: 3, PENDING: 2 };

function worstStatus(statuses: Iterable<string>): string {
  let best = 'SUCCESS';
  let rank = -1;
  for (const s of statuses) {
    const r = STATUS_RANK[s] ?? 0;
    if (r > rank) {
      rank = r;
      best = s;
    }
  }
  return best;
}

/** Rows by step, in plan order; the copies of a dynamic step folded into one group row unless it is `open`. */
export function stepRows(steps: readonly GanttStepInput[], open: ReadonlySet<string>): GanttRow[] {
  const rows: GanttRow[] = [];
  const groups = new Map<string, GanttStepInput[]>();
  for (const step of steps) {
    const template = templateKey(step.key);
    if (template === undefined) continue;
    const list = groups.get(template);
    if (list) list.push(step);
    else groups.set(template, [step]);
  }
  const emitted = new Set<string>();
  for (const step of steps) {
    const template = templateKey(step.key);
    if (template === undefined) {
      rows.push({
        id: step.key,
        label: step.key,
        kind: 'step',
        status: step.status,
        segments: step.segments,
        stepKey: step.key,
      });
      continue;
    }
    if (emitted.has(template)) continue;
    emitted.add(template);
    const copies = groups.get(template) ?? [];
    const isOpen = open.has(template);
    rows.push({
      id: `group:${template}`,
      label: `${template}[*]`,
      kind: 'group',
      status: worstStatus(copies.map((c) => c.status)),
      segments: isOpen ? [] : spanOf(template, copies),
      count: copies.length,
      open: isOpen,
    });
    if (isOpen) {
      for (const c of copies) {
        rows.push({ id: c.key, label: c.key, kind: 'step', status: c.status, segments: c.segments, stepKey: c.key });
      }
    }
  }
  return rows;
}

/** A folded group is drawn as one bar from its first start to its last end. */
function spanOf(template: string, copies: readonly GanttStepInput[]): GanttSegment[] {
  let start = Number.POSITIVE_INFINITY;
  let end: number | undefined = Number.NEGATIVE_INFINITY;
  for (const c of copies) {
    for (const s of c.segments) {
      start = Math.min(start, s.start);
      if (end !== undefined) end = s.end === undefined ? undefined : Math.max(end, s.end);
    }
  }
  if (start === Number.POSITIVE_INFINITY) return [];
  const status = worstStatus(copies.map((c) => c.status));
  return [{ stepKey: template, attempt: 1, start, end: end === Number.NEGATIVE_INFINITY ? undefined : end, status }];
}

/**
 * One lane per worker (`--` for attempts with no worker, e.g. in-process runs); a worker running several steps at
 * once (slots) gets as many sub-lanes, packed greedily so segments never overlap.
 */
export function workerRows(steps: readonly GanttStepInput[], now: number): GanttRow[] {
  const byWorker = new Map<string, GanttSegment[]>();
  for (const step of steps) {
    for (const s of step.segments) {
      const w = s.workerId ?? '--';
      const list = byWorker.get(w);
      if (list) list.push(s);
      else byWorker.set(w, [s]);
    }
  }
  const rows: GanttRow[] = [];
  for (const worker of [...byWorker.keys()].sort()) {
    const segs = (byWorker.get(worker) ?? []).slice().sort((a, b) => a.start - b.start);
    const lanes: { end: number; segs: GanttSegment[] }[] = [];
    for (const s of segs) {
      const lane = lanes.find((l) => l.end <= s.start);
      const end = s.end ?? now;
      if (lane) {
        lane.end = end;
        lane.segs.push(s);
      } else lanes.push({ end, segs: [s] });
    }
    lanes.forEach((lane, i) => {
      rows.push({
        id: `lane:${worker}:${i}`,
        label: i === 0 ? worker : `${worker} #${i + 1}`,
        kind: 'lane',
        status: worstStatus(lane.segs.map((s) => s.status)),
        segments: lane.segs,
      });
    });
  }
  return rows;
}

/** The time window of the chart: from the first start to the last end (or now while running). */
export function timeBounds(rows: readonly GanttRow[], now: number): { start: number; end: number } {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const r of rows) {
    for (const s of r.segments) {
      if (s.start < start) start = s.start;
      const e = s.end ?? now;
      if (e > end) end = e;
    }
  }
  if (start === Number.POSITIVE_INFINITY) return { start: now, end: now + 1000 };
  return { start, end: Math.max(end, start + 1000) };
}

/** Segments of a row that intersect [from, to] (the horizontal part of viewport culling). */
export function visibleSegments(row: GanttRow, from: number, to: number, now: number): GanttSegment[] {
  return row.segments.filter((s) => s.start <= to && (s.end ?? now) >= from);
}
