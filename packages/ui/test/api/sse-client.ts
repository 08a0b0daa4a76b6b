/** A minimal SSE reader over a fetch Response body, for tests: parses messages and waits for them, bounded. */
import { waitUntil } from '@stepwise/testing';
import type { UiApp } from '../../src/index.js';

export interface SseMessage {
  event: string;
  id?: string;
  data: unknown;
}

export interface SseClient {
  readonly messages: SseMessage[];
  readonly comments: string[];
  readonly chunks: number;
  status: number;
  contentType: string | null;
  /** Waits until `predicate` holds over the messages so far (at most `timeoutMs`). */
  until(predicate: (messages: SseMessage[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function openSse(app: UiApp, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const response = await app.request(path, { headers: { Accept: 'text/event-stream', ...headers } });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  let buffer = '';
  let chunks = 0;
  let done = false;
  const pump = (async () => {
    for (;;) {
      const { value, done: end } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (end) break;
      chunks++;
      buffer += decoder.decode(value, { stream: true });
      let at = buffer.indexOf('\n\n');
      while (at >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        at = buffer.indexOf('\n\n');
        const msg: { event: string; id?: string; data?: string } = { event: 'message' };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comments.push(line.slice(1).trim());
          else if (line.startsWith('event: ')) msg.event = line.slice(7);
          else if (line.startsWith('id: ')) msg.id = line.slice(4);
          else if (line.startsWith('data: '))
            msg.data = (msg.data === undefined ? '' : `${msg.data}\n`) + line.slice(6);
        }
        if (msg.data !== undefined)
          messages.push({ event: msg.event, ...(msg.id ? { id: msg.id } : {}), data: JSON.parse(msg.data) });
      }
    }
    done = true;
  })();
  return {
    messages,
    comments,
    get chunks() {
      return chunks;
    },
    status: response.status,
    contentType: response.headers.get('content-type'),
    async until(predicate, what, timeoutMs = 10_000) {
      await waitUntil<true>(
        () => {
          if (predicate(messages)) return true;
          if (done) throw new Error(`stream ended before ${what}`);
          return false;
        },
        timeoutMs,
        what,
      );
    },
    async close() {
      await reader.cancel().catch(() => {});
      await pump;
    },
  };
}
