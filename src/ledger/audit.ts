import Database from 'better-sqlite3';
import { join } from 'node:path';
import { decodeEffects, journalDates, journalDir, type StateStore } from '../store/index.js';

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
    const db = new Database(join(journalDir(dataDir), `${date}.sqlite`), { readonly: true, fileMustExist: true });
    try {
      for (const row of db.prepare('SELECT seq, effects FROM entries ORDER BY seq').iterate() as Iterable<{ seq: number; effects: Buffer }>) {
        entries++;
        const effects = decodeEffects(row.effects);
        let sum = 0;
        for (const leg of effects.postings ?? []) {
          sum += leg.amount;
          posted.set(leg.account, (posted.get(leg.account) ?? 0) + leg.amount);
        }
        for (const hold of effects.holds ?? []) held.set(hold.account, (held.get(hold.account) ?? 0) + hold.amount);
        if (sum !== 0) unbalancedEntries.push(row.seq);
      }
    } finally {
      db.close();
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
