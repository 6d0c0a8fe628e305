/**
 * Small additions to test/switch/harness.ts for the business tests: the demo switch in process
 * (business rules need no TCP), which a test can stop before its teardown (to read LMDB
 * afterwards), approved-or-throw request helpers, and F61 dates.
 * Not a test file itself (no `.test.` in the name).
 */
import type { TerminalMessage } from '../../src/codec/index.js';
import type { Receipt, SimTerminal } from '../../src/loadgen/terminal.js';
import type { FinancialType } from '../../src/txn/index.js';
import { startInProcess, type HasTeardown, type InProcessDemo } from '../switch/harness.js';

export interface StoppableDemo extends InProcessDemo {
  /** Closes the switch (once; the teardown's close then does nothing more). */
  stop(): Promise<void>;
}

/** The harness's demo switch, in process, whose close may be called early and more than once. */
export async function startStoppable(t: HasTeardown): Promise<StoppableDemo> {
  const demo = await startInProcess(t);
  return { ...demo, stop: () => demo.sw.close() };
}

/** Sends `req`, expects `00` (throws otherwise: a set-up step, not an assertion), returns request, response and receipt. */
export async function approved(
  term: SimTerminal,
  req: TerminalMessage,
  type: FinancialType,
): Promise<{ req: TerminalMessage; res: TerminalMessage; receipt: Receipt }> {
  const res = await term.request(req);
  if (res.text(39) !== '00') throw new Error(`${type} answered ${res.text(39)}`);
  return { req, res, receipt: term.receipt(req, res, type) };
}

/** A valid MMDD that is not `date`. */
export function otherDate(date: string): string {
  return date === '0101' ? '0102' : '0101';
}

/** A 6-digit auth code that is not `code`. */
export function otherAuthCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}
