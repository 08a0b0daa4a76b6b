import { definePlugin } from '@stepwise/core';
import { registerCommands } from './cli.js';

export type * from './api-types.js';
export { WEB_ROOT } from './app.js';
export { createUiApp, type UiApp } from './create-ui-app.js';
export { UiRequestError, type UiRequestErrorCode, UiStartError } from './errors.js';
export { closeLiveStreams } from './live/sse.js';
export type { UiOptions, UiRedisOptions } from './ui-context.js';
export { registerCommands };

/** What the `stepwise` CLI loads from this package: its commands. */
export const plugin = definePlugin({ name: '@stepwise/ui', registerCommands });
