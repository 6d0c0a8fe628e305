export { Book } from './book.js';
export { settleEntry } from './outcome.js';
export { REPLY_BYTES, packProposal, readReply, unpackProposal, writeReply, type Proposal, type Reply } from './wire.js';
export type { BookThreadData } from './thread.js';
