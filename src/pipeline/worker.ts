import { threadLog } from '../switch/log.js';
import { BookGauges, nameThread, REFERENCE_NOTICE, REPLY_BYTES, emptyReply, packProposal, readReply, unpackReferenceNotice, type Proposal } from '../book/index.js';
import { HostLinks, type LinkConfig } from '../channels/index.js';
import { Doorbell, Outbox, Ring } from '../ring/index.js';
import { LmkGeneration, SecurityModule, loadLmk, type LmkSource } from '../security/index.js';
import { StateStore } from '../store/index.js';
import { Pipeline } from './pipeline.js';

/** What the acceptor hands each worker's long-lived task. */
export interface WorkerData {
  index: number;
  /** Bumped when a worker is replaced, so replies meant for its predecessor are ignored. */
  generation: number;
  dataDir: string;
  lmk: LmkSource;
  /** Bumped when an LMK rotation has changed the LMK files: the worker then loads them again (`LmkGeneration`). */
  lmkGeneration: SharedArrayBuffer;
  businessDate: string;
  acquirerId: string;
  refundWindowDays: number;
  holdDays: number;
  keyRotationHours: number;
  logLevel: string;
  logFile: string;
  frames: SharedArrayBuffer;
  responses: SharedArrayBuffer;
  proposals: SharedArrayBuffer;
  replies: SharedArrayBuffer;
  bell: SharedArrayBuffer;
  acceptorBell: SharedArrayBuffer;
  bookBell: SharedArrayBuffer;
  /** Int32 cell 0: set to 1 to stop the loop. */
  control: SharedArrayBuffer;
  /** Hosts this worker keeps a link to, and the zone master key their zone keys come under. */
  links: LinkConfig[];
  zmk: string;
  /** How often a link that is up renews its zone keys (0: only at sign-on). */
  keyExchangeMs: number;
  /** The book's gauges (a stuck cut-over is answered `90`). */
  gauges: SharedArrayBuffer;
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
  nameThread(`posp-worker-${data.index}`);
  const log = threadLog(data.logLevel, data.logFile, { sync: false, base: { worker: data.index } });
  const state = new StateStore(data.dataDir);
  // The generation is read before the files: what this worker then says it holds, it holds.
  const lmkGeneration = LmkGeneration.attach(data.lmkGeneration);
  let lmkHeld = lmkGeneration.current;
  const lmk = loadLmk(data.lmk);
  lmkGeneration.hold(data.index, lmkHeld);
  const hsm = new SecurityModule(lmk);
  const frames = Ring.attach(data.frames);
  // Responses to the acceptor and proposals to the book; what a full ring refuses waits, in order.
  const responses = new Outbox(Ring.attach(data.responses), Doorbell.attach(data.acceptorBell));
  const proposals = new Outbox(Ring.attach(data.proposals), Doorbell.attach(data.bookBell));
  const replies = Ring.attach(data.replies);
  const bell = Doorbell.attach(data.bell);
  const control = new Int32Array(data.control);
  const generation = data.generation << ID_BITS;
  const hosts = data.links.length === 0 ? undefined : new HostLinks(data.links, { acquirerId: data.acquirerId, hsm, zmk: hsm.importKey(data.zmk), keyExchangeMs: data.keyExchangeMs, log });

  // Work done outside the drain loop (a waiting step answered by a timer or a host link) is
  // published at the end of its own event-loop turn: the loop may be resting for a while.
  let draining = false;
  let publishQueued = false;
  const publishLater = (): void => {
    if (draining || publishQueued) return;
    publishQueued = true;
    queueMicrotask(() => {
      publishQueued = false;
      publish();
    });
  };

  const pipeline = new Pipeline({
    state,
    hsm,
    businessDate: data.businessDate,
    acquirerId: data.acquirerId,
    refundWindowDays: data.refundWindowDays,
    holdDays: data.holdDays,
    keyRotationHours: data.keyRotationHours,
    log,
    hosts,
    sendsAdvices: data.index === 0,
    gauges: BookGauges.attach(data.gauges),
    respond(connection, frame, start, end) {
      responses.send(connection, frame, start, end);
      publishLater();
    },
    close(connection) {
      // An empty response: the acceptor closes the connection.
      responses.send(connection, EMPTY, 0, 0);
      publishLater();
    },
    propose(id, proposal: Proposal) {
      // The packed bytes are a reused buffer: the outbox copies them if they must wait.
      const bytes = packProposal(proposal);
      proposals.send(generation | id, bytes, 0, bytes.length);
      publishLater();
    },
  });

  if (hosts) hosts.onAnswer = (ticket, answer, failure) => pipeline.hostAnswer(ticket, answer, failure);

  const reply = emptyReply();
  const onFrame = (tag: number, buf: Buffer, start: number, end: number): void => {
    // What the book made durable before this frame was sent (a reference notice above all) is
    // taken in first: a terminal suspended and acknowledged is refused on its very next request.
    replies.drain(onReply);
    pipeline.onFrame(tag, buf, start, end);
  };
  const onReply = (tag: number, buf: Buffer, start: number, end: number): void => {
    if (tag === REFERENCE_NOTICE) return pipeline.services.referenceChanged(unpackReferenceNotice(buf, start, end));
    if ((tag & ~ID_MASK) !== generation || end - start !== REPLY_BYTES) return;
    pipeline.onReply(tag & ID_MASK, readReply(buf, start, reply));
  };

  /** Makes what this turn produced visible to the acceptor and the book, waking whichever sleeps. */
  const publish = (): void => {
    responses.flush();
    proposals.flush();
  };

  log.info({ generation: data.generation }, 'worker serving');
  while (Atomics.load(control, 0) === 0) {
    const seen = bell.rung;
    state.refresh();
    if (lmkGeneration.current !== lmkHeld) {
      // An LMK rotation: wrap under the new LMK from now on, still unwrap what was wrapped under the old.
      lmkHeld = lmkGeneration.current;
      lmk.adopt(loadLmk(data.lmk));
      lmkGeneration.hold(data.index, lmkHeld);
      log.info({ lmk: lmk.checkValue }, 'took the rotated LMK');
    }
    // Small slices, each published at once: the book enters this slice's proposals and the
    // acceptor writes its answers while the next slice runs, instead of every thread waiting for
    // the others' whole burst.
    let work = 0;
    draining = true;
    for (let slice = 0; slice < SLICES_PER_TURN; slice++) {
      const done = frames.drain(onFrame, SLICE) + replies.drain(onReply, SLICE);
      publish();
      work += done;
      if (done === 0) break;
    }
    draining = false;
    // Either way the event loop gets a turn (log writes, timers).
    await bell.rest(seen, work, responses.blocked || proposals.blocked ? 1 : 1000);
  }
  pipeline.close();
  hosts?.close();
  await state.close();
  log.info('worker stopped');
}

const EMPTY = Buffer.alloc(0);
/** Frames (and replies) per slice, and slices before the event loop gets a turn. */
const SLICE = 16;
const SLICES_PER_TURN = 16;
