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

/**
 * The book's thread: drains proposals from every worker's ring, enters them, commits the group
 * with one fsync, and only then sends the replies that let workers answer terminals.
 */
async function run(data: BookThreadData): Promise<void> {
  const state = new StateStore(data.dataDir);
  const journal = new Journal(data.dataDir, data.businessDate);
  const book = new Book(state, journal);
  const replayed = await book.recover(data.dataDir);
  await state.meta.put('businessDate', data.businessDate);
  const bell = Doorbell.attach(data.bell);
  const workers = data.workers.map((w) => ({
    proposals: Ring.attach(w.proposals),
    replies: Ring.attach(w.replies),
    bell: Doorbell.attach(w.bell),
    outbox: [] as { tag: number; bytes: Buffer }[],
    dirty: false,
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
  const staged: { worker: number; tag: number; bytes: Buffer }[] = [];
  let current = 0;
  const onProposal = (tag: number, buf: Buffer, start: number, end: number): void => {
    // msgpackr cannot decode strings straight out of SharedArrayBuffer memory: copy first.
    const proposal = unpackProposal(Buffer.from(buf.subarray(start, end)));
    book.enter(proposal, reply);
    const bytes = Buffer.allocUnsafe(REPLY_BYTES);
    writeReply(bytes, reply);
    staged.push({ worker: current, tag, bytes });
  };

  let sweptAt = 0;
  while (!stopping) {
    const seen = bell.rung;
    if (Date.now() - sweptAt > HOLD_SWEEP_MS && book.pending === 0) {
      const expired = book.expireHolds(data.businessDate, data.holdDays, Date.now());
      if (expired >= 0) sweptAt = Date.now();
    }
    for (current = 0; current < workers.length; current++) workers[current].proposals.drain(onProposal);
    if (book.pending > 0) {
      // Durable first: the replies below let workers send approvals.
      book.commit();
      for (const s of staged) workers[s.worker].outbox.push({ tag: s.tag, bytes: s.bytes });
      staged.length = 0;
    }
    let blocked = false;
    for (const w of workers) {
      let sent = 0;
      while (sent < w.outbox.length && w.replies.push(w.outbox[sent].tag, w.outbox[sent].bytes, 0, REPLY_BYTES)) sent++;
      if (sent > 0) {
        w.outbox.splice(0, sent);
        w.replies.flush();
        w.bell.ring();
      }
      if (w.outbox.length > 0) blocked = true;
    }
    if (blocked) await new Promise((r) => setImmediate(r));
    else await bell.sleep(seen, 1000);
  }
  for (current = 0; current < workers.length; current++) workers[current].proposals.drain(onProposal);
  book.commit();
  await book.settled();
  journal.close();
  await state.close();
  parentPort!.postMessage({ stopped: true });
}

run(workerData as BookThreadData).catch((err) => {
  // A journal that cannot be written is fatal: stopping is safer than answering without it.
  parentPort!.postMessage({ fatal: err instanceof Error ? err.stack : String(err) });
  process.exit(1);
});
