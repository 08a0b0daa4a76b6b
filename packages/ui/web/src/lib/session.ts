import { signal } from '@preact/signals';
import { getJson } from '../api/client.js';
import type { MetaResponse } from '../api/types.js';

/** `--read-only`: every action is hidden (the server refuses them anyway). Hidden until the server says. */
export const readOnly = signal(true);
export const meta = signal<MetaResponse | undefined>(undefined);

getJson<MetaResponse>('/api/meta')
  .then((m) => {
    meta.value = m;
    readOnly.value = m.readOnly;
  })
  .catch(() => {
    // Without meta (e.g. 401) actions stay hidden; the pages show the API's own error.
  });
