export { Book, type BookOptions, type ControlChange, type ControlResult } from './book.js';
export { settleEntry } from './outcome.js';
export { REFERENCE_NOTICE, REPLY_BYTES, emptyReply, packProposal, packReferenceNotice, unpackReferenceNotice, readReply, unpackProposal, writeReply, type Proposal, type Reply } from './wire.js';
export type { BookThreadData } from './thread.js';
export { EventFeed, FeedWriter, type EntrySummary } from './feed.js';
