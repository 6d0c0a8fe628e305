export { Ring, CONTROL_BYTES, HEADER_BYTES, MIN_CAPACITY, MAX_CAPACITY } from './ring.js';
export type { DrainHandler, RingOptions, RingCreateOptions } from './ring.js';
export { Doorbell } from './doorbell.js';
export { Outbox } from './outbox.js';
