import { Worker } from 'node:worker_threads';
import type { ApplyThreadData, ApplyThreadMessage } from './apply-thread.js';

/** Default least time between LMDB transactions that apply durable entries. */
const APPLY_INTERVAL_MS = 50;

/**
 * The book's handle on the thread that applies durable journal entries to LMDB. The book only
 * says how far the journal is durable (one atomic store per fsync, no message, no wake-up); the
 * thread reads those entries back from the journal and applies them in its own time, so a large
 * LMDB transaction never stalls the thread that answers terminals.
 */
export class Applier {
  private readonly thread: Worker;
  /** Highest journal seq that is durable (cell 0), written by the book, read by the apply thread. */
  private readonly durableSeq: BigInt64Array;
  private appliedSeq: number;
  private readonly waiters: { seq: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private stopped: Promise<void> | undefined;
  /** The thread has checkpointed the journal since the book last finished a checkpoint. */
  private checkpointed = false;
  /** Why the thread stopped applying, if it failed: LMDB falls behind the journal from then on. */
  failure: Error | undefined;

  constructor(dataDir: string, journalPath: string, appliedSeq: number, intervalMs = APPLY_INTERVAL_MS) {
    const durable = new SharedArrayBuffer(8);
    this.durableSeq = new BigInt64Array(durable);
    this.durableSeq[0] = BigInt(appliedSeq);
    this.appliedSeq = appliedSeq;
    const data: ApplyThreadData = { dataDir, journalPath, durable, intervalMs };
    this.thread = new Worker(new URL('./apply-thread.js', import.meta.url), { workerData: data });
    this.thread.on('message', (msg: ApplyThreadMessage) => {
      if (msg.fatal !== undefined) this.fail(msg.fatal);
      else if (msg.applied !== undefined) this.onApplied(msg.applied);
      else if (msg.checkpointed) this.checkpointed = true;
    });
    this.thread.on('error', (err) => this.fail(err.stack ?? String(err)));
    this.thread.on('exit', (code) => {
      if (this.stopped === undefined) this.fail(`apply thread exited with code ${code}`);
    });
  }

  /** Every entry up to `seq` is durable in the journal: LMDB may now have it. */
  durable(seq: number): void {
    Atomics.store(this.durableSeq, 0, BigInt(seq));
  }

  /** True once after each of the thread's checkpoints: the book's own checkpoint is then cheap. */
  takeCheckpoint(): boolean {
    const due = this.checkpointed;
    this.checkpointed = false;
    return due;
  }

  /** Highest journal seq LMDB holds. */
  get applied(): number {
    return this.appliedSeq;
  }

  /** Resolves when LMDB holds every entry up to `seq`. */
  caughtUp(seq: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.appliedSeq >= seq) return Promise.resolve();
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
    this.appliedSeq = seq;
    let kept = 0;
    for (const w of this.waiters) {
      if (w.seq <= seq) w.resolve();
      else this.waiters[kept++] = w;
    }
    this.waiters.length = kept;
  }
}
