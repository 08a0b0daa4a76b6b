import { fileURLToPath } from 'node:url';

/** The `stepwise` executable of this package (bin/stepwise.js), for launchers that start CLI processes. */
export const STEPWISE_BIN = fileURLToPath(new URL('../../bin/stepwise.js', import.meta.url));
