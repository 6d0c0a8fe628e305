import { REFERENCE_NOTICE, REPLY_BYTES, emptyReply, packProposal, readReply, unpackReferenceNotice, type Reply } from '../book/index.js';
import type { InlineHandler, LinkFailure } from '../channels/index.js';
import type { HostMessage } from '../codec/index.js';
import { Doorbell, Outbox, Ring } from '../ring/index.js';
import { Pipeline, type PipelineOptions } from './pipeline.js';

/** Where inline answers go: the acceptor. */
export interface AnswerSink {
  deliver(connection: number, buf: Buffer, start: number, end: number): void;
  drop(connection: number): void;
}

export interface InlineOptions extends Omit<PipelineOptions, 'respond' | 'close' | 'propose'> {
  /** The book's rings for this pipeline and the bell that wakes the book. */
  proposals: Ring;
  replies: Ring;
  bookBell: Doorbell;
}

/**
 * The pipeline on the acceptor's own thread (`--workers 0`): on a 2-core machine the acceptor and
 * the book already fill both cores, and every request saves a thread hop each way. The book is
 * still its own thread, so journal fsyncs never stop the acceptor.
 */
export class InlinePipeline implements InlineHandler {
  private readonly pipeline: Pipeline;
  private readonly options: InlineOptions;
  private sink: AnswerSink | undefined;
  private proposed = false;
  /** Proposals to the book; what a full ring refuses waits there, in order. */
  private readonly outbox: Outbox;
  private readonly reply: Reply = emptyReply();

  constructor(options: InlineOptions) {
    this.options = options;
    this.outbox = new Outbox(options.proposals, options.bookBell);
    this.pipeline = new Pipeline({
      ...options,
      respond: (connection, frame, start, end) => this.sink!.deliver(connection, frame, start, end),
      close: (connection) => this.sink!.drop(connection),
      propose: (id, proposal) => {
        // The packed bytes are a reused buffer: the outbox copies them if they must wait.
        const bytes = packProposal(proposal);
        this.outbox.send(id, bytes, 0, bytes.length);
        if (!this.proposed) {
          this.proposed = true;
          process.nextTick(this.flush);
        }
      },
    });
  }

  /** Stops what the pipeline runs on its own. */
  close(): void {
    this.pipeline.close();
  }

  /** A host link's answer for a request this pipeline forwarded. */
  hostAnswer(ticket: number, answer: HostMessage | null, failure: LinkFailure | null): void {
    this.pipeline.hostAnswer(ticket, answer, failure);
  }

  get proposalsSab(): SharedArrayBuffer {
    return this.options.proposals.sab;
  }

  get repliesSab(): SharedArrayBuffer {
    return this.options.replies.sab;
  }

  attach(sink: AnswerSink): void {
    this.sink = sink;
  }

  /** The business date the book started with (later ones come with its replies). */
  learnBusinessDate(businessDate: string): void {
    this.pipeline.services.learnDate(businessDate);
  }

  onFrame(connection: number, frame: Buffer, start: number, end: number): void {
    // What the book made durable before this frame arrived (a reference notice above all) comes first.
    this.options.replies.drain(this.onReply);
    this.pipeline.onFrame(connection, frame, start, end);
  }

  poll(): number {
    this.options.state.refresh();
    const work = this.options.replies.drain(this.onReply, 1024);
    if (this.outbox.blocked) this.flush();
    return work;
  }

  private readonly onReply = (tag: number, buf: Buffer, start: number, end: number): void => {
    if (tag === REFERENCE_NOTICE) this.pipeline.services.referenceChanged(unpackReferenceNotice(buf, start, end));
    else if (end - start === REPLY_BYTES) this.pipeline.onReply(tag, readReply(buf, start, this.reply));
  };

  /** One flush and one wake-up of the book per tick, however many proposals it carried. */
  private readonly flush = (): void => {
    this.proposed = false;
    this.outbox.flush();
  };
}
