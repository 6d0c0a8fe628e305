import { randomInt } from 'node:crypto';
import { Ledger } from '../ledger/index.js';
import type { Journal, JournalEntry, StateStore } from '../store/index.js';
import { settleEntry } from './outcome.js';
import type { Proposal, Reply } from './wire.js';

/**
 * The book: the single writer of the ledger and the journal. It numbers each entry, decides what
 * only it can decide (funds), appends the entry to the journal, and after the group commit
 * applies the entries to LMDB. Nothing here sends a response: the caller replies only after
 * `commit()` has made the entries durable.
 */
export class Book {
  readonly ledger: Ledger;
  private lastSeq = 0;
  private readonly group: JournalEntry[] = [];

  constructor(
    private readonly state: StateStore,
    private readonly journal: Journal,
  ) {
    this.ledger = new Ledger(state);
  }

  /** Replays journal entries that LMDB has not applied (after a crash), then continues their numbering. */
  async recover(): Promise<number> {
    const tail = this.journal.entriesAfter(this.state.appliedSeq());
    if (tail.length > 0) await this.state.applyEntries(tail);
    this.lastSeq = Math.max(this.journal.maxSeq(), this.state.appliedSeq());
    return tail.length;
  }

  /** Decides and appends one entry; fills `reply` with the outcome the terminal will see. */
  enter(p: Proposal, reply: Reply): void {
    const entry = p.entry;
    let responseCode = entry.responseCode;
    const postings = entry.effects.postings;
    if (responseCode === '00' && postings && postings.length > 0) responseCode = this.ledger.post(postings);
    reply.seq = ++this.lastSeq;
    reply.responseCode = responseCode;
    reply.rrn = p.rrn ? String(reply.seq).padStart(12, '0') : entry.rrn;
    reply.authCode = responseCode === '00' && p.authCode ? String(randomInt(0, 1_000_000)).padStart(6, '0') : '';
    reply.balance = p.inquiry !== undefined && responseCode === '00' ? this.ledger.available(p.inquiry) ?? NaN : NaN;
    settleEntry(entry, reply);
    this.journal.append(entry);
    this.group.push(entry);
  }

  get pending(): number {
    return this.group.length;
  }

  /** Makes the group durable (one fsync), then hands it to LMDB; resolves when LMDB has it too. */
  commit(): Promise<boolean> | undefined {
    if (this.group.length === 0) return undefined;
    this.journal.commit();
    const entries = this.group.splice(0);
    return this.state.applyEntries(entries);
  }
}
