import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell, Outbox, Ring } from '../ring/index.js';
import { StateStore, type JournalEntry, type ReferenceChange } from '../store/index.js';
import { Book, type ControlChange, type ControlResult } from './book.js';
import { FeedWriter } from './feed.js';
import { BookGauges, Throttle, nameThread } from './pressure.js';
import { REFERENCE_NOTICE, REPLY_BYTES, emptyReply, packReferenceNotice, unpackProposal, writeReply, type Reply } from './wire.js';

/** How often pre-auth holds past their days are looked for. */
const HOLD_SWEEP_MS = 3_600_000;
/** How long a throttled book rests before it looks again at what LMDB and the WAL have caught up. */
const THROTTLED_REST_MS = 2;

/** What the main thread hands the book thread. */
export interface BookThreadData {
  dataDir: string;
  /** The business date of a first start; afterwards the book's own (the newest day's journal). */
  businessDate: string;
  holdDays: number;
  applyIntervalMs: number;
  /** The book's pressure gauges (`BookGauges`, which also carry its bounds), read by the admin API. */
  gauges: SharedArrayBuffer;
  bell: SharedArrayBuffer;
  /** The event feed's ring: a summary of every durable entry. */
  feed: SharedArrayBuffer;
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

/** One worker's rings as the book sees them: its replies go out through an outbox that keeps what a full ring refused, in order. */
interface WorkerRings {
  proposals: Ring;
  replies: Outbox;
}

/**
 * The book's thread: drains proposals from every worker's ring and enters them, writes each group
 * to the journal, and makes the groups durable with one fsync at a time while it goes on entering
 * the next. Replies leave only when the fsync that covers their entries has returned: that is what
 * lets workers send approvals.
 */
async function run(data: BookThreadData): Promise<void> {
  nameThread('posp-book');
  const state = new StateStore(data.dataDir);
  const gauges = BookGauges.attach(data.gauges);
  const book = new Book(state, data.dataDir, {
    businessDate: data.businessDate,
    holdDays: data.holdDays,
    maxApplyLag: gauges.maxApplyLag,
    walLimitBytes: gauges.walLimitBytes,
    applyIntervalMs: data.applyIntervalMs,
    gauges,
  });
  const replayed = await book.recover();
  const feed = new FeedWriter(data.feed);
  const bell = Doorbell.attach(data.bell);
  const workers: WorkerRings[] = data.workers.map((w) => ({
    proposals: Ring.attach(w.proposals),
    replies: new Outbox(Ring.attach(w.replies), Doorbell.attach(w.bell)),
  }));
  let stopping = false;
  // Control changes wait for the turn's start (between two groups); each is answered once its entry is durable.
  const controls: { id: number; change: ControlChange }[] = [];
  let acks: { id: number; result: ControlResult & { seq: number } }[] = [];
  parentPort!.on('message', (msg: { stop?: boolean; control?: number; change?: ControlChange }) => {
    if (msg.stop) stopping = true;
    if (msg.control !== undefined) controls.push({ id: msg.control, change: msg.change! });
    bell.ring();
  });
  parentPort!.postMessage({ ready: true, replayed, appliedSeq: state.appliedSeq(), businessDate: book.businessDate });

  const reply = emptyReply();
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
  let syncStarted = 0;
  const release = (entries: readonly JournalEntry[]): void => {
    gauges.recordFsync(performance.now() - syncStarted);
    deliver(workers, syncing);
    for (const entry of entries) if (entry.effects.reference) notify(workers, entry.effects.reference);
    feed.publish(entries);
    acknowledge();
    inFlight = undefined;
    bell.ring();
  };
  /** Answers the control changes whose entries are durable. */
  const acknowledge = (): void => {
    if (acks.length === 0) return;
    acks = acks.filter((a) => {
      if (a.result.seq > book.durable) return true;
      parentPort!.postMessage({ control: a.id, result: a.result, businessDate: book.businessDate });
      return false;
    });
  };
  const startSync = (): void => {
    book.commit();
    const held = syncing;
    syncing = waiting;
    waiting = held;
    // A journal that cannot be made durable is fatal: nothing after it may be answered.
    syncStarted = performance.now();
    inFlight = book.sync().then(release, fatal);
  };
  let sweptAt = 0;
  let first = 0;
  const applyControls = (): void => {
    let kept = 0;
    for (const control of controls) {
      // A hold sweep reads LMDB: it waits (a turn or a few) until LMDB has applied every entry.
      if (control.change.kind === 'hold-sweep' && !book.caughtUp) {
        controls[kept++] = control;
        continue;
      }
      const result = book.control(control.change, Date.now());
      if ('refused' in result) parentPort!.postMessage({ control: control.id, result });
      else acks.push({ id: control.id, result });
      // A new day: look for holds past their days at once.
      if (control.change.kind === 'business-date' && !('refused' in result)) sweptAt = 0;
    }
    controls.length = kept;
    // A sweep that released nothing wrote nothing: its answer need not wait for an fsync.
    acknowledge();
  };

  while (!stopping) {
    const seen = bell.rung;
    // The book only reads LMDB: a read snapshot kept across turns would go stale and stop LMDB from
    // reusing the pages the apply thread frees (the state file would grow with every apply).
    state.refresh();
    if (controls.length > 0) applyControls();
    if (Date.now() - sweptAt > HOLD_SWEEP_MS && book.pending === 0) {
      const expired = book.expireHolds(Date.now());
      if (expired >= 0) sweptAt = Date.now();
    }
    // Back-pressure: no more proposals than keep LMDB and the WAL within their bounds. What is not
    // admitted waits in the workers' rings, and terminals wait for their answers.
    let room = book.admissible;
    let work = 0;
    for (let k = 0; k < workers.length && room > 0; k++) {
      // Each turn starts at the next worker, so a short allowance is shared among them.
      current = (first + k) % workers.length;
      const drained = workers[current].proposals.drain(onProposal, room);
      work += drained;
      room -= drained;
    }
    first = (first + 1) % workers.length;
    const throttle = room > 0 || !workers.some((w) => w.proposals.hasData) ? Throttle.None : book.throttle;
    if (throttle !== gauges.throttle) gauges.setThrottle(throttle, Date.now());
    if (throttle !== Throttle.None) book.relieve();
    // While an fsync is in flight the group stays open and grows: one SQLite commit per fsync.
    if (inFlight === undefined && book.pending + book.unsynced > 0) startSync();
    const blocked = flushOutboxes(workers);
    if (blocked) await new Promise((r) => setImmediate(r));
    else await bell.rest(seen, work, throttle === Throttle.None ? 1000 : THROTTLED_REST_MS);
  }
  for (current = 0; current < workers.length; current++) workers[current].proposals.drain(onProposal);
  while (inFlight !== undefined || book.pending + book.unsynced > 0) {
    if (inFlight !== undefined) await inFlight;
    else startSync();
  }
  flushOutboxes(workers);
  await book.close();
  await state.close();
  parentPort!.postMessage({ stopped: true });
}

/**
 * Hands durable replies to their workers' rings, one flush and one wake-up per worker that got
 * some (what does not fit waits in its outbox, copied: the held bytes are reused).
 */
function deliver(workers: WorkerRings[], held: HeldReplies): void {
  for (let i = 0; i < held.count; i++) {
    const at = i * REPLY_BYTES;
    workers[held.workers[i]].replies.send(held.tags[i], held.bytes, at, at + REPLY_BYTES);
  }
  held.clear();
  for (const w of workers) w.replies.publish();
}

/** Tells every worker of a durable reference change, behind the replies already sent. */
function notify(workers: WorkerRings[], change: ReferenceChange): void {
  const bytes = packReferenceNotice(change);
  for (const w of workers) {
    w.replies.send(REFERENCE_NOTICE, bytes, 0, bytes.length);
    w.replies.publish();
  }
}

/** Retries replies full rings refused; true while some are still waiting. */
function flushOutboxes(workers: WorkerRings[]): boolean {
  let blocked = false;
  for (const w of workers) if (w.replies.flush()) blocked = true;
  return blocked;
}

function fatal(err: unknown): never {
  parentPort!.postMessage({ fatal: err instanceof Error ? err.stack : String(err) });
  process.exit(1);
}

run(workerData as BookThreadData).catch(fatal);
