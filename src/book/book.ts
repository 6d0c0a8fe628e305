import { randomInt } from 'node:crypto';
import { Ledger } from '../ledger/index.js';
import { ADMIN_ROLES, Journal, LMK_ROTATION, REFERENCE_TABLES, blankEntry, type AdminRole, type ApiToken, journalTail, journalledDate, type JournalEntry, type ReferenceTable, type StateStore } from '../store/index.js';
import { dayNumber, isDate, isSpecifiedTable, RC, REFERENCE_SPECS, referenceProblem, ROUTE_TIMEOUT_MS, routeProblem, shownKey, type RiskRule, type Route } from '../txn/index.js';
import { KeyRewrap, lmkFileOf, loadLmk } from '../security/index.js';
import { Applier } from './applier.js';
import { settleEntry } from './outcome.js';
import { BookGauges, Throttle } from './pressure.js';
import { DayRisk } from './velocity.js';
import { emptyReply, type Proposal, type Reply } from './wire.js';

/** What the book is started with. */
export interface BookOptions {
  /** The business date when no day's journal holds an entry yet (a first start); afterwards the newest such day's. */
  businessDate: string;
  /** Business days a pre-authorisation holds funds. */
  holdDays: number;
  /** Least time between two LMDB transactions of applied entries. */
  applyIntervalMs?: number;
  /** Apply durable entries to LMDB on this thread, after each sync, instead of on an apply thread (the in-process harness). */
  applyInline?: boolean;
  /** Bytes of the ring that hands committed entries to the apply thread (tests make it small to show the journal read-back). */
  applyFeedBytes?: number;
  /** Most entries the book may have entered that LMDB does not hold yet; past it, it admits no more proposals. */
  maxApplyLag?: number;
  /** Most bytes the day's WAL file may take; the book admits no more proposals while it is near. */
  walLimitBytes?: number;
  /** Where the book publishes its pressure (shared with the threads that show or relieve it). */
  gauges?: BookGauges;
}

/** About one second of the switch's peak traffic. */
export const MAX_APPLY_LAG = 10_000;
export const WAL_LIMIT_BYTES = 64 * 1024 * 1024;

/** A change made through the book's control channel: journalled like a transaction. */
export type ControlChange =
  | { kind: 'business-date'; date: string }
  | { kind: 'reference'; table: ReferenceTable; key: string; value: unknown; by?: string; before?: unknown }
  | { kind: 'hold-sweep' }
  | { kind: 'lmk-rotation' };

/** What a control change came to: the seq of its entry (the last released hold's for a sweep), or why it was refused. */
export type ControlResult = { seq: number; released?: number } | { refused: string };

/**
 * The book: the single writer of the ledger and the journal, and the owner of the business date.
 * It numbers each entry, stamps it with the business date, decides what only it can decide (funds),
 * appends the entry to the day's journal, and after each group's fsync has LMDB apply the entries.
 * Nothing here sends a response: the caller replies only after `sync()` has made the entries durable.
 */
export class Book {
  readonly ledger: Ledger;
  private lastSeq = 0;
  private date: string;
  private journal!: Journal;
  /** Days' journals closed by a date change whose last group still waits for its fsync. */
  private readonly retired: Journal[] = [];
  private readonly group: JournalEntry[] = [];
  /** Committed to the journal file, waiting for the fsync that makes them durable. */
  private readonly written: JournalEntry[] = [];
  /** Highest seq made durable by `sync()`. */
  private durableSeq = 0;
  /** Refunded totals of originals refunded in this run; earlier runs' are in LMDB (recovery applied them). */
  private readonly refunded = new Map<string, number>();
  /** The risk rules that need every worker's traffic, and the business day's counters they read. */
  private readonly risk = new DayRisk();
  private applier: Applier | undefined;
  readonly gauges: BookGauges;
  private readonly maxApplyLag: number;
  /**
   * The WAL's high mark: past it the book stops admitting until a checkpoint has copied the whole
   * WAL. A quarter of the limit is left for the groups entered before the check saw it.
   */
  private readonly walHighBytes: number;
  /** The WAL holds more than its high mark not yet checkpointed. */
  private walFull = false;
  /** Reference records as this book's changes left them, by `table|key`, until LMDB holds them (null: removed). */
  private readonly unapplied = new Map<string, { seq: number; record: object | null }>();
  /** Set by an LMK rotation: puts the keys of every later entry under the new LMK. */
  private rewrap: KeyRewrap | undefined;

  constructor(
    private readonly state: StateStore,
    private readonly dataDir: string,
    private readonly options: BookOptions,
  ) {
    this.ledger = new Ledger(state);
    this.date = journalledDate(dataDir) ?? options.businessDate;
    this.maxApplyLag = options.maxApplyLag ?? MAX_APPLY_LAG;
    const walLimit = options.walLimitBytes ?? WAL_LIMIT_BYTES;
    this.walHighBytes = (walLimit * 3) / 4;
    this.gauges = options.gauges ?? BookGauges.create(this.maxApplyLag, walLimit);
  }

  get businessDate(): string {
    return this.date;
  }

  /**
   * Replays the journal entries LMDB has not applied (after a crash), from every day's file, then
   * continues their numbering, opens the current day's journal and starts applying new entries as
   * they become durable.
   */
  async recover(): Promise<number> {
    const tail = journalTail(this.dataDir, this.state.appliedSeq());
    if (tail.entries.length > 0) await this.state.applyEntries(tail.entries);
    this.lastSeq = Math.max(tail.maxSeq, this.state.appliedSeq());
    this.durableSeq = this.state.appliedSeq();
    this.gauges.durable = this.durableSeq;
    this.gauges.applied = this.durableSeq;
    this.journal = this.openJournal(this.date);
    this.risk.load(this.state, this.journal.path);
    if (!this.options.applyInline) this.applier = new Applier(this.dataDir, this.journal.path, this.durableSeq, this.gauges, this.options.applyIntervalMs, this.options.applyFeedBytes);
    return tail.entries.length;
  }

  /** Decides and appends one entry; fills `reply` with the outcome the terminal will see. */
  enter(p: Proposal, reply: Reply): void {
    const entry = p.entry;
    let responseCode = entry.responseCode;
    if (p.screen) responseCode = this.risk.screen(entry, responseCode);
    const postings = entry.effects.postings;
    const refund = p.refundOf;
    const refunded = refund && responseCode === RC.APPROVED ? this.refundedSoFar(refund.key) + refund.amount : 0;
    if (refund && refunded > refund.limit) responseCode = RC.ORIGINAL_AMOUNT_INCORRECT;
    const holds = entry.effects.holds;
    if (responseCode === RC.APPROVED && ((postings && postings.length > 0) || (holds && holds.length > 0))) {
      responseCode = this.ledger.post(postings ?? [], holds);
    }
    if (refund && responseCode === RC.APPROVED) this.refunded.set(refund.key, refunded);
    this.risk.count(entry, responseCode);
    reply.seq = ++this.lastSeq;
    reply.responseCode = responseCode;
    reply.rrn = p.rrn ? String(reply.seq).padStart(12, '0') : entry.rrn;
    reply.authCode = responseCode === RC.APPROVED && p.authCode ? String(randomInt(0, 1_000_000)).padStart(6, '0') : entry.authCode;
    reply.balance = p.inquiry !== undefined && responseCode === RC.APPROVED ? this.ledger.available(p.inquiry) ?? NaN : NaN;
    reply.businessDate = this.date;
    settleEntry(entry, reply);
    this.rewrap?.effects(entry.effects);
    this.journal.append(entry);
    this.group.push(entry);
  }

  /**
   * Carries out a control change, journalled as an entry of its own. A new business date starts a
   * new day's journal between two groups: every entry is in exactly one day's file, the day its
   * entry says. Returns why the change was refused, or the entry's seq.
   */
  control(change: ControlChange, at: number): ControlResult {
    if (change.kind === 'hold-sweep') {
      const released = this.expireHolds(at);
      return released < 0 ? { refused: 'LMDB has not applied every entry yet; try again' } : { seq: this.lastSeq, released };
    }
    if (change.kind === 'lmk-rotation') return this.rotateLmk(at);
    // A checked reference record as this change leaves it: the book's view of it until LMDB holds it.
    let changed: { key: string; record: object | null } | undefined;
    // The change is the whole record (a risk rule): it replaces the stored one.
    let whole = false;
    if (change.kind === 'business-date') {
      if (!isDate(change.date)) return { refused: `not a date: ${change.date}` };
      if (change.date <= this.date) return { refused: `the business date only moves forward: ${change.date} is not after ${this.date}` };
      const started = process.hrtime.bigint();
      this.commit();
      // The old day stays current until the new day's file is open: a file that cannot be opened
      // (a lock, a full disk) refuses the cut-over and changes nothing.
      let next: Journal;
      this.gauges.cutoverSince = Date.now();
      try {
        next = this.openJournal(change.date);
      } catch (err) {
        return { refused: `the journal of ${change.date} cannot be opened: ${(err as Error).message}` };
      } finally {
        this.gauges.cutoverSince = 0;
      }
      this.retired.push(this.journal);
      this.journal = next;
      this.date = change.date;
      // A new day's WAL starts empty; the old day's is the apply thread's to checkpoint.
      this.walFull = false;
      this.risk.newDay();
      this.gauges.lastCutoverMicros = Number((process.hrtime.bigint() - started) / 1000n);
    } else if (!REFERENCE_TABLES.includes(change.table)) {
      return { refused: `no such reference table: ${String(change.table)}` };
    } else if (typeof change.key !== 'string' || change.key === '') {
      return { refused: 'a reference change needs a key' };
    } else if (change.value === undefined || (change.value !== null && typeof change.value !== 'object')) {
      return { refused: 'a reference value is a record, or null to remove the key' };
    } else if (change.table === 'tokens' && change.value !== null && !apiTokenValid(change.value)) {
      return { refused: `a token record is {id, role (${ADMIN_ROLES.join(', ')}), label, createdAt}` };
    } else if (change.table === 'routes' && change.value !== null) {
      const problem = routeProblem(change.key, change.value);
      if (problem !== null) return { refused: problem };
      // A route is replaced whole: every field present, so merging over the stored one replaces it.
      const route = change.value as Route;
      change = { ...change, value: { id: change.key, match: route.match, to: route.to, timeoutMs: route.timeoutMs ?? ROUTE_TIMEOUT_MS, standIn: route.standIn ?? false } };
    } else if (isSpecifiedTable(change.table)) {
      this.forgetApplied();
      const stored = this.referenceRecord(change.table, change.key);
      const problem = referenceProblem(change.table, change.key, change.value, stored, this.referenceRecord);
      if (problem !== null) return { refused: problem };
      whole = REFERENCE_SPECS[change.table].whole === true;
      changed = { key: `${change.table}|${change.key}`, record: change.value === null || whole ? (change.value as object | null) : { ...(stored as object | undefined), ...change.value } };
    }
    const entry = controlEntry(change, at);
    if (change.kind === 'reference') {
      const { table, key, value, by, before } = change;
      entry.effects.reference = { table, key, value, ...(by === undefined ? {} : { by, before: before ?? null }), ...(whole ? { whole: true as const } : {}) };
    }
    this.enter({ entry, rrn: false, authCode: false }, SCRATCH_REPLY);
    if (changed !== undefined) this.unapplied.set(changed.key, { seq: entry.seq, record: changed.record });
    if (change.kind === 'reference' && change.table === 'riskRules') this.risk.ruleChanged(change.key, change.value as RiskRule | null);
    return { seq: entry.seq };
  }

  /**
   * Journals an LMK rotation once the LMK files name the new LMK (src/security/rotation.ts): from
   * its entry on, every key an entry carries is under the new LMK (a worker may still propose keys
   * it wrapped under the old one), and applying the entry re-wraps what LMDB holds. The entry
   * names the new LMK by its check value only.
   */
  private rotateLmk(at: number): ControlResult {
    let rewrap: KeyRewrap;
    try {
      rewrap = new KeyRewrap(loadLmk({ file: lmkFileOf(this.dataDir) }));
    } catch (err) {
      return { refused: `the LMK files cannot be read: ${(err as Error).message}` };
    }
    this.rewrap = rewrap;
    const entry: JournalEntry = { ...blankEntry(), at, type: LMK_ROTATION, responseCode: RC.APPROVED, route: 'control', requestKey: `lmk|${rewrap.checkValue}` };
    this.enter({ entry, rrn: false, authCode: false }, SCRATCH_REPLY);
    return { seq: entry.seq };
  }

  /**
   * A reference record as the book's checks see it: as the book's last change to it left it while
   * LMDB does not hold that change yet, else LMDB's (an account: the ledger's, which runs ahead of LMDB).
   */
  private readonly referenceRecord = (table: ReferenceTable, key: string): unknown => {
    const pending = this.unapplied.get(`${table}|${key}`);
    if (pending !== undefined) return pending.record ?? undefined;
    return table === 'accounts' ? this.ledger.account(key) : (this.state[table] as { get(key: string): unknown }).get(key);
  };

  /** Drops the book's own copies of reference records that LMDB now holds (read from the same snapshot as the records). */
  private forgetApplied(): void {
    const applied = this.state.appliedSeq();
    for (const [key, pending] of this.unapplied) if (pending.seq <= applied) this.unapplied.delete(key);
  }

  /**
   * Releases the holds of pre-auths older than `holdDays` business days: each release is a journal
   * entry like any other. Runs only when LMDB has every committed entry, so it sees current statuses;
   * returns how many it released, or -1 when it could not run yet.
   */
  expireHolds(at: number): number {
    if (!this.caughtUp) return -1;
    this.state.refresh();
    const today = dayNumber(this.date);
    let expired = 0;
    for (const { value: key } of this.state.auths.getRange()) {
      const hold = this.state.txns.get(key);
      if (hold === undefined || hold.status !== 'approved' || today - dayNumber(hold.businessDate) <= this.options.holdDays) continue;
      const entry: JournalEntry = {
        ...blankEntry(), at, type: 'hold-expiry', mid: hold.mid, tid: hold.tid, batch: hold.batch, stan: hold.stan,
        rrn: hold.rrn, authCode: hold.authCode, panHash: hold.panHash, amount: hold.amount, currency: '156',
        responseCode: RC.APPROVED, originalKey: hold.key, route: 'on-us',
        effects: { holds: (hold.holds ?? []).map((h) => ({ account: h.account, amount: -h.amount })), originals: [{ key: hold.key, status: 'expired' }] },
      };
      this.enter({ entry, rrn: false, authCode: false }, SCRATCH_REPLY);
      expired++;
    }
    return expired;
  }

  /** Highest seq made durable. */
  get durable(): number {
    return this.durableSeq;
  }

  /** LMDB holds every entry entered so far: what reads LMDB (the hold sweep) sees current state. */
  get caughtUp(): boolean {
    return this.group.length === 0 && this.written.length === 0 && this.applied >= this.lastSeq;
  }

  /** Highest journal seq LMDB holds. */
  private get applied(): number {
    return this.gauges.applied;
  }

  /**
   * How many proposals the book may enter now: what keeps LMDB within `maxApplyLag` entries of
   * what was entered (so within it of what is durable too), and none while the WAL is past its high
   * mark. Entries not yet in LMDB are what recovery replays and what workers keep in memory, so this
   * one bound caps both.
   */
  get admissible(): number {
    if (this.walFull) return 0;
    return this.maxApplyLag - (this.lastSeq - this.applied);
  }

  /** Why `admissible` is 0, if it is. */
  get throttle(): Throttle {
    if (this.walFull) return Throttle.Wal;
    return this.lastSeq - this.applied >= this.maxApplyLag ? Throttle.ApplyLag : Throttle.None;
  }

  /**
   * Works off the pressure while the book admits nothing: wakes the apply thread, finishes its
   * latest checkpoint (so the WAL can start over) and steers its priority.
   */
  relieve(): void {
    this.applier?.hurry();
    this.finishCheckpoint();
    this.applier?.steer(this.lastSeq);
  }

  /**
   * After each of the apply thread's checkpoints, copies what is left (cheap, between two groups).
   * When that completes, the next group starts the WAL over, cut back to its kept size.
   */
  private finishCheckpoint(): void {
    if (this.applier?.takeCheckpoint() && this.journal.checkpoint()) this.walFull = false;
  }

  private openJournal(date: string): Journal {
    return new Journal(this.dataDir, date, { walKeepBytes: this.gauges.walLimitBytes / 8 });
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
    const walBytes = this.journal.walBytes();
    this.gauges.walBytes = walBytes;
    if (walBytes >= this.walHighBytes) this.walFull = true;
    this.finishCheckpoint();
    this.applier?.feed(this.group);
    this.applier?.steer(this.lastSeq);
    for (const entry of this.group) this.written.push(entry);
    this.group.length = 0;
  }

  /**
   * Makes every committed entry durable (one fdatasync per day's file, off this thread) and lets
   * LMDB have them; resolves with them. One at a time: groups committed meanwhile wait for the next.
   * LMDB runs behind the journal: the journal's fsync never waits for LMDB, LMDB never holds an
   * entry the journal could lose, and a crash in between is repaired by `recover()`.
   */
  async sync(): Promise<readonly JournalEntry[]> {
    // LMDB that stopped following the journal is fatal: originals and balances would go stale.
    if (this.applier?.failure) throw this.applier.failure;
    const entries = this.written.splice(0);
    if (entries.length === 0) return entries;
    const retired = this.retired.splice(0);
    if (retired.length === 0) await this.journal.sync();
    else await Promise.all([this.journal.sync(), ...retired.map((j) => j.sync())]);
    for (const journal of retired) journal.close();
    this.durableSeq = entries[entries.length - 1].seq;
    if (this.applier) this.applier.durable(this.durableSeq);
    else {
      this.gauges.durable = this.durableSeq;
      await this.state.applyEntries(entries);
      this.gauges.applied = this.durableSeq;
    }
    return entries;
  }

  /** Resolves when every durable entry is in LMDB too. */
  async settled(): Promise<void> {
    await this.applier?.caughtUp(this.durableSeq);
  }

  /** Lets LMDB apply every durable entry, then closes the journal. */
  async close(): Promise<void> {
    await this.applier?.stop();
    this.journal.close();
    if (this.applier?.failure) throw this.applier.failure;
  }
}


const SCRATCH_REPLY: Reply = emptyReply();

function controlEntry(change: ControlChange, at: number): JournalEntry {
  return { ...blankEntry(), at, type: change.kind === 'business-date' ? 'business-date' : 'reference-change', responseCode: RC.APPROVED, route: 'control', requestKey: change.kind === 'reference' ? `${change.table}|${shownKey(change.table, change.key)}` : '' };
}

function apiTokenValid(value: unknown): boolean {
  const t = value as Partial<ApiToken>;
  return typeof t.id === 'string' && t.id !== '' && ADMIN_ROLES.includes(t.role as AdminRole) && typeof t.label === 'string' && Number.isSafeInteger(t.createdAt);
}
