import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell, Ring } from '../ring/index.js';
import { Journal, StateStore } from '../store/index.js';
import { Book } from './book.js';
import { REPLY_BYTES, unpackProposal, writeReply, type Reply } from './wire.js';

/** How often pre-auth holds past their days are looked for. */
const HOLD_SWEEP_MS = 3_600_000;

/** What the main thread hands the book thread. */
export interface BookThreadData {
  dataDir: string;
  businessDate: string;
  holdDays: number;
  bell: SharedArrayBuffer;
  workers: { proposals: SharedArrayBuffer; replies: SharedArrayBuffer; bell: SharedArrayBuffer }[];
}

/** Replies in entry order, held until the entries they answer are durable. */
class HeldReplies {
  workers: number[] = [];
  tags: number[] = [];
  bytes = Buffer.allocUnsafe(REPLY_BYTES * 256);

  get count(): number {
    return this.tags.length;
  }

  add(worker: number, tag: number, reply: Reply): void {
    const at = this.tags.length * REPLY_BYTES;
    if (at + REPLY_BYTES > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(this.bytes.length * 2);
      this.bytes.copy(bigger, 0, 0, at);
      this.bytes = bigger;
    }
    writeReply(this.bytes, reply, at);
    this.workers.push(worker);
    this.tags.push(tag);
  }

  clear(): void {
    this.workers.length = 0;
    this.tags.length = 0;
  }
}

/** One worker's rings as the book sees them, with replies a full ring refused, in order. */
interface WorkerRings {
  proposals: Ring;
  replies: Ring;
  bell: Doorbell;
  outbox: { tag: number; bytes: Buffer }[];
  /** Replies were pushed since its bell last rang. */
  touched: boolean;
}

/**
 * The book's thread: drains proposals from every worker's ring and enters them, writes each group
 * to the journal, and makes the groups durable with one fsync at a time while it goes on entering
 * the next. Replies leave only when the fsync that covers their entries has returned: that is what
 * lets workers send approvals.
 */
async function run(data: BookThreadData): Promise<void> {
  const state = new StateStore(data.dataDir);
  const journal = new Journal(data.dataDir, data.businessDate);
  const book = new Book(state, journal);
  const replayed = await book.recover(data.dataDir);
  await state.meta.put('businessDate', data.businessDate);
  const bell = Doorbell.attach(data.bell);
  const workers: WorkerRings[] = data.workers.map((w) => ({
    proposals: Ring.attach(w.proposals),
    replies: Ring.attach(w.replies),
    bell: Doorbell.attach(w.bell),
    outbox: [],
    touched: false,
  }));
  let stopping = false;
  parentPort!.on('message', (msg: { stop?: boolean }) => {
    if (msg.stop) {
      stopping = true;
      bell.ring();
    }
  });
  parentPort!.postMessage({ ready: true, replayed, appliedSeq: state.appliedSeq() });

  const reply: Reply = { seq: 0, balance: NaN, responseCode: '', authCode: '', rrn: '' };
  // Replies to entries not yet covered by an fsync (their group is still open), and to those the fsync in flight covers.
  let waiting = new HeldReplies();
  let syncing = new HeldReplies();
  let inFlight: Promise<void> | undefined;
  let current = 0;
  const onProposal = (tag: number, buf: Buffer, start: number, end: number): void => {
    const proposal = unpackProposal(buf, start, end);
    book.enter(proposal, reply);
    waiting.add(current, tag, reply);
  };
  const release = (): void => {
    deliver(workers, syncing);
    inFlight = undefined;
    bell.ring();
  };
  const startSync = (): void => {
    book.commit();
    const held = syncing;
    syncing = waiting;
    waiting = held;
    // A journal that cannot be made durable is fatal: nothing after it may be answered.
    inFlight = book.sync().then(release, fatal);
  };

  let sweptAt = 0;
  while (!stopping) {
    const seen = bell.rung;
    // The book only reads LMDB: a read snapshot kept across turns would go stale and stop LMDB from
    // reusing the pages the apply thread frees (the state file would grow with every apply).
    state.refresh();
    if (Date.now() - sweptAt > HOLD_SWEEP_MS && book.pending === 0) {
      const expired = book.expireHolds(data.businessDate, data.holdDays, Date.now());
      if (expired >= 0) sweptAt = Date.now();
    }
    let work = 0;
    for (current = 0; current < workers.length; current++) work += workers[current].proposals.drain(onProposal);
    // While an fsync is in flight the group stays open and grows: one SQLite commit per fsync.
    if (inFlight === undefined && book.pending + book.unsynced > 0) startSync();
    const blocked = flushOutboxes(workers);
    if (blocked) await new Promise((r) => setImmediate(r));
    else await bell.rest(seen, work, 1000);
  }
  for (current = 0; current < workers.length; current++) workers[current].proposals.drain(onProposal);
  while (inFlight !== undefined || book.pending + book.unsynced > 0) {
    if (inFlight !== undefined) await inFlight;
    else startSync();
  }
  flushOutboxes(workers);
  await book.close();
  journal.close();
  await state.close();
  parentPort!.postMessage({ stopped: true });
}

/** Hands durable replies to their workers' rings (what does not fit waits in the outbox, in order). */
function deliver(workers: WorkerRings[], held: HeldReplies): void {
  for (let i = 0; i < held.count; i++) {
    const w = workers[held.workers[i]];
    const at = i * REPLY_BYTES;
    if (w.outbox.length > 0 || !w.replies.push(held.tags[i], held.bytes, at, at + REPLY_BYTES)) {
      w.outbox.push({ tag: held.tags[i], bytes: Buffer.from(held.bytes.subarray(at, at + REPLY_BYTES)) });
    } else {
      w.touched = true;
    }
  }
  held.clear();
  for (const w of workers) {
    if (!w.touched) continue;
    w.touched = false;
    w.replies.flush();
    w.bell.ring();
  }
}

/** Retries replies full rings refused; true while some are still waiting. */
function flushOutboxes(workers: WorkerRings[]): boolean {
  let blocked = false;
  for (const w of workers) {
    if (w.outbox.length === 0) continue;
    let sent = 0;
    while (sent < w.outbox.length && w.replies.push(w.outbox[sent].tag, w.outbox[sent].bytes, 0, REPLY_BYTES)) sent++;
    if (sent > 0) {
      w.outbox.splice(0, sent);
      w.replies.flush();
      w.bell.ring();
    }
    if (w.outbox.length > 0) blocked = true;
  }
  return blocked;
}

function fatal(err: unknown): never {
  parentPort!.postMessage({ fatal: err instanceof Error ? err.stack : String(err) });
  process.exit(1);
}

run(workerData as BookThreadData).catch(fatal);
