import pino from 'pino';
import { REPLY_BYTES, packProposal, readReply, type Proposal, type Reply } from '../book/index.js';
import { Doorbell, Ring } from '../ring/index.js';
import { SecurityModule, loadLmk, type LmkSource } from '../security/index.js';
import { StateStore } from '../store/index.js';
import { Pipeline } from './pipeline.js';

/** What the acceptor hands each worker's long-lived task. */
export interface WorkerData {
  index: number;
  /** Bumped when a worker is replaced, so replies meant for its predecessor are ignored. */
  generation: number;
  dataDir: string;
  lmk: LmkSource;
  businessDate: string;
  acquirerId: string;
  refundWindowDays: number;
  holdDays: number;
  keyRotationHours: number;
  logLevel: string;
  frames: SharedArrayBuffer;
  responses: SharedArrayBuffer;
  proposals: SharedArrayBuffer;
  replies: SharedArrayBuffer;
  bell: SharedArrayBuffer;
  acceptorBell: SharedArrayBuffer;
  bookBell: SharedArrayBuffer;
  /** Int32 cell 0: set to 1 to stop the loop. */
  control: SharedArrayBuffer;
}

/** Tags on the book rings carry the worker generation in the top byte and the context id below. */
const ID_BITS = 24;
const ID_MASK = (1 << ID_BITS) - 1;

/**
 * The worker's one long-lived task (hosted by Piscina): drains frames from the acceptor and
 * replies from the book, runs the pipeline, and pushes responses and proposals back, waking each
 * peer once per burst.
 */
export default async function serve(data: WorkerData): Promise<void> {
  const log = pino({ level: data.logLevel, base: { worker: data.index } }, pino.destination({ fd: 1, sync: false }));
  const state = new StateStore(data.dataDir);
  const hsm = new SecurityModule(loadLmk(data.lmk));
  const frames = Ring.attach(data.frames);
  const responses = Ring.attach(data.responses);
  const proposals = Ring.attach(data.proposals);
  const replies = Ring.attach(data.replies);
  const bell = Doorbell.attach(data.bell);
  const acceptorBell = Doorbell.attach(data.acceptorBell);
  const bookBell = Doorbell.attach(data.bookBell);
  const control = new Int32Array(data.control);
  const generation = data.generation << ID_BITS;

  // Messages a full ring refused, kept in order until it has room.
  const pendingResponses: { tag: number; bytes: Buffer }[] = [];
  const pendingProposals: { tag: number; bytes: Buffer }[] = [];
  let responded = false;
  let proposed = false;

  const pipeline = new Pipeline({
    state,
    hsm,
    businessDate: data.businessDate,
    acquirerId: data.acquirerId,
    refundWindowDays: data.refundWindowDays,
    holdDays: data.holdDays,
    keyRotationHours: data.keyRotationHours,
    log,
    respond(connection, frame, start, end) {
      if (pendingResponses.length > 0 || !responses.push(connection, frame, start, end)) {
        pendingResponses.push({ tag: connection, bytes: Buffer.from(frame.subarray(start, end)) });
      }
      responded = true;
    },
    close(connection) {
      if (pendingResponses.length > 0 || !responses.push(connection, EMPTY, 0, 0)) pendingResponses.push({ tag: connection, bytes: EMPTY });
      responded = true;
    },
    propose(id, proposal: Proposal) {
      const bytes = packProposal(proposal);
      if (pendingProposals.length > 0 || !proposals.push(generation | id, bytes, 0, bytes.length)) {
        // The packed bytes are a reused buffer: what waits for room needs its own copy.
        pendingProposals.push({ tag: generation | id, bytes: Buffer.from(bytes) });
      }
      proposed = true;
    },
  });

  const reply: Reply = { seq: 0, balance: NaN, responseCode: '', authCode: '', rrn: '' };
  const onFrame = (tag: number, buf: Buffer, start: number, end: number): void => pipeline.onFrame(tag, buf, start, end);
  const onReply = (tag: number, buf: Buffer, start: number, end: number): void => {
    if ((tag & ~ID_MASK) !== generation || end - start !== REPLY_BYTES) return;
    pipeline.onReply(tag & ID_MASK, readReply(buf, start, reply));
  };

  /** Makes what this turn produced visible to the acceptor and the book, waking whichever sleeps. */
  const publish = (): void => {
    retry(pendingResponses, responses);
    retry(pendingProposals, proposals);
    if (responded) {
      responses.flush();
      acceptorBell.ring();
      responded = false;
    }
    if (proposed) {
      proposals.flush();
      bookBell.ring();
      proposed = false;
    }
  };

  log.info({ generation: data.generation }, 'worker serving');
  while (Atomics.load(control, 0) === 0) {
    const seen = bell.rung;
    state.refresh();
    // Small slices, each published at once: the book enters this slice's proposals and the
    // acceptor writes its answers while the next slice runs, instead of every thread waiting for
    // the others' whole burst.
    let work = 0;
    for (let slice = 0; slice < SLICES_PER_TURN; slice++) {
      const done = frames.drain(onFrame, SLICE) + replies.drain(onReply, SLICE);
      publish();
      work += done;
      if (done === 0) break;
    }
    // Either way the event loop gets a turn (log writes, timers).
    await bell.rest(seen, work, pendingResponses.length + pendingProposals.length > 0 ? 1 : 1000);
  }
  await state.close();
  log.info('worker stopped');
}

const EMPTY = Buffer.alloc(0);
/** Frames (and replies) per slice, and slices before the event loop gets a turn. */
const SLICE = 16;
const SLICES_PER_TURN = 16;

function retry(pending: { tag: number; bytes: Buffer }[], ring: Ring): void {
  let sent = 0;
  while (sent < pending.length && ring.push(pending[sent].tag, pending[sent].bytes, 0, pending[sent].bytes.length)) sent++;
  if (sent > 0) pending.splice(0, sent);
}
