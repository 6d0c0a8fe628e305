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
  private readonly unapplied: JournalEntry[] = [];
  /** Refunded totals of originals refunded in this run; earlier runs' are in LMDB (recovery applied them). */
  private readonly refunded = new Map<string, number>();
  private applying: Promise<void> | undefined;

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
    const refund = p.refundOf;
    const refunded = refund && responseCode === '00' ? this.refundedSoFar(refund.key) + refund.amount : 0;
    if (refund && refunded > refund.limit) responseCode = '64';
    if (responseCode === '00' && postings && postings.length > 0) responseCode = this.ledger.post(postings);
    if (refund && responseCode === '00') this.refunded.set(refund.key, refunded);
    reply.seq = ++this.lastSeq;
    reply.responseCode = responseCode;
    reply.rrn = p.rrn ? String(reply.seq).padStart(12, '0') : entry.rrn;
    reply.authCode = responseCode === '00' && p.authCode ? String(randomInt(0, 1_000_000)).padStart(6, '0') : '';
    reply.balance = p.inquiry !== undefined && responseCode === '00' ? this.ledger.available(p.inquiry) ?? NaN : NaN;
    settleEntry(entry, reply);
    this.journal.append(entry);
    this.group.push(entry);
  }

  private refundedSoFar(key: string): number {
    let total = this.refunded.get(key);
    if (total === undefined) {
      total = this.state.txns.get(key)?.refunded ?? 0;
      this.refunded.set(key, total);
    }
    return total;
  }

  get pending(): number {
    return this.group.length;
  }

  /**
   * Makes the group durable (one fsync) and queues it for LMDB. LMDB writes run behind the journal,
   * one transaction at a time, each taking every group committed meanwhile: the journal's fsync
   * never waits for LMDB's, and a crash in between is repaired by `recover()`.
   */
  commit(): void {
    if (this.group.length === 0) return;
    this.journal.commit();
    for (const entry of this.group) this.unapplied.push(entry);
    this.group.length = 0;
    if (this.applying === undefined) this.applyNext();
  }

  /** Resolves when every committed entry is in LMDB too. */
  async settled(): Promise<void> {
    while (this.applying !== undefined) await this.applying;
  }

  private applyNext(): void {
    if (this.unapplied.length === 0) {
      this.applying = undefined;
      return;
    }
    const entries = this.unapplied.splice(0);
    this.applying = this.state.applyEntries(entries).then(() => this.applyNext());
  }
}
