import { EVENT_TYPES, type EventType, type RunStorage, type StoredEvent } from '@stepwise/core';
import { UiRequestError } from '../errors.js';
import { intParam, listParam } from '../http/query.js';

/** The filters of the events route and the stream (docs/ui.md): step keys, types, attempt, text. */
export interface EventQuery {
  stepKeys: string[];
  types: EventType[];
  attempt?: number;
  /** Lower-cased substring. */
  text?: string;
}

export function parseEventQuery(url: URL): EventQuery {
  const types = listParam(url, 'type');
  for (const t of types) {
    if (!(EVENT_TYPES as readonly string[]).includes(t)) {
      throw new UiRequestError(
        'BAD_REQUEST',
        `query parameter 'type': unknown event type '${t}' (known: ${EVENT_TYPES.join(', ')})`,
      );
    }
  }
  const query: EventQuery = { stepKeys: listParam(url, 'stepKey'), types: types as EventType[] };
  if (url.searchParams.get('attempt') !== null) query.attempt = intParam(url, 'attempt', 1, 1, 1_000_000);
  const text = url.searchParams.get('text')?.trim().toLowerCase();
  if (text) query.text = text;
  return query;
}

function textOf(e: StoredEvent): string {
  const parts = [e.message ?? '', e.stepKey ?? '', e.type];
  if (e.type === 'LOG') parts.push(e.data.msg);
  if (e.type === 'STEP_FAILURE' || e.type === 'STEP_UP_FOR_RETRY') parts.push(e.data.error.message);
  if (e.type === 'ENGINE_EVENT') parts.push(e.data.kind);
  return parts.join('\n').toLowerCase();
}

/** The filters storage cannot apply itself (several step keys, attempt, text). */
export function matches(query: EventQuery, e: StoredEvent): boolean {
  if (query.stepKeys.length > 0 && (e.stepKey === undefined || !query.stepKeys.includes(e.stepKey))) return false;
  if (query.types.length > 0 && !query.types.includes(e.type)) return false;
  if (query.attempt !== undefined && (e.attempt ?? 1) !== query.attempt) return false;
  if (query.text !== undefined && !textOf(e).includes(query.text)) return false;
  return true;
}

/** How many events one call looks at, at most, when filters drop most of them: the caller pages on with lastSeq. */
const SCAN_LIMIT = 20_000;
const PAGE = 2_000;

/**
 * Events after `afterSeq` that match, at most `limit`, reading storage in pages (storage filters by type and a
 * single step key; the rest is filtered here). `lastSeq`: the last seq looked at, so the next call resumes there.
 */
export async function readEvents(
  storage: RunStorage,
  runId: string,
  afterSeq: number,
  limit: number,
  query: EventQuery,
): Promise<{ events: StoredEvent[]; lastSeq: number; hasMore: boolean }> {
  const out: StoredEvent[] = [];
  let cursor = afterSeq;
  let scanned = 0;
  const storageFilter = {
    ...(query.types.length > 0 ? { types: query.types } : {}),
    ...(query.stepKeys.length === 1 ? { stepKey: query.stepKeys[0] as string } : {}),
  };
  for (;;) {
    const page = await storage.getEvents(runId, { ...storageFilter, afterSeq: cursor, limit: PAGE });
    for (const e of page) {
      cursor = e.seq;
      scanned++;
      if (matches(query, e)) out.push(e);
      if (out.length >= limit) break;
    }
    if (out.length >= limit) {
      const more = await storage.getEvents(runId, { ...storageFilter, afterSeq: cursor, limit: 1 });
      return { events: out, lastSeq: cursor, hasMore: more.length > 0 };
    }
    if (page.length < PAGE) return { events: out, lastSeq: cursor, hasMore: false };
    if (scanned >= SCAN_LIMIT) return { events: out, lastSeq: cursor, hasMore: true };
  }
}
