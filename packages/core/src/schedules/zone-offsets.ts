/**
 * UTC offsets of IANA zones from the runtime's Intl data, never from the host's `TZ`. Offsets are memoized per
 * (zone, UTC day): a day whose start and end offsets agree is taken to hold no transition (true of every zone in
 * the tz database since 1970: transitions are months apart); a day that differs is searched for its transition.
 */
const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();
interface DayOffsets {
  start: number;
  end: number;
  /** First instant with the `end` offset, when the day holds a transition. */
  transition?: number;
}
const days = new Map<string, DayOffsets>();
const MAX_MEMO = 50_000;

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Whether the runtime knows the zone (an IANA name such as 'Europe/Berlin', or 'UTC'). */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

function wallFields(zone: string, t: number): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(t)) if (p.type !== 'literal') fields[p.type] = Number(p.value);
  return fields;
}

function rawOffset(zone: string, t: number): number {
  const f = wallFields(zone, t);
  const wall = Date.UTC(f.year ?? 0, (f.month ?? 1) - 1, f.day ?? 1, f.hour ?? 0, f.minute ?? 0, f.second ?? 0);
  return wall - (t - (((t % 1000) + 1000) % 1000));
}

function dayOffsets(zone: string, day: number): DayOffsets {
  const key = `${zone}\u0000${day}`;
  let d = days.get(key);
  if (d) return d;
  const lo = day * DAY_MS;
  d = { start: rawOffset(zone, lo), end: rawOffset(zone, lo + DAY_MS) };
  if (d.start !== d.end) {
    // Binary search to the millisecond: the first instant showing the later offset.
    let a = lo;
    let b = lo + DAY_MS;
    while (b - a > 1) {
      const mid = Math.floor((a + b) / 2);
      if (rawOffset(zone, mid) === d.start) a = mid;
      else b = mid;
    }
    d.transition = b;
  }
  if (days.size >= MAX_MEMO) days.clear();
  days.set(key, d);
  return d;
}

/** The zone's offset from UTC (ms, east positive) at instant `t`. */
export function offsetAt(zone: string, t: number): number {
  const d = dayOffsets(zone, Math.floor(t / DAY_MS));
  return d.transition !== undefined && t >= d.transition ? d.end : d.start;
}

/** Smallest and largest offset the zone has from a day before `from` to a day after `to`. */
export function offsetBounds(zone: string, from: number, to: number): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let day = Math.floor(from / DAY_MS) - 1; day <= Math.floor(to / DAY_MS) + 1; day++) {
    const d = dayOffsets(zone, day);
    min = Math.min(min, d.start, d.end);
    max = Math.max(max, d.start, d.end);
  }
  return { min, max };
}

/**
 * The instants showing wall time `wallMs` (a wall reading encoded as a UTC epoch) in the zone: one normally,
 * two in a fall-back fold (earlier first), none in a spring-forward gap. As Temporal does, the candidate
 * offsets are those a day either side.
 */
export function instantsOfWall(zone: string, wallMs: number): number[] {
  const candidates = new Set([offsetAt(zone, wallMs - DAY_MS), offsetAt(zone, wallMs + DAY_MS)]);
  const out: number[] = [];
  for (const off of candidates) if (offsetAt(zone, wallMs - off) === off) out.push(wallMs - off);
  return out.sort((a, b) => a - b);
}

/** For a wall time in a gap: the instant the gap ends (the first valid time after it). */
export function gapEnd(zone: string, wallMs: number): number {
  const before = offsetAt(zone, wallMs - DAY_MS);
  const after = offsetAt(zone, wallMs + DAY_MS);
  let a = wallMs - Math.max(before, after);
  let b = wallMs - Math.min(before, after);
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (offsetAt(zone, mid) === before) a = mid;
    else b = mid;
  }
  return b;
}

/** ISO-8601 wall time with the zone's offset, e.g. `2026-03-08T03:00:00-04:00`. */
export function localIso(zone: string, t: number): string {
  const off = offsetAt(zone, t);
  const wall = new Date(t + off).toISOString().slice(0, 19);
  const abs = Math.abs(off) / 60_000;
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${wall}${off < 0 ? '-' : '+'}${hh}:${mm}`;
}
