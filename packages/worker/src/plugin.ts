import { definePlugin } from '@stepwise/core';
import { registerCommands } from './commands.js';

/** `stepwise worker` and `stepwise workers`: core loads this package when the command line names either. */
export const plugin = definePlugin({ name: '@stepwise/worker', registerCommands });
