import { definePlugin } from '@stepwise/core';
import { registerCommands } from './commands.js';

/** `stepwise airflow` and `stepwise argo`: core loads this package when the command line names either. */
export const plugin = definePlugin({ name: '@stepwise/compile', registerCommands });
