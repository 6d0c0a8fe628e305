import { open, type Database, type RootDatabase } from 'lmdb';
import { join } from 'node:path';
import { KeyRewrap, SecurityError, lmkFileOf, loadLmk, type Lmk } from '../security/index.js';
import type { RiskRule, Route } from '../txn/index.js';
import { CARD_RECORD, type RecordCodec } from './record-codec.js';
import type {
  Account,
  BatchTotals,
  Card,
  CardBin,
  Discrepancy,
  JournalEntry,
  Merchant,
  ParameterKind,
  ParameterSet,
  Posting,
  ReferenceChange,
  ReferenceTable,
  ReversalAdvice,
  ApiToken,
  ApiClient,
  ChannelSwitch,
  Terminal,
  TotalsDelta,
  TxnRecord,
} from './records.js';

/** Address space for the state file: a bound on its size, not memory. */
const MAP_BYTES = 64 * 1024 ** 3;
/**
 * The busiest tables keep the property names of their records once, under a symbol key outside
 * every range of their string keys, and each value refers to them by number: otherwise every value
 * carries all its property names (a sale's record 571 bytes instead of 328). Not for tables whose
 * records hold bytes (keys, PIN verifiers, TLVs): msgpackr returns those as a Uint8Array, not a
 * Buffer, in the value whose read loads the table's structures.
 */
const SHARED_STRUCTURES = new Set(['merchants', 'bins', 'accounts', 'txns', 'rrns', 'auths', 'batches']);

/** Tables whose records have a fixed binary layout of their own (src/store/record-codec.ts). */
const RECORD_LAYOUTS: ReadonlyMap<string, RecordCodec<object>> = new Map<string, RecordCodec<object>>([['cards', CARD_RECORD as RecordCodec<object>]]);

/** How a table of the state file is opened, by whichever code opens it: the same encoding everywhere. */
export function stateTable(name: string): { name: string; sharedStructuresKey?: symbol; encoder?: RecordCodec<object> } {
  const layout = RECORD_LAYOUTS.get(name);
  if (layout !== undefined) return { name, encoder: layout };
  return SHARED_STRUCTURES.has(name) ? { name, sharedStructuresKey: Symbol.for('structures') } : { name };
}

/** Billers a bill payment can pay (F62 starts with the 4-character code). */
export interface Biller {
  code: string;
  name: string;
  account: string;
}

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
  /** Approved pre-authorisations by card token + auth code + date, for voids and completions. */
  readonly auths: Database<string, string>;
  /** Settlement totals per `tid|batch`. */
  readonly batches: Database<BatchTotals, string>;
  /** Batch-upload differences per `tid|batch|stan|kind`. */
  readonly discrepancies: Database<Discrepancy, string>;
  /** Last POS status upload per terminal. */
  readonly terminalStatus: Database<{ at: number; payload: Buffer }, string>;
  readonly parameters: Database<ParameterSet, ParameterKind>;
  readonly billers: Database<Biller, string>;
  /** Routing rules by id (`src/txn/routing.ts`). */
  readonly routes: Database<Route, string>;
  /** Risk rules by id (`src/txn/risk-rules.ts`). */
  readonly riskRules: Database<RiskRule, string>;
  /** Admin API tokens by the SHA-256 of the token. */
  readonly tokens: Database<ApiToken, string>;
  /** HTTP channel clients by id. */
  readonly apiClients: Database<ApiClient, string>;
  /** Access directions switched off (or back on) at run time, by name. */
  readonly channels: Database<ChannelSwitch, string>;
  /** Reversal advices hosts are owed (store and forward), by `link|stan|time`. */
  readonly advices: Database<ReversalAdvice, string>;
  readonly meta: Database<unknown, string>;
  private binLengths: number[] = [];

  constructor(private readonly dataDir: string) {
    // noMetaSync: LMDB stays consistent after a system crash but may lose its last transactions;
    // those are in the journal, and recovery replays everything after `appliedSeq`.
    // One map, large enough never to grow: each time lmdb-js grows the map it maps the file again and
    // keeps the old mappings for buffers still read from them, so every page read before counts again.
    this.root = open({ path: join(dataDir, 'state'), maxDbs: 32, compression: false, noMetaSync: true, mapSize: MAP_BYTES });
    this.merchants = this.root.openDB(stateTable('merchants'));
    this.terminals = this.root.openDB(stateTable('terminals'));
    this.bins = this.root.openDB(stateTable('bins'));
    this.cards = this.root.openDB(stateTable('cards'));
    this.accounts = this.root.openDB(stateTable('accounts'));
    this.txns = this.root.openDB(stateTable('txns'));
    this.rrns = this.root.openDB(stateTable('rrns'));
    this.auths = this.root.openDB(stateTable('auths'));
    this.batches = this.root.openDB(stateTable('batches'));
    this.discrepancies = this.root.openDB(stateTable('discrepancies'));
    this.terminalStatus = this.root.openDB(stateTable('terminal-status'));
    this.parameters = this.root.openDB(stateTable('parameters'));
    this.billers = this.root.openDB(stateTable('billers'));
    this.routes = this.root.openDB(stateTable('routes'));
    this.riskRules = this.root.openDB(stateTable('risk-rules'));
    this.tokens = this.root.openDB(stateTable('tokens'));
    this.apiClients = this.root.openDB(stateTable('api-clients'));
    this.channels = this.root.openDB(stateTable('channels'));
    this.advices = this.root.openDB(stateTable('advices'));
    this.meta = this.root.openDB(stateTable('meta'));
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

  /** Digits of a PAN that decide its BIN (the longest BIN prefix in the table). */
  get binKeyLength(): number {
    return this.binLengths[0] ?? 6;
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

  txnByAuth(panHash: string, authCode: string, date: string): TxnRecord | undefined {
    const key = this.auths.get(authKey(panHash, authCode, date));
    return key === undefined ? undefined : this.txns.get(key);
  }

  batchTotals(tid: string, batch: string): BatchTotals {
    return this.batches.get(`${tid}|${batch}`) ?? emptyTotals();
  }

  /**
   * Applies journal entries in one LMDB write transaction, skipping any already applied:
   * a crash between journal commit and this write is repaired by replaying the tail.
   */
  applyEntries(entries: readonly JournalEntry[]): Promise<boolean> {
    return this.root.transaction(() => {
      let applied = this.appliedSeq();
      const group = new AppliedGroup();
      for (const entry of entries) {
        if (entry.seq <= applied) continue;
        this.applyOne(entry, group);
        applied = entry.seq;
      }
      // Balances and batch totals change with nearly every entry and many entries share them (the
      // merchant's account above all): each is read and written once per group, not once per entry.
      for (const [id, delta] of group.accounts) {
        const account = this.accounts.get(id);
        if (account === undefined) throw new Error(`journal ${delta.seq} posts to unknown account ${id}`);
        this.accounts.put(id, { ...account, balance: account.balance + delta.balance, held: account.held + delta.held });
      }
      for (const [key, totals] of group.batches) this.batches.put(key, totals);
      this.meta.put('appliedSeq', applied);
      // The book stamps every entry with its business date: LMDB's is the newest applied entry's.
      if (entries.length > 0) this.meta.put('businessDate', entries[entries.length - 1].businessDate);
      return true;
    });
  }

  /** Sets the given fields of one key of a reference table over what it holds (a new key, or a whole record, takes them as they are); `null` removes the key. */
  private applyReference(change: ReferenceChange): void {
    const db = this[change.table] as Database<object, string>;
    if (change.value === null) db.remove(change.key);
    else db.put(change.key, change.whole ? (change.value as object) : { ...db.get(change.key), ...(change.value as object) });
  }

  /** Resolves once every committed LMDB transaction is on disk (meta page included: LMDB runs with noMetaSync). */
  synced(): Promise<void> {
    return new Promise((resolve, reject) => (this.root as unknown as { sync(done: (err?: Error) => void): void }).sync((err) => (err ? reject(err) : resolve())));
  }

  /**
   * Applying an LMK rotation's entry: every key LMDB holds under the LMK before it (terminal master
   * and working keys, advices' sealed card numbers, API clients' secrets) is wrapped under the one the LMK files now name,
   * in the transaction that records the entry as applied. Entries after it carry only the new LMK's.
   */
  private rewrapKeys(): void {
    const lmk = loadLmk({ file: lmkFileOf(this.dataDir) });
    const rewrap = new KeyRewrap(lmk);
    // Read whole before any put: a range read while its table changes may skip or repeat records.
    for (const { key, value } of Array.from(this.terminals.getRange())) {
      const terminal = rewrap.terminal(value);
      if (terminal) this.terminals.put(key, terminal);
    }
    for (const { key, value } of Array.from(this.advices.getRange())) {
      const advice = rewrap.advice(value);
      if (advice) this.advices.put(key, advice);
    }
    for (const { key, value } of Array.from(this.apiClients.getRange())) {
      const secret = rewrapSealed(lmk, value.secret);
      if (secret !== undefined) this.apiClients.put(key, { ...value, secret });
    }
  }

  private applyOne(entry: JournalEntry, group: AppliedGroup): void {
    const effects = entry.effects;
    for (const leg of effects.postings ?? NO_POSTINGS) group.account(leg.account, entry.seq).balance += leg.amount;
    for (const hold of effects.holds ?? NO_POSTINGS) group.account(hold.account, entry.seq).held += hold.amount;
    if (effects.totals) {
      const key = `${entry.tid}|${entry.batch}`;
      group.batches.set(key, addTotals(group.batches.get(key) ?? this.batches.get(key) ?? emptyTotals(), effects.totals));
    }
    for (const d of effects.discrepancies ?? []) this.discrepancies.put(`${d.tid}|${d.batch}|${d.stan}|${d.kind}`, d);
    if (effects.statusUpload) this.terminalStatus.put(entry.tid, { at: entry.at, payload: effects.statusUpload });
    if (effects.terminal) {
      const terminal = this.terminals.get(entry.tid);
      if (terminal) this.terminals.put(entry.tid, { ...terminal, ...effects.terminal });
    }
    if (effects.txn) {
      this.txns.put(effects.txn.key, effects.txn);
      if (effects.txn.rrn) this.rrns.put(effects.txn.rrn, effects.txn.key);
      if (effects.txn.type === 'pre-auth' && effects.txn.responseCode === '00') {
        this.auths.put(authKey(effects.txn.panHash, effects.txn.authCode, effects.txn.date), effects.txn.key);
      }
    }
    if (effects.reference) this.applyReference(effects.reference);
    if (entry.type === LMK_ROTATION) this.rewrapKeys();
    if (effects.advice) {
      if (effects.advice.record === null) this.advices.remove(effects.advice.key);
      else this.advices.put(effects.advice.key, effects.advice.record);
    }
    for (const update of effects.originals ?? []) {
      const original = this.txns.get(update.key);
      if (original) {
        this.txns.put(update.key, {
          ...original,
          ...(update.status ? { status: update.status } : {}),
          ...(update.refund !== undefined ? { refunded: (original.refunded ?? 0) + update.refund } : {}),
        });
        // Only pre-auths still holding funds can be found by auth code.
        if (original.type === 'pre-auth' && update.status) {
          const key = authKey(original.panHash, original.authCode, original.date);
          if (update.status === 'approved') this.auths.put(key, original.key);
          else this.auths.remove(key);
        }
      }
    }
  }
}

const NO_POSTINGS: readonly Posting[] = [];

/** The journal entry type of an LMK rotation (src/security/rotation.ts). */
export const LMK_ROTATION = 'lmk-rotation';

/** The tables a reference change may set, each an LMDB database of the state. */
export const REFERENCE_TABLES: readonly ReferenceTable[] = ['merchants', 'terminals', 'bins', 'cards', 'billers', 'parameters', 'routes', 'tokens', 'accounts', 'channels', 'apiClients', 'riskRules'];

/** A secret sealed under the LMK's previous key (base64), sealed under its current one; undefined when it is current already or neither key opens it. */
function rewrapSealed(lmk: Lmk, sealed: string): string | undefined {
  try {
    return lmk.rewrap(Buffer.from(sealed, 'base64'))?.toString('base64');
  } catch (err) {
    if (err instanceof SecurityError) return undefined;
    throw err;
  }
}

/** What one LMDB transaction of journal entries does to balances and batch totals, summed up. */
class AppliedGroup {
  /** Net change per account, with the first entry that touched it (for errors). */
  readonly accounts = new Map<string, { balance: number; held: number; seq: number }>();
  /** New totals per `tid|batch`. */
  readonly batches = new Map<string, BatchTotals>();

  account(id: string, seq: number): { balance: number; held: number; seq: number } {
    let delta = this.accounts.get(id);
    if (delta === undefined) {
      delta = { balance: 0, held: 0, seq };
      this.accounts.set(id, delta);
    }
    return delta;
  }
}

export function authKey(panHash: string, authCode: string, date: string): string {
  return `${panHash}|${authCode}|${date}`;
}

export function emptyTotals(): BatchTotals {
  return {
    domestic: { debitAmount: 0, debitCount: 0, creditAmount: 0, creditCount: 0 },
    foreign: { debitAmount: 0, debitCount: 0, creditAmount: 0, creditCount: 0 },
  };
}

export function addTotals(totals: BatchTotals, delta: TotalsDelta): BatchTotals {
  const side = delta.domestic ? totals.domestic : totals.foreign;
  const next = {
    debitAmount: side.debitAmount + delta.debitAmount,
    debitCount: side.debitCount + delta.debitCount,
    creditAmount: side.creditAmount + delta.creditAmount,
    creditCount: side.creditCount + delta.creditCount,
  };
  return delta.domestic ? { domestic: next, foreign: totals.foreign } : { domestic: totals.domestic, foreign: next };
}
