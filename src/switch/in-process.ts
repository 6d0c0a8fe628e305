import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { Book, emptyReply, packProposal, unpackProposal, type ControlChange, type ControlResult, type Proposal } from '../book/index.js';
import type { FrameTransport } from '../loadgen/index.js';
import { Pipeline, type Step } from '../pipeline/index.js';
import { SecurityModule, loadLmk } from '../security/index.js';
import { StateStore, seedDemo, type JournalEntry } from '../store/index.js';
import { localDate } from '../txn/index.js';
import { DEFAULTS } from './config.js';

export interface InProcessOptions {
  dataDir: string;
  /** Seed the demo set-up (merchant, terminals, cards) on first use. */
  demo?: boolean;
  /** Demo cards to seed (default all 100,000; tests that use a few save the time). */
  demoCards?: number;
  /** The business date of a first start (default: today). */
  businessDate?: string;
  /** Processing steps in place of the switch's own (tests add steps that wait). */
  steps?: readonly Step[];
  log?: Logger;
}

/** A frame's answer: the response frame (with its length prefix), or `undefined` when the switch dropped the connection. */
export type Answer = Buffer | undefined;

/**
 * The switch's pipeline and book on one thread, over real LMDB and a real SQLite journal, with no
 * sockets, rings or threads: `inject(frame)` resolves with the answer once the book has made its
 * entry durable, exactly as the terminal channel would send it. Proposals still cross in their
 * ring layout. Every step is driven by the calls themselves, so a test never sleeps.
 */
export class InProcessSwitch implements FrameTransport {
  readonly dataDir: string;
  readonly state: StateStore;
  private readonly pipeline: Pipeline;
  private readonly book: Book;
  private nextConnection = 1;
  private readonly answers = new Map<number, { resolve: (answer: Answer) => void; reject: (err: Error) => void }>();
  private closing: Promise<void> | undefined;
  /** Why the book stopped (a journal that could not be made durable): every later request fails with it. */
  private failure: Error | undefined;
  private readonly proposals: { id: number; bytes: Buffer }[] = [];
  private driving: Promise<void> | undefined;
  /** Entries made durable so far, in order (what the book's event feed carries). */
  readonly durable: JournalEntry[] = [];

  private constructor(dataDir: string, state: StateStore, book: Book, hsm: SecurityModule, options: InProcessOptions) {
    this.dataDir = dataDir;
    this.state = state;
    this.book = book;
    this.pipeline = new Pipeline({
      ...DEFAULTS,
      state,
      hsm,
      businessDate: book.businessDate,
      log: options.log ?? pino({ level: 'silent' }),
      steps: options.steps,
      respond: (connection, frame, start, end) => this.settle(connection, Buffer.from(frame.subarray(start, end))),
      close: (connection) => this.settle(connection, undefined),
      propose: (id, proposal) => this.propose(id, proposal),
    });
  }

  static async open(options: InProcessOptions): Promise<InProcessSwitch> {
    mkdirSync(options.dataDir, { recursive: true });
    const hsm = new SecurityModule(loadLmk({ file: join(options.dataDir, 'lmk.key') }));
    const state = new StateStore(options.dataDir);
    if (options.demo) await seedDemo(state, hsm, options.demoCards);
    const book = new Book(state, options.dataDir, { businessDate: options.businessDate ?? localDate(new Date()), holdDays: DEFAULTS.holdDays, applyInline: true });
    await book.recover();
    return new InProcessSwitch(options.dataDir, state, book, hsm, options);
  }

  get businessDate(): string {
    return this.book.businessDate;
  }

  /** Sends one request frame (with its 2-byte length, as on the wire) and resolves with the answer. */
  inject(frame: Buffer): Promise<Answer> {
    if (this.failure) return Promise.reject(this.failure);
    const connection = this.nextConnection++;
    const answer = new Promise<Answer>((resolve, reject) => this.answers.set(connection, { resolve, reject }));
    this.pipeline.onFrame(connection, frame, 2, frame.length);
    this.drive();
    return answer;
  }

  exchange(frame: Buffer): Promise<Answer> {
    return this.inject(frame);
  }

  /** A change through the book's control channel; resolves once its entry is durable. */
  async control(change: ControlChange): Promise<ControlResult> {
    await this.driving;
    if (this.failure) throw this.failure;
    const result = this.book.control(change, Date.now());
    this.drive();
    await this.driving;
    if (this.failure) throw this.failure;
    return result;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.driving;
      await this.book.close();
      await this.state.close();
    })();
    return this.closing;
  }

  private propose(id: number, proposal: Proposal): void {
    this.proposals.push({ id, bytes: Buffer.from(packProposal(proposal)) });
    this.drive();
  }

  private settle(connection: number, answer: Answer): void {
    const waiter = this.answers.get(connection);
    this.answers.delete(connection);
    waiter?.resolve(answer);
  }

  /** Runs the book until nothing is left to enter: each round is one group, one fsync. */
  private drive(): void {
    if (this.driving === undefined && this.proposals.length + this.book.pending > 0) this.driving = this.rounds().catch((err: unknown) => this.fail(err));
  }

  /** The journal failed: nothing more can be answered, and every request waiting learns why. */
  private fail(err: unknown): void {
    this.failure = err instanceof Error ? err : new Error(String(err));
    for (const waiter of this.answers.values()) waiter.reject(this.failure);
    this.answers.clear();
  }

  private async rounds(): Promise<void> {
    const reply = emptyReply();
    try {
      while (this.proposals.length + this.book.pending > 0) {
        // As a worker does each turn: reads see what LMDB has applied since.
        this.state.refresh();
        const replies = this.proposals.splice(0).map((p) => {
          this.book.enter(unpackProposal(p.bytes), reply);
          return { id: p.id, reply: { ...reply } };
        });
        this.book.commit();
        const entries = await this.book.sync();
        for (const entry of entries) {
          this.durable.push(entry);
          if (entry.effects.reference) this.pipeline.services.referenceChanged(entry.effects.reference);
        }
        for (const r of replies) this.pipeline.onReply(r.id, r.reply);
      }
    } finally {
      // In the same turn as the last check: a proposal made after it starts a new drive.
      this.driving = undefined;
    }
  }
}
