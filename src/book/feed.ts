import { Ring } from '../ring/index.js';
import { BinaryReader, BinaryWriter, type JournalEntry } from '../store/index.js';

/**
 * One durable journal entry as the operations plane sees it: what happened, to whom, how fast, and
 * nothing a log or a screen may not show (the card only masked, first 6 and last 4; no keys; no
 * card token).
 */
export interface EntrySummary {
  seq: number;
  /** Epoch milliseconds when the request arrived. */
  at: number;
  businessDate: string;
  type: string;
  responseCode: string;
  amount: number;
  latencyUs: number;
  route: string;
  mid: string;
  tid: string;
  /** The card, first 6 and last 4 digits (the live tail shows it); '' for entries without one. */
  panMasked: string;
}

const writer = new BinaryWriter(256);

/**
 * The book's end of the event feed: after each fsync, one summary per durable entry into a ring
 * that the main thread drains. A feed nobody drains fills up; then summaries are dropped and
 * counted, and the book never waits for its readers.
 */
export class FeedWriter {
  private readonly ring: Ring;
  /** Summaries a full ring refused. */
  dropped = 0;

  constructor(sab: SharedArrayBuffer) {
    this.ring = Ring.attach(sab);
  }

  publish(entries: readonly JournalEntry[]): void {
    let pushed = false;
    for (const e of entries) {
      const w = writer.reset();
      w.f64(e.seq);
      w.f64(e.at);
      w.str(e.businessDate);
      w.str(e.type);
      w.str(e.responseCode);
      w.f64(e.amount);
      w.f64(e.latencyUs);
      w.str(e.route);
      w.str(e.mid);
      w.str(e.tid);
      w.str(e.panMasked);
      if (this.ring.push(0, w.buf, 0, w.pos)) pushed = true;
      else this.dropped++;
    }
    if (pushed) this.ring.flush();
  }
}

/**
 * The main thread's end: drains the feed a few times a second and hands every summary, in journal
 * order, to each subscriber (the live monitor and metrics). With no subscriber it only notes how
 * far the journal is: nothing is decoded for nobody.
 */
export class EventFeed {
  static create(bytes = 1 << 20): { feed: EventFeed; sab: SharedArrayBuffer } {
    const ring = Ring.create(bytes);
    return { feed: new EventFeed(ring), sab: ring.sab };
  }

  private readonly subscribers: ((s: EntrySummary) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Seq of the newest durable entry the feed has carried. */
  lastSeq = 0;

  private constructor(private readonly ring: Ring) {}

  subscribe(fn: (s: EntrySummary) => void): () => void {
    this.subscribers.push(fn);
    return () => {
      const i = this.subscribers.indexOf(fn);
      if (i >= 0) this.subscribers.splice(i, 1);
    };
  }

  /** Starts draining every `intervalMs`. */
  start(intervalMs = 100): void {
    this.timer ??= setInterval(() => this.poll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.poll();
  }

  /** Drains what the book has published; returns how many summaries it read. */
  poll(): number {
    return this.ring.drain(this.onSummary);
  }

  private readonly onSummary = (_tag: number, buf: Buffer, start: number, end: number): void => {
    if (this.subscribers.length === 0) {
      this.lastSeq = buf.readDoubleLE(start);
      return;
    }
    const r = new BinaryReader(buf, start, end);
    const s: EntrySummary = {
      seq: r.f64(),
      at: r.f64(),
      businessDate: r.str(),
      type: r.str(),
      responseCode: r.str(),
      amount: r.f64(),
      latencyUs: r.f64(),
      route: r.str(),
      mid: r.str(),
      tid: r.str(),
      panMasked: r.str(),
    };
    this.lastSeq = s.seq;
    for (const fn of this.subscribers) fn(s);
  };
}
