import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlChange, ControlResult } from '../book/index.js';
import type { ReferenceTable, StateStore } from '../store/index.js';
import { HttpError } from './http.js';

/** What the admin API reads and changes reference data through (the running switch's parts). */
export interface ReferenceBook {
  /** A change through the book's control channel: resolves once durable and announced to every worker, or refused with the reason. */
  control(change: ControlChange): Promise<ControlResult>;
  /** The highest journal seq LMDB has applied. */
  appliedSeq(): number;
  /** The switch's LMDB state; only read here. */
  readonly state: StateStore;
}

/** How often, and how long, a change waits for LMDB to apply it. */
const APPLIED_POLL_MS = 5;
const APPLIED_WAIT_MS = 10_000;

/**
 * Reference data for the admin API: changes go through the book and are answered once LMDB holds
 * them too, so an operator who reads right after a change sees it.
 */
export class ReferenceDesk {
  constructor(private readonly book: ReferenceBook) {}

  /** LMDB's state, refreshed: reads see what the apply thread has committed. */
  get state(): StateStore {
    this.book.state.refresh();
    return this.book.state;
  }

  /**
   * Sets (or with null removes) `key` of `table` for `who`; resolves to the journal seq of the
   * change, whose entry also says who asked and what the record was before (the audit log). A
   * refusal by the book is a 400.
   */
  async change(table: ReferenceTable, key: string, value: unknown, who: string): Promise<number> {
    const before = (this.state[table] as { get(key: string): unknown }).get(key) ?? null;
    const result = await this.book.control({ kind: 'reference', table, key, value, by: who, before });
    if ('refused' in result) throw new HttpError(400, result.refused);
    await this.applied(result.seq);
    return result.seq;
  }

  private async applied(seq: number): Promise<void> {
    for (const deadline = Date.now() + APPLIED_WAIT_MS; this.book.appliedSeq() < seq; ) {
      // The change is in force either way; only reading it back has to wait.
      if (Date.now() > deadline) throw new HttpError(503, `the change is durable (journal entry ${seq}) and in force, but LMDB has not applied it yet: read it again shortly`);
      await sleep(APPLIED_POLL_MS, undefined, { ref: false });
    }
  }
}
