import type { JournalEntry } from '../store/index.js';
import type { Reply } from './wire.js';
import { RC } from '../txn/index.js';

/**
 * Writes the book's decision into an entry. The book calls it on the entry it journals, the worker
 * on its own copy when the reply arrives, so both hold the same record without sending it back.
 */
export function settleEntry(entry: JournalEntry, outcome: Reply): void {
  entry.seq = outcome.seq;
  entry.businessDate = outcome.businessDate;
  entry.rrn = outcome.rrn;
  entry.authCode = outcome.authCode;
  entry.responseCode = outcome.responseCode;
  const effects = entry.effects;
  // A request leg's advice names the original by the RRN the book has just given it; a stand-in
  // approval's advice tells the host the authorisation code too, and goes only if it stands.
  const advice = effects.advice?.record;
  if (advice) {
    if (advice.rrn === '') advice.rrn = outcome.rrn;
    if (advice.authCode === '') advice.authCode = outcome.authCode;
    if (advice.sealedPan !== undefined && outcome.responseCode !== RC.APPROVED) effects.advice = undefined;
    // A request leg the book refused (a risk rule) never goes out: the host is owed nothing for it.
    if (entry.type === 'host-request' && outcome.responseCode !== '') effects.advice = undefined;
  }
  if (outcome.responseCode !== RC.APPROVED) {
    effects.postings = undefined;
    effects.holds = undefined;
    effects.totals = undefined;
    effects.originals = undefined;
    effects.terminal = undefined;
  }
  const txn = effects.txn;
  if (txn) {
    txn.seq = outcome.seq;
    txn.businessDate = outcome.businessDate;
    txn.rrn = outcome.rrn;
    txn.authCode = outcome.authCode;
    txn.responseCode = outcome.responseCode;
    if (outcome.responseCode !== RC.APPROVED) {
      txn.status = 'declined';
      txn.postings = [];
      txn.holds = undefined;
      txn.changed = undefined;
      txn.totals = undefined;
    }
    if (!Number.isNaN(outcome.balance)) txn.balance = outcome.balance;
  }
}
