import { randomInt } from 'node:crypto';
import { Ledger } from '../ledger/index.js';
import { journalTail, type Journal, type JournalEntry, type StateStore } from '../store/index.js';
import { Applier } from './applier.js';
import { settleEntry } from './outcome.js';
import type { Proposal, Reply } from './wire.js';

/**
 * The book: the single writer of the ledger and the journal. It numbers each entry, decides what
 * only it can decide (funds), appends the entry to the journal, and after each group's fsync tells
 * its apply thread the entries are durable, for LMDB. Nothing here sends a response: the caller
 * replies only after `sync()` has made the entries durable.
 */
export class Book {
  readonly ledger: Ledger;
  private lastSeq = 0;
  private readonly group: JournalEntry[] = [];
  /** Committed to the journal file, waiting for the fsync that makes them durable. */
  private readonly written: JournalEntry[] = [];
  /** Highest seq made durable by `sync()`. */
  private durableSeq = 0;
  /** Refunded totals of originals refunded in this run; earlier runs' are in LMDB (recovery applied them). */
  private readonly refunded = new Map<string, number>();
  private applier: Applier | undefined;

  constructor(
    private readonly state: StateStore,
    private readonly journal: Journal,
    /** Least time between two LMDB transactions of applied entries. */
    private readonly applyIntervalMs?: number,
  ) {
    this.ledger = new Ledger(state);
  }

  /**
   * Replays the journal entries LMDB has not applied (after a crash), from every day's file, then
   * continues their numbering and starts the thread that applies new entries as they become durable.
   */
  async recover(dataDir: string): Promise<number> {
    const tail = journalTail(dataDir, this.state.appliedSeq());
    if (tail.entries.length > 0) await this.state.applyEntries(tail.entries);
    this.lastSeq = Math.max(tail.maxSeq, this.state.appliedSeq());
    this.durableSeq = this.state.appliedSeq();
    this.applier = new Applier(dataDir, this.journal.path, this.durableSeq, this.applyIntervalMs);
    return tail.entries.length;
  }

  /** Decides and appends one entry; fills `reply` with the outcome the terminal will see. */
  enter(p: Proposal, reply: Reply): void {
    const entry = p.entry;
    let responseCode = entry.responseCode;
    const postings = entry.effects.postings;
    const refund = p.refundOf;
    const refunded = refund && responseCode === '00' ? this.refundedSoFar(refund.key) + refund.amount : 0;
    if (refund && refunded > refund.limit) responseCode = '64';
    const holds = entry.effects.holds;
    if (responseCode === '00' && ((postings && postings.length > 0) || (holds && holds.length > 0))) {
      responseCode = this.ledger.post(postings ?? [], holds);
    }
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

  /**
   * Releases the holds of pre-auths older than `holdDays` business days: each release is a journal
   * entry like any other. Runs only when LMDB has every committed entry, so it sees current statuses;
   * returns how many it released, or -1 when it could not run yet.
   */
  expireHolds(businessDate: string, holdDays: number, at: number): number {
    if (this.group.length > 0 || this.written.length > 0 || this.applier === undefined || this.applier.applied < this.lastSeq) return -1;
    this.state.refresh();
    const today = dayNumber(businessDate);
    const reply: Reply = { seq: 0, balance: NaN, responseCode: '', authCode: '', rrn: '' };
    let expired = 0;
    for (const { value: key } of this.state.auths.getRange()) {
      const hold = this.state.txns.get(key);
      if (hold === undefined || hold.status !== 'approved' || today - dayNumber(hold.businessDate) <= holdDays) continue;
      const entry: JournalEntry = {
        seq: 0, at, businessDate, type: 'hold-expiry', mti: '', mid: hold.mid, tid: hold.tid, batch: hold.batch, stan: hold.stan,
        rrn: hold.rrn, authCode: hold.authCode, panMasked: '', panHash: hold.panHash, amount: hold.amount, currency: '156',
        responseCode: '00', originalKey: hold.key, route: 'on-us', latencyUs: 0, requestKey: '',
        effects: { holds: (hold.holds ?? []).map((h) => ({ account: h.account, amount: -h.amount })), originals: [{ key: hold.key, status: 'expired' }] },
      };
      this.enter({ entry, rrn: false, authCode: false }, reply);
      expired++;
    }
    return expired;
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

  /** Entries committed but not yet durable. */
  get unsynced(): number {
    return this.written.length;
  }

  /**
   * Writes the group to the journal in one SQLite transaction. Its entries are not durable yet:
   * nothing may answer them before a later `sync()` resolves.
   */
  commit(): void {
    if (this.group.length === 0) return;
    this.journal.commit();
    if (this.applier?.takeCheckpoint()) this.journal.checkpoint();
    for (const entry of this.group) this.written.push(entry);
    this.group.length = 0;
  }

  /**
   * Makes every committed entry durable (one fdatasync, off this thread) and hands them to the
   * apply thread. One at a time: groups committed meanwhile wait for the next. LMDB runs behind the
   * journal: the journal's fsync never waits for LMDB, LMDB never holds an entry the journal could
   * lose, and a crash in between is repaired by `recover()`.
   */
  async sync(): Promise<void> {
    // LMDB that stopped following the journal is fatal: originals and balances would go stale.
    if (this.applier?.failure) throw this.applier.failure;
    const entries = this.written.splice(0);
    if (entries.length === 0) return;
    await this.journal.sync();
    this.durableSeq = entries[entries.length - 1].seq;
    this.applier!.durable(this.durableSeq);
  }

  /** Resolves when every durable entry is in LMDB too. */
  async settled(): Promise<void> {
    await this.applier?.caughtUp(this.durableSeq);
  }

  /** Lets the apply thread apply every durable entry, then ends it. */
  async close(): Promise<void> {
    await this.applier?.stop();
    if (this.applier?.failure) throw this.applier.failure;
  }
}

function dayNumber(yyyymmdd: string): number {
  return Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))) / 86_400_000;
}
