import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell, Ring } from '../ring/index.js';
import { BinaryReader, JournalReader, StateStore, journalDates, journalDir, readEntry, type JournalEntry } from '../store/index.js';
import { basename, join } from 'node:path';
import { BookGauges, Throttle, nameThread, threadId } from './pressure.js';

/** What the book hands its apply thread. */
export interface ApplyThreadData {
  dataDir: string;
  journalPath: string;
  /** The book's gauges: durable seq and throttling written by the book, applied seq by this thread. */
  gauges: SharedArrayBuffer;
  /** Rung by the book when it starts holding terminals back: the thread stops resting at once. */
  bell: SharedArrayBuffer;
  /** The ring the book hands committed entries over in (src/book/applier.ts). */
  feed: SharedArrayBuffer;
  intervalMs: number;
}

export type ApplyThreadMessage = { applied?: number; checkpointed?: true; started?: true; fatal?: string };

/** Most entries in one LMDB transaction when catching up: a long backlog is applied in steps. */
const MAX_ENTRIES_PER_TXN = 4096;
/** Least time between two checkpoints of the journal's WAL while it is small. */
const CHECKPOINT_INTERVAL_MS = 1000;
/** How long the thread rests while the book holds terminals back for it: it applies at once instead. */
const HURRIED_INTERVAL_MS = 1;

/**
 * The apply thread: takes the entries the book has made durable from the book's feed (reading
 * back from the journal only those the feed had no room for) and applies them to LMDB, one
 * transaction at a time, at most one per interval while it keeps up. It is the recovery replay
 * running all day: the same entries, the same `applyEntries`. It also
 * checkpoints the journal's WAL, off the book's thread: every second, and as soon as it can while
 * the WAL is past a quarter of its limit.
 */
async function run(data: ApplyThreadData): Promise<void> {
  const gauges = BookGauges.attach(data.gauges);
  const bell = Doorbell.attach(data.bell);
  nameThread('posp-apply');
  // The book steers this thread's priority by its kernel task id.
  gauges.applyTid = threadId();
  parentPort!.postMessage({ started: true } satisfies ApplyThreadMessage);
  const state = new StateStore(data.dataDir);
  const durable = new DurableEntries(Ring.attach(data.feed), new DayFollower(data.dataDir, basename(data.journalPath, '.sqlite')), gauges);
  let stopping = false;
  parentPort!.on('message', (msg: { stop?: boolean }) => {
    if (msg.stop) {
      stopping = true;
      bell.ring();
    }
  });
  let applied = state.appliedSeq();
  gauges.applied = applied;
  let checkpointedAt = Date.now();
  for (;;) {
    const seen = bell.rung;
    const upTo = gauges.durable;
    if (upTo > applied) {
      const entries = durable.entries(applied, upTo, MAX_ENTRIES_PER_TXN);
      if (entries.length === 0) throw new Error(`journal holds nothing after ${applied}, but the book says it is durable up to ${upTo}`);
      await state.applyEntries(entries);
      applied = entries[entries.length - 1].seq;
      gauges.applied = applied;
      parentPort!.postMessage({ applied } satisfies ApplyThreadMessage);
      if (applied < upTo) continue;
    }
    // The book asks to stop after its last fsync: read after the request, `durable` is final.
    if (stopping && applied >= gauges.durable) break;
    const throttle = gauges.throttle;
    if (Date.now() - checkpointedAt >= CHECKPOINT_INTERVAL_MS || gauges.walBytes >= gauges.walLimitBytes / 4 || throttle === Throttle.Wal) {
      durable.checkpoint();
      checkpointedAt = Date.now();
      parentPort!.postMessage({ checkpointed: true } satisfies ApplyThreadMessage);
    }
    await bell.sleep(seen, throttle === Throttle.None ? data.intervalMs : HURRIED_INTERVAL_MS);
  }
  durable.close();
  await state.close();
  // The stop listener would keep this thread alive.
  parentPort!.close();
}

/**
 * The durable entries in seq order: from the book's feed, and from the journal for a gap the feed
 * left (entries it had no room for). Seqs are consecutive, so a gap shows as the feed's next
 * entry being past the one wanted; the entries read back to fill it are then dropped from the
 * feed when it gets to them.
 */
class DurableEntries {
  private batch: JournalEntry[] = [];
  private wanted = 0;
  private upTo = 0;
  private limit = 0;
  /** The last seq of the gap being read from the journal. */
  private gapEnd = 0;

  constructor(
    private readonly feed: Ring,
    private readonly journal: DayFollower,
    private readonly gauges: BookGauges,
  ) {}

  /** Up to `limit` entries after `after` and up to `upTo`, oldest first. */
  entries(after: number, upTo: number, limit: number): JournalEntry[] {
    this.batch = [];
    this.wanted = after + 1;
    this.upTo = upTo;
    this.limit = limit;
    this.gapEnd = upTo;
    this.feed.drain(this.take);
    const batch = this.batch;
    if (batch.length > 0) {
      // The journal reader follows the entries onto the day file they are in, to checkpoint it.
      this.journal.follow(batch[batch.length - 1].businessDate);
      return batch;
    }
    const read = this.journal.entries(after, this.gapEnd, limit);
    this.gauges.readBack += read.length;
    return read;
  }

  private readonly take = (_tag: number, buf: Buffer, start: number, end: number): boolean => {
    const seq = buf.readDoubleLE(start);
    // Read back from the journal while the feed lacked the ones before it.
    if (seq < this.wanted) return true;
    if (seq > this.wanted) {
      this.gapEnd = Math.min(this.upTo, seq - 1);
      return false;
    }
    if (seq > this.upTo || this.batch.length >= this.limit) return false;
    this.batch.push(readEntry(new BinaryReader(buf, start, end)));
    this.wanted++;
    return true;
  };

  checkpoint(): void {
    this.journal.checkpoint();
  }

  close(): void {
    this.journal.close();
  }
}

/**
 * The journal as one sequence across day files: entries are read from the current day's file, and
 * when it holds nothing more that is durable the next day's file is where the book went on (it
 * changes days only between two groups, so a day's entries are all before the next day's).
 */
class DayFollower {
  private date: string;
  private reader: JournalReader;

  constructor(
    private readonly dataDir: string,
    date: string,
  ) {
    this.date = date;
    this.reader = new JournalReader(join(journalDir(dataDir), `${date}.sqlite`));
  }

  entries(after: number, upTo: number, limit: number): JournalEntry[] {
    for (;;) {
      const entries = this.reader.entries(after, upTo, limit);
      if (entries.length > 0) return entries;
      const next = journalDates(this.dataDir).find((d) => d > this.date);
      if (next === undefined) return entries;
      this.open(next);
    }
  }

  /** Moves on to a later day's file once entries of that day have been applied from the feed. */
  follow(date: string): void {
    if (date > this.date) this.open(date);
  }

  private open(date: string): void {
    this.reader.checkpoint();
    this.reader.close();
    this.date = date;
    this.reader = new JournalReader(join(journalDir(this.dataDir), `${date}.sqlite`));
  }

  checkpoint(): void {
    this.reader.checkpoint();
  }

  close(): void {
    this.reader.close();
  }
}

run(workerData as ApplyThreadData).catch((err: unknown) => {
  parentPort!.postMessage({ fatal: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies ApplyThreadMessage);
  process.exit(1);
});
