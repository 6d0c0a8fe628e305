import type { Logger } from 'pino';
import type { ControlChange, ControlResult } from '../book/index.js';
import { dayAfter, localDate } from '../txn/index.js';

/** What a cut-over came to: the day that ended, the day that began, the entry that began it. */
export interface CutResult {
  from: string;
  to: string;
  /** Seq of the new day's `business-date` entry. */
  seq: number;
  /** From asking the book to the change being durable. */
  ms: number;
}

/** What cut-over needs of the running switch. */
export interface CutoverBook {
  businessDate(): string;
  control(change: ControlChange): Promise<ControlResult>;
}

/** A cut-over that cannot be made, with the reason (answered 409 by the admin API). */
export class CutoverRefused extends Error {}

const DAY_MS = 86_400_000;

/** `HH:MM` (local time) as minutes after midnight, or null for `off`; throws on anything else. */
export function parseCutoverTime(text: string): number | null {
  if (text === 'off') return null;
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!m) throw new RangeError(`a cut-over time is HH:MM (local, 00:00–23:59) or off, got ${JSON.stringify(text)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * The business date a cut-over at `cutAt` (minutes after local midnight) gives at `now`. A cut in
 * the evening (after noon) starts the next calendar day's business (23:00 on the 1st begins the
 * 2nd); one in the small hours starts that calendar day's (02:00 on the 2nd begins the 2nd).
 */
export function scheduledBusinessDate(now: Date, cutAt: number): string {
  const shiftMs = cutAt > 12 * 60 ? DAY_MS - cutAt * 60_000 : -cutAt * 60_000;
  return localDate(new Date(now.getTime() + shiftMs));
}


/**
 * Moves the business date, one cut-over at a time, through the book's control channel: the book
 * commits the old day's last group, opens the next day's journal between two groups and journals
 * the new day's first entry, so no transaction waits more than one group for it and none is in
 * both days. Whoever asks (the schedule, `posp day-cut` through the admin API) gets the same.
 */
export class DayCut {
  private running: Promise<CutResult> | undefined;

  constructor(
    private readonly book: CutoverBook,
    private readonly log: Logger,
  ) {}

  /** Cuts over to `date` (default: the day after the current business date). */
  cut(date?: string): Promise<CutResult> {
    if (this.running) return Promise.reject(new CutoverRefused('a cut-over is already running'));
    this.running = this.make(date ?? dayAfter(this.book.businessDate())).finally(() => (this.running = undefined));
    return this.running;
  }

  private async make(to: string): Promise<CutResult> {
    const from = this.book.businessDate();
    if (to <= from) throw new CutoverRefused(`the business date only moves forward: ${to} is not after ${from}`);
    const started = process.hrtime.bigint();
    const result = await this.book.control({ kind: 'business-date', date: to });
    if ('refused' in result) throw new CutoverRefused(result.refused);
    const cut = { from, to, seq: result.seq, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    this.log.info(cut, 'business day cut over');
    return cut;
  }
}

/** How often the schedule looks at the clock. */
const TICK_MS = 1000;

/**
 * Cut-over at a local time of day: once a second the clock says which business date it should be,
 * and a date behind it is cut over (also at start, for a switch that was down at the time).
 */
export class CutoverSchedule {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly dayCut: DayCut,
    private readonly book: CutoverBook,
    private readonly cutAt: number,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  private tick(): void {
    const due = scheduledBusinessDate(this.clock(), this.cutAt);
    if (due <= this.book.businessDate()) return;
    this.dayCut.cut(due).catch((err: Error) => {
      if (!(err instanceof CutoverRefused) || err.message !== 'a cut-over is already running') this.log.error({ err, due }, 'scheduled cut-over failed');
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
