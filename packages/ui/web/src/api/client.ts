import { appUrl } from '../lib/router.js';

/** An answer of the API other than 2xx: `{"error":{"code","message"}}` (plus path-level errors for 400). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? res.statusText, body);
  }
  return body as T;
}

/** GET an API path (`/api/...`) relative to the mount point; the session cookie carries the token. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(appUrl(path), { headers: { accept: 'application/json' }, ...(signal && { signal }) });
  return parse<T>(res);
}

export async function postJson<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(appUrl(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  return parse<T>(res);
}

/** `?a=1&b=2` from the defined entries only. */
export function queryString(params: Readonly<Record<string, string | number | undefined>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
