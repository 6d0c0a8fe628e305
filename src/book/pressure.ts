import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Cells of the book's gauges, each on its own 64-byte line (different threads write them). */
const DURABLE = 0;
const APPLIED = 1;
const WAL_BYTES = 2;
const THROTTLED_MS = 3;
const THROTTLED = 4;
const APPLY_TID = 5;
const APPLY_NICE = 6;
const MAX_APPLY_LAG = 7;
const WAL_LIMIT = 8;
const THROTTLED_SINCE = 9;
const CUTOVER_SINCE = 10;
const CUTOVER_STUCK_MS = 11;
const LAST_CUTOVER_US = 12;
const READ_BACK = 13;
const CELLS = 14;
const STRIDE = 8;
/** Upper bounds (ms) of the journal fsync latency histogram's buckets; one more bucket counts what is above. */
export const FSYNC_BOUNDS_MS: readonly number[] = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256];
/** After the cells: one count per fsync bucket, then the sum of all fsync times in µs (written by the book thread only). */
const FSYNC_COUNTS = CELLS * STRIDE;
const FSYNC_SUM_US = FSYNC_COUNTS + FSYNC_BOUNDS_MS.length + 1;
const SLOTS = FSYNC_SUM_US + 1;
/** How long a cut-over may hold the book before requests are answered `90` (it normally takes milliseconds). */
export const CUTOVER_STUCK_MS_DEFAULT = 2000;

/**
 * Why the book is admitting no proposals now: not at all, LMDB is `maxApplyLag` entries behind
 * what the book has entered, or the WAL holds more than its high mark of pages not yet copied into
 * the day's file.
 */
export const Throttle = { None: 0, ApplyLag: 1, Wal: 2 } as const;
export type Throttle = (typeof Throttle)[keyof typeof Throttle];

/** How far the derived state is behind and what the book does about it, as the monitor and metrics show it. */
export interface PressureSnapshot {
  /** Entries durable in the journal but not yet in LMDB. */
  applyLag: number;
  maxApplyLag: number;
  /** Why the book admits nothing now, if it does not: 'apply-lag' or 'wal'. */
  throttled: 'apply-lag' | 'wal' | null;
  /** Time the book has admitted nothing while proposals waited, since start. */
  throttledMs: number;
  walBytes: number;
  walLimitBytes: number;
  /** The apply thread's nice value now (19 while it keeps up, 0 while it catches up). */
  applyNice: number;
  /** Entries the apply thread read back from the journal because the book's feed had no room for them, since start. */
  readBack: number;
  durableSeq: number;
  appliedSeq: number;
}

/**
 * The book's pressure gauges in shared memory: the book thread writes what it made durable, the WAL's size and whether it is throttling; the apply thread writes what LMDB holds.
 * Any thread reads them without a message (the admin API, the apply thread deciding to hurry).
 */
export class BookGauges {
  readonly sab: SharedArrayBuffer;
  private readonly cells: BigInt64Array;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.cells = new BigInt64Array(sab);
  }

  static create(maxApplyLag: number, walLimitBytes: number, cutoverStuckMs = CUTOVER_STUCK_MS_DEFAULT): BookGauges {
    const gauges = new BookGauges(new SharedArrayBuffer(SLOTS * 8));
    gauges.set(MAX_APPLY_LAG, maxApplyLag);
    gauges.set(CUTOVER_STUCK_MS, cutoverStuckMs);
    gauges.set(WAL_LIMIT, walLimitBytes);
    gauges.set(APPLY_NICE, currentNice());
    return gauges;
  }

  static attach(sab: SharedArrayBuffer): BookGauges {
    return new BookGauges(sab);
  }

  get maxApplyLag(): number {
    return this.get(MAX_APPLY_LAG);
  }

  get walLimitBytes(): number {
    return this.get(WAL_LIMIT);
  }

  get durable(): number {
    return this.get(DURABLE);
  }

  set durable(seq: number) {
    this.set(DURABLE, seq);
  }

  get applied(): number {
    return this.get(APPLIED);
  }

  set applied(seq: number) {
    this.set(APPLIED, seq);
  }

  get walBytes(): number {
    return this.get(WAL_BYTES);
  }

  set walBytes(bytes: number) {
    this.set(WAL_BYTES, bytes);
  }

  get throttle(): Throttle {
    return this.get(THROTTLED) as Throttle;
  }

  /** Starts, changes or ends a throttled spell; the time of each ended spell is added up. */
  setThrottle(why: Throttle, now: number): void {
    const was = this.throttle;
    if (was === why) return;
    if (was === Throttle.None) this.set(THROTTLED_SINCE, now);
    else if (why === Throttle.None) this.set(THROTTLED_MS, this.get(THROTTLED_MS) + (now - this.get(THROTTLED_SINCE)));
    this.set(THROTTLED, why);
  }

  /** When the book began a cut-over that has not finished (Date.now()), else 0. */
  /** How long the book thread spent on the latest cut-over (µs): what it held up every terminal for. */
  get lastCutoverMicros(): number {
    return this.get(LAST_CUTOVER_US);
  }

  set lastCutoverMicros(us: number) {
    this.set(LAST_CUTOVER_US, us);
  }

  /** One journal fsync took `ms` (from the book asking to the book hearing it is done). */
  recordFsync(ms: number): void {
    let bucket = 0;
    while (bucket < FSYNC_BOUNDS_MS.length && ms > FSYNC_BOUNDS_MS[bucket]) bucket++;
    Atomics.add(this.cells, FSYNC_COUNTS + bucket, 1n);
    Atomics.add(this.cells, FSYNC_SUM_US, BigInt(Math.round(ms * 1000)));
  }

  /** Journal fsyncs by latency bucket (bounds FSYNC_BOUNDS_MS, then one above them) and their total time. */
  fsyncs(): { counts: number[]; sumSeconds: number } {
    const counts = Array.from({ length: FSYNC_BOUNDS_MS.length + 1 }, (_, i) => Number(Atomics.load(this.cells, FSYNC_COUNTS + i)));
    return { counts, sumSeconds: Number(Atomics.load(this.cells, FSYNC_SUM_US)) / 1e6 };
  }

  get cutoverSince(): number {
    return this.get(CUTOVER_SINCE);
  }

  set cutoverSince(at: number) {
    this.set(CUTOVER_SINCE, at);
  }

  /**
   * Whether a cut-over has run longer than its bound: then requests are answered `90` rather than
   * left waiting for a book that cannot take them.
   */
  cutoverStuck(now: number): boolean {
    const since = this.get(CUTOVER_SINCE);
    return since !== 0 && now - since > this.get(CUTOVER_STUCK_MS);
  }

  get applyTid(): number {
    return this.get(APPLY_TID);
  }

  set applyTid(tid: number) {
    this.set(APPLY_TID, tid);
  }

  set applyNice(nice: number) {
    this.set(APPLY_NICE, nice);
  }

  /** Entries the apply thread read back from the journal because the book's feed had no room for them. */
  get readBack(): number {
    return this.get(READ_BACK);
  }

  set readBack(entries: number) {
    this.set(READ_BACK, entries);
  }

  /**
   * Reads durable before applied: applied only grows, so the lag read is never more than it was
   * at any one moment.
   */
  snapshot(now = Date.now()): PressureSnapshot {
    const durableSeq = this.durable;
    const appliedSeq = this.applied;
    const throttle = this.throttle;
    return {
      applyLag: Math.max(0, durableSeq - appliedSeq),
      maxApplyLag: this.maxApplyLag,
      throttled: throttle === Throttle.ApplyLag ? 'apply-lag' : throttle === Throttle.Wal ? 'wal' : null,
      throttledMs: this.get(THROTTLED_MS) + (throttle !== Throttle.None ? now - this.get(THROTTLED_SINCE) : 0),
      walBytes: this.walBytes,
      walLimitBytes: this.walLimitBytes,
      applyNice: this.get(APPLY_NICE),
      readBack: this.readBack,
      durableSeq,
      appliedSeq,
    };
  }

  private get(cell: number): number {
    return Number(Atomics.load(this.cells, cell * STRIDE));
  }

  private set(cell: number, value: number): void {
    Atomics.store(this.cells, cell * STRIDE, BigInt(value));
  }
}

/** The calling thread's kernel task id (Linux), or 0 where there is none to find. */
export function threadId(): number {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : 0;
  } catch {
    return 0;
  }
}

/**
 * Names the calling thread for the kernel (`top -H`, `ps -L`, /proc/PID/task/TID/comm): Node leaves
 * every thread named after the process, so which thread burns the CPU is otherwise a guess. At
 * most 15 bytes; where there is no /proc it stays unnamed.
 */
export function nameThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // no /proc: a cosmetic loss only
  }
}

/** Nice value of the process's main thread. */
export function currentNice(): number {
  try {
    return Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[16]);
  } catch {
    return 0;
  }
}

/**
 * Whether a thread whose nice value was raised to 19 may be brought back to the process's own:
 * that needs CAP_SYS_NICE or an RLIMIT_NICE that allows it. Without it, lowering the apply thread's
 * priority would be for good, and a busy machine could then starve it without bound.
 */
export function canRestorePriority(): boolean {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const capEff = /CapEff:\s*([0-9a-f]+)/.exec(status);
    const CAP_SYS_NICE = 23n;
    if (capEff && (BigInt('0x' + capEff[1]) >> CAP_SYS_NICE) & 1n) return true;
    const limit = /Max nice priority\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!limit) return false;
    return limit[1] === 'unlimited' || 20 - Number(limit[1]) <= currentNice();
  } catch {
    return false;
  }
}

/** Sets a thread's nice value; false if the system refused. */
export function setThreadNice(tid: number, nice: number): boolean {
  try {
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
