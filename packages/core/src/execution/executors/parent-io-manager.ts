import type { SerializedError } from '../../events/events.js';
import type { IOManager } from '../../io/io-manager.js';
import type { OutputRef } from '../../plan/plan.js';
import { type IORequestMessage, type IOResultMessage, StepProcessIpcError } from './ipc-protocol.js';

export function rebuildError(error: SerializedError): Error {
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  if (error.stack) rebuilt.stack = error.stack;
  if (error.code) Object.assign(rebuilt, { code: error.code });
  return rebuilt;
}

/** How a step host reaches its parent: whether the channel is open, and sending (throws when not cloneable). */
export interface ParentLink {
  connected(): boolean;
  send(message: IORequestMessage): void;
}

/** Forwards every call to the parent's IO manager, so any IO manager works (even an in-memory one). */
export class ParentIOManager implements IOManager {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(private readonly link: ParentLink) {}

  store(ref: OutputRef, value: unknown): Promise<void> {
    return this.request({ type: 'io', id: this.nextId++, op: 'store', ref, value }).then(() => undefined);
  }

  load(ref: OutputRef): Promise<unknown> {
    return this.request({ type: 'io', id: this.nextId++, op: 'load', ref });
  }

  async has(ref: OutputRef): Promise<boolean> {
    return (await this.request({ type: 'io', id: this.nextId++, op: 'has', ref })) === true;
  }

  answer(message: IOResultMessage): void {
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.ok) waiter.resolve(message.value);
    else waiter.reject(rebuildError(message.error));
  }

  private request(message: IORequestMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (!this.link.connected()) {
        reject(new StepProcessIpcError('the coordinator process is gone'));
        return;
      }
      this.pending.set(message.id, { resolve, reject });
      try {
        this.link.send(message);
      } catch (error) {
        this.pending.delete(message.id);
        const why = error instanceof Error ? error.message : String(error);
        reject(new StepProcessIpcError(`the value could not be sent to the coordinator process: ${why}`));
      }
    });
  }
}
