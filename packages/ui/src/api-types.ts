/**
 * The JSON of the UI's HTTP API (docs/ui.md): every response, request body and SSE frame. Pure types, no runtime
 * imports, so the front end imports this file by relative path. Timestamps are epoch ms unless named ISO.
 */
export type * from './api-types/actions.js';
export type * from './api-types/events.js';
export type * from './api-types/operations.js';
export type * from './api-types/runs.js';
