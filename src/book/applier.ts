import { Worker } from 'node:worker_threads';
import { Doorbell, Ring } from '../ring/index.js';
import { BinaryWriter, writeEntry, type JournalEntry } from '../store/index.js';
import type { ApplyThreadData, ApplyThreadMessage } from './apply-thread.js';
import { BookGauges, Throttle, canRestorePriority, currentNice, setThreadNice } from './pressure.js';

/** Default least time between LMDB transactions that apply durable entries. */
export const APPLY_INTERVAL_MS = 50;
/** The apply thread's nice value while LMDB keeps up: it then takes only CPU the answering threads leave. */
const RELAXED_NICE = 19;
/**
 * Bytes of the ring that carries committed entries to the apply thread: room for well over the
 * most entries LMDB may fall behind by (MAX_APPLY_LAG, ~600 bytes each), so it is full only
 * when entries are unusually large; those the thread reads back from the journal.
 */
export const APPLY_FEED_BYTES = 16 * 1024 * 1024;

/**
 * The book's handle on the thread that applies durable journal entries to LMDB. The book hands
 * each committed group over in the entries' binary layout (a ring, no message, no wake-up) and
 * says how far the journal is durable (one atomic store per fsync); the thread applies what is
 * durable in its own time, so a large LMDB transaction never stalls the thread that answers
 * terminals. What the ring had no room for, the thread reads back from the journal.
 *
 * Its priority is steered by how far it is behind: lowest while it keeps up (answers first), the
 * process's own once it falls half the bound behind or the WAL passes half its limit, so a busy
 * machine cannot starve it into holding terminals back for long.
 */
export class Applier {
  private readonly thread: Worker;
  private readonly bell = Doorbell.create();
  private readonly feedRing: Ring;
  private readonly writer = new BinaryWriter(4096);
  private readonly waiters: { seq: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private stopped: Promise<void> | undefined;
  /** The thread has checkpointed the journal since the book last finished a checkpoint. */
  private checkpointed = false;
  /** Whether the thread may be put at the lowest priority: only if it can be brought back. */
  private readonly mayRelax = canRestorePriority();
  private readonly urgentNice = currentNice();
  private nice: number;
  /** Why the thread stopped applying, if it failed: LMDB falls behind the journal from then on. */
  failure: Error | undefined;

  constructor(
    dataDir: string,
    journalPath: string,
    appliedSeq: number,
    private readonly gauges: BookGauges,
    intervalMs = APPLY_INTERVAL_MS,
    feedBytes = APPLY_FEED_BYTES,
  ) {
    gauges.durable = appliedSeq;
    gauges.applied = appliedSeq;
    this.nice = this.urgentNice;
    this.feedRing = Ring.create(feedBytes);
    const data: ApplyThreadData = { dataDir, journalPath, gauges: gauges.sab, bell: this.bell.sab, feed: this.feedRing.sab, intervalMs };
    this.thread = new Worker(new URL('./apply-thread.js', import.meta.url), { workerData: data });
    this.thread.on('message', (msg: ApplyThreadMessage) => {
      if (msg.fatal !== undefined) this.fail(msg.fatal);
      else if (msg.applied !== undefined) this.onApplied(msg.applied);
      else if (msg.checkpointed) this.checkpointed = true;
      else if (msg.started) this.steer();
    });
    this.thread.on('error', (err) => this.fail(err.stack ?? String(err)));
    this.thread.on('exit', (code) => {
      if (this.stopped === undefined) this.fail(`apply thread exited with code ${code}`);
    });
  }

  /**
   * Hands a committed group to the thread, in seq order. An entry the ring has no room for is
   * left out: the thread finds the gap by its seqs and reads those entries from the journal.
   */
  feed(entries: readonly JournalEntry[]): void {
    const ring = this.feedRing;
    for (const entry of entries) {
      const w = this.writer.reset();
      writeEntry(w, entry);
      if (w.pos <= ring.maxMessageSize) ring.push(0, w.buf, 0, w.pos);
    }
    ring.flush();
  }

  /** Every entry up to `seq` is durable in the journal: LMDB may now have it. */
  durable(seq: number): void {
    this.gauges.durable = seq;
  }

  /** True once after each of the thread's checkpoints: the book's own checkpoint is then cheap. */
  takeCheckpoint(): boolean {
    const due = this.checkpointed;
    this.checkpointed = false;
    return due;
  }

  /** The book is holding terminals back: the thread applies (and checkpoints) now instead of resting. */
  hurry(): void {
    this.bell.ring();
  }

  /** Highest journal seq LMDB holds. */
  get applied(): number {
    return this.gauges.applied;
  }

  /**
   * Gives the thread the process's priority while it is behind (lag past half its bound, the WAL
   * past half its limit, or the book throttling) and the lowest again once it is well within them
   * (a quarter of each, not throttling).
   */
  steer(entered = this.gauges.durable): void {
    const tid = this.gauges.applyTid;
    if (tid === 0 || !this.mayRelax) return;
    const lag = entered - this.gauges.applied;
    const wal = this.gauges.walBytes;
    const maxLag = this.gauges.maxApplyLag;
    const walLimit = this.gauges.walLimitBytes;
    let nice = this.nice;
    if (this.gauges.throttle !== Throttle.None || lag >= maxLag / 2 || wal >= walLimit / 2) nice = this.urgentNice;
    else if (lag < maxLag / 4 && wal < walLimit / 4) nice = RELAXED_NICE;
    if (nice !== this.nice && setThreadNice(tid, nice)) {
      this.nice = nice;
      this.gauges.applyNice = nice;
    }
  }

  /** Resolves when LMDB holds every entry up to `seq`. */
  caughtUp(seq: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.applied >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  /** Applies what is durable, then ends the thread. */
  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      this.thread.once('exit', () => resolve());
      this.thread.postMessage({ stop: true });
    });
    return this.stopped;
  }

  private fail(error: string): void {
    this.failure ??= new Error(`applying the journal to LMDB failed: ${error}`);
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }

  private onApplied(seq: number): void {
    let kept = 0;
    for (const w of this.waiters) {
      if (w.seq <= seq) w.resolve();
      else this.waiters[kept++] = w;
    }
    this.waiters.length = kept;
  }
}
