export { MalformedMessageError } from './malformed-message-error.js';
export { QueueTimeoutError } from './queue-timeout-error.js';
export { RedisUnavailableError } from './redis-unavailable-error.js';
export { StepLostError } from './step-lost-error.js';
export { ValueTooLargeError } from './value-too-large-error.js';
