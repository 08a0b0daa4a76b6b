import { definePlugin } from '@stepwise/core';
import { registerCommands } from './cli.js';

export { type UiAppOptions, WEB_ROOT } from './app.js';
export { createUiApp, type UiApp } from './create-ui-app.js';
export { registerCommands };

/** What the `stepwise` CLI loads from this package: its commands. */
export const plugin = definePlugin({ name: '@stepwise/ui', registerCommands });
