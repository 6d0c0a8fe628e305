import { open, type Database, type RootDatabase } from 'lmdb';
import { join } from 'node:path';
import type { Account, Card, CardBin, JournalEntry, Merchant, Terminal, TxnRecord } from './records.js';

/**
 * The switch's derived state in LMDB: merchants, terminals, card BINs, cards, accounts and the
 * transaction index. Every thread opens the same environment; only the book thread writes
 * journal effects, and it records the last journal seq applied so recovery replays the tail.
 */
export class StateStore {
  readonly root: RootDatabase;
  readonly merchants: Database<Merchant, string>;
  readonly terminals: Database<Terminal, string>;
  readonly bins: Database<CardBin, string>;
  readonly cards: Database<Card, string>;
  readonly accounts: Database<Account, string>;
  readonly txns: Database<TxnRecord, string>;
  /** RRN → request key, for refunds and voids that name their original by RRN (RRNs are unique: they are journal seqs). */
  readonly rrns: Database<string, string>;
  readonly meta: Database<unknown, string>;
  private binLengths: number[] = [];

  constructor(dataDir: string) {
    this.root = open({ path: join(dataDir, 'state'), maxDbs: 16, compression: false });
    this.merchants = this.root.openDB({ name: 'merchants' });
    this.terminals = this.root.openDB({ name: 'terminals' });
    this.bins = this.root.openDB({ name: 'bins' });
    this.cards = this.root.openDB({ name: 'cards' });
    this.accounts = this.root.openDB({ name: 'accounts' });
    this.txns = this.root.openDB({ name: 'txns' });
    this.rrns = this.root.openDB({ name: 'rrns' });
    this.meta = this.root.openDB({ name: 'meta' });
    this.loadBinLengths();
  }

  /** Reads see the newest committed state after this (a read transaction held across turns goes stale). */
  refresh(): void {
    this.root.resetReadTxn();
  }

  close(): Promise<void> {
    return this.root.close();
  }

  appliedSeq(): number {
    return (this.meta.get('appliedSeq') as number | undefined) ?? 0;
  }

  businessDate(): string | undefined {
    return this.meta.get('businessDate') as string | undefined;
  }

  /** Longest-prefix BIN lookup. */
  binFor(pan: string): CardBin | undefined {
    for (const len of this.binLengths) {
      const bin = this.bins.get(pan.slice(0, len));
      if (bin) return bin;
    }
    return undefined;
  }

  loadBinLengths(): void {
    const lengths = new Set<number>();
    for (const key of this.bins.getKeys()) lengths.add(String(key).length);
    this.binLengths = [...lengths].sort((a, b) => b - a);
  }

  txnByRrn(rrn: string): TxnRecord | undefined {
    const key = this.rrns.get(rrn);
    return key === undefined ? undefined : this.txns.get(key);
  }

  /**
   * Applies journal entries in one LMDB write transaction, skipping any already applied:
   * a crash between journal commit and this write is repaired by replaying the tail.
   */
  applyEntries(entries: readonly JournalEntry[]): Promise<boolean> {
    return this.root.transaction(() => {
      let applied = this.appliedSeq();
      for (const entry of entries) {
        if (entry.seq <= applied) continue;
        this.applyOne(entry);
        applied = entry.seq;
      }
      this.meta.put('appliedSeq', applied);
      return true;
    });
  }

  private applyOne(entry: JournalEntry): void {
    const effects = entry.effects;
    if (effects.postings) {
      for (const leg of effects.postings) {
        const account = this.accounts.get(leg.account);
        if (account === undefined) throw new Error(`journal ${entry.seq} posts to unknown account ${leg.account}`);
        this.accounts.put(leg.account, { ...account, balance: account.balance + leg.amount });
      }
    }
    if (effects.terminal) {
      const terminal = this.terminals.get(entry.tid);
      if (terminal) this.terminals.put(entry.tid, { ...terminal, ...effects.terminal });
    }
    if (effects.txn) {
      this.txns.put(effects.txn.key, effects.txn);
      if (effects.txn.rrn) this.rrns.put(effects.txn.rrn, effects.txn.key);
    }
    for (const update of effects.originals ?? []) {
      const original = this.txns.get(update.key);
      if (original) {
        this.txns.put(update.key, {
          ...original,
          ...(update.status ? { status: update.status } : {}),
          ...(update.refund !== undefined ? { refunded: (original.refunded ?? 0) + update.refund } : {}),
        });
      }
    }
  }
}
