export { StepAbandonedError } from './step-abandoned-error.js';
export { describeCause, StepKilledError, type StopCause } from './step-killed-error.js';
export { StepStalledError } from './step-stalled-error.js';
export { StepTimedOutError } from './step-timed-out-error.js';
