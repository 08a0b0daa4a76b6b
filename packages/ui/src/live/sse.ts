import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';

/** One SSE message as written on the wire: JSON data on one line (JSON.stringify escapes newlines). */
export function sseMessage(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** What a live loop writes through: whole batches, heartbeats, and a sleep that ends early when the client leaves. */
export interface SseChannel {
  readonly closed: boolean;
  /** Writes the messages of one batch in one chunk. */
  send(messages: string[]): Promise<void>;
  /** Waits `ms`, writing a heartbeat comment when nothing was written for `heartbeatMs`. */
  pause(ms: number): Promise<void>;
  /** Ends the current pause now (something changed). */
  wake(): void;
}

/** Live streams still open, so a closing server can end them (server.close waits for open responses). */
const open = new Set<() => void>();

/** Ends every open live stream of this process (`stepwise ui` on SIGTERM). */
export function closeLiveStreams(): void {
  for (const close of [...open]) close();
}

/**
 * An SSE response driven by `loop` until the client disconnects or the loop returns. `retry: 2000` tells the
 * browser to reconnect two seconds after a drop (it then sends Last-Event-ID).
 */
export function sseResponse(c: Context, heartbeatMs: number, loop: (channel: SseChannel) => Promise<void>): Response {
  return streamSSE(c, async (stream) => {
    let closed = false;
    let wake: (() => void) | undefined;
    let lastWrite = Date.now();
    const close = () => {
      closed = true;
      wake?.();
    };
    open.add(close);
    stream.onAbort(close);
    c.req.raw.signal.addEventListener('abort', close, { once: true });
    const channel: SseChannel = {
      get closed() {
        return closed || stream.aborted || stream.closed;
      },
      async send(messages) {
        if (messages.length === 0 || channel.closed) return;
        lastWrite = Date.now();
        await stream.write(messages.join(''));
      },
      wake() {
        wake?.();
      },
      async pause(ms) {
        if (channel.closed) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (!channel.closed && Date.now() - lastWrite >= heartbeatMs) {
          lastWrite = Date.now();
          await stream.write(': hb\n\n');
        }
      },
    };
    try {
      await stream.write('retry: 2000\n\n');
      await loop(channel);
    } finally {
      open.delete(close);
      c.req.raw.signal.removeEventListener('abort', close);
    }
  });
}
