/** The API's shapes, from the server's own type file: one vocabulary for both sides. */
export type * from '../../../src/api-types.js';
