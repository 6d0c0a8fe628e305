export { Book, type BookOptions, type ControlChange, type ControlResult } from './book.js';
export { settleEntry } from './outcome.js';
export { REPLY_BYTES, emptyReply, packProposal, readReply, unpackProposal, writeReply, type Proposal, type Reply } from './wire.js';
export type { BookThreadData } from './thread.js';
export { EventFeed, FeedWriter, type EntrySummary } from './feed.js';
