export { Book, MAX_APPLY_LAG, WAL_LIMIT_BYTES, type BookOptions, type ControlChange, type ControlResult } from './book.js';
export { BookGauges, CUTOVER_STUCK_MS_DEFAULT, FSYNC_BOUNDS_MS, Throttle, nameThread, setThreadNice, threadId, type PressureSnapshot } from './pressure.js';
export { settleEntry } from './outcome.js';
export { REFERENCE_NOTICE, REPLY_BYTES, emptyReply, packProposal, packReferenceNotice, unpackReferenceNotice, readReply, unpackProposal, writeReply, type Proposal, type Reply } from './wire.js';
export type { BookThreadData } from './thread.js';
export { EventFeed, FeedWriter, type EntrySummary } from './feed.js';
