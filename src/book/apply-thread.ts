import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { JournalReader, StateStore, journalDates, journalDir, type JournalEntry } from '../store/index.js';
import { basename, join } from 'node:path';

/** What the book hands its apply thread. */
export interface ApplyThreadData {
  dataDir: string;
  journalPath: string;
  /** BigInt64 cell 0: highest durable journal seq. */
  durable: SharedArrayBuffer;
  intervalMs: number;
}

export type ApplyThreadMessage = { applied?: number; checkpointed?: true; fatal?: string };

/** Most entries in one LMDB transaction when catching up: a long backlog is applied in steps. */
const MAX_ENTRIES_PER_TXN = 4096;
/** Least time between two checkpoints of the journal's WAL. */
const CHECKPOINT_INTERVAL_MS = 1000;

/**
 * The apply thread: reads the entries the book has made durable back from the journal and
 * applies them to LMDB, one transaction at a time, at most one per interval while it keeps up.
 * It is the recovery replay running all day: the same entries, the same `applyEntries`. It also
 * checkpoints the journal's WAL, off the book's thread.
 */
async function run(data: ApplyThreadData): Promise<void> {
  yieldToAnsweringThreads();
  const state = new StateStore(data.dataDir);
  const journal = new DayFollower(data.dataDir, basename(data.journalPath, '.sqlite'));
  const durable = new BigInt64Array(data.durable);
  let stopping = false;
  parentPort!.on('message', (msg: { stop?: boolean }) => {
    if (msg.stop) stopping = true;
  });
  let applied = state.appliedSeq();
  let checkpointedAt = Date.now();
  for (;;) {
    const upTo = Number(Atomics.load(durable, 0));
    if (upTo > applied) {
      const entries = journal.entries(applied, upTo, MAX_ENTRIES_PER_TXN);
      if (entries.length === 0) throw new Error(`journal holds nothing after ${applied}, but the book says it is durable up to ${upTo}`);
      await state.applyEntries(entries);
      applied = entries[entries.length - 1].seq;
      parentPort!.postMessage({ applied } satisfies ApplyThreadMessage);
      if (applied < upTo) continue;
    } else if (stopping) {
      break;
    }
    if (Date.now() - checkpointedAt >= CHECKPOINT_INTERVAL_MS) {
      journal.checkpoint();
      checkpointedAt = Date.now();
      parentPort!.postMessage({ checkpointed: true } satisfies ApplyThreadMessage);
    }
    await sleep(data.intervalMs);
  }
  journal.close();
  await state.close();
  // The stop listener would keep this thread alive.
  parentPort!.close();
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
      this.reader.checkpoint();
      this.reader.close();
      this.date = next;
      this.reader = new JournalReader(join(journalDir(this.dataDir), `${next}.sqlite`));
    }
  }

  checkpoint(): void {
    this.reader.checkpoint();
  }

  close(): void {
    this.reader.close();
  }
}

/**
 * LMDB may lag; answers may not. On Linux a thread is a task with its own nice value: at the lowest
 * priority this thread takes the CPU only when the threads that answer terminals leave it, and a
 * woken answering thread preempts it at once instead of waiting out its time slice.
 */
function yieldToAnsweringThreads(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // Not Linux, or not allowed: the thread runs at normal priority.
  }
}

run(workerData as ApplyThreadData).catch((err: unknown) => {
  parentPort!.postMessage({ fatal: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies ApplyThreadMessage);
  process.exit(1);
});
