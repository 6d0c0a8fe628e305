import { join } from 'node:path';
import { JournalReader, journalDates, journalDir, type StateStore } from '../store/index.js';

/** Entries read per page: a day of millions is audited without holding it in memory. */
const PAGE = 10_000;

export interface AuditReport {
  entries: number;
  /** Entries whose postings do not sum to zero. */
  unbalancedEntries: number[];
  accounts: number;
  /** Accounts whose balance is not opening + the journal's postings, or whose holds do not add up. */
  mismatches: { account: string; balance: number; expected: number; held: number; expectedHeld: number }[];
}

/**
 * Checks the books against the journal: every entry's postings sum to zero (double entry), and
 * every account's balance is its opening balance plus every posting the journals hold for it
 * (holds likewise). Run on a stopped switch, or accept that entries not yet applied show up.
 */
export function auditLedger(dataDir: string, state: StateStore): AuditReport {
  const posted = new Map<string, number>();
  const held = new Map<string, number>();
  const unbalancedEntries: number[] = [];
  let entries = 0;
  for (const date of journalDates(dataDir)) {
    // The store's reader: it reads every format a day file may have been written in.
    const journal = new JournalReader(join(journalDir(dataDir), `${date}.sqlite`));
    try {
      for (let page = journal.entries(0, Number.MAX_SAFE_INTEGER, PAGE); page.length > 0; page = journal.entries(page[page.length - 1].seq, Number.MAX_SAFE_INTEGER, PAGE)) {
        for (const entry of page) {
          entries++;
          let sum = 0;
          for (const leg of entry.effects.postings ?? []) {
            sum += leg.amount;
            posted.set(leg.account, (posted.get(leg.account) ?? 0) + leg.amount);
          }
          for (const hold of entry.effects.holds ?? []) held.set(hold.account, (held.get(hold.account) ?? 0) + hold.amount);
          if (sum !== 0) unbalancedEntries.push(entry.seq);
        }
      }
    } finally {
      journal.close();
    }
  }
  const mismatches: AuditReport['mismatches'] = [];
  let accounts = 0;
  for (const { key, value } of state.accounts.getRange()) {
    accounts++;
    const expected = value.opening + (posted.get(key) ?? 0);
    const expectedHeld = held.get(key) ?? 0;
    if (value.balance !== expected || value.held !== expectedHeld) {
      mismatches.push({ account: key, balance: value.balance, expected, held: value.held, expectedHeld });
    }
  }
  return { entries, unbalancedEntries, accounts, mismatches };
}
