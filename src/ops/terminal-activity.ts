import type { EntrySummary } from '../book/index.js';

/**
 * When each terminal was last seen: the arrival time of its newest journalled request, kept from
 * the book's event feed since the switch started (one map entry per terminal that has sent one).
 */
export class TerminalActivity {
  private readonly lastAt = new Map<string, number>();

  /** Takes one durable entry from the feed (control entries name no terminal and are passed over). */
  readonly record = (entry: EntrySummary): void => {
    if (entry.tid === '') return;
    if (entry.at > (this.lastAt.get(entry.tid) ?? 0)) this.lastAt.set(entry.tid, entry.at);
  };

  /** Epoch milliseconds of the terminal's newest journalled request, or null if none since the start. */
  lastSeen(tid: string): number | null {
    return this.lastAt.get(tid) ?? null;
  }
}
