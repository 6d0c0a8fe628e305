export type {
  Account,
  AccountKind,
  BatchTotals,
  Discrepancy,
  ParameterKind,
  ParameterSet,
  SideTotals,
  StatusChange,
  TotalsDelta,
  Card,
  CardBin,
  Effects,
  JournalEntry,
  KeyMode,
  Merchant,
  OriginalUpdate,
  Posting,
  Status,
  Terminal,
  TxnRecord,
  TxnStatus,
  WorkingKeys,
} from './records.js';
export { StateStore, addTotals, authKey, emptyTotals, type Biller } from './state.js';
export { Journal, JournalReader, entryByRrn, journalDates, journalDir, journalTail } from './journal.js';
export { DEMO, demoPan, demoParameters, demoTid, merchantAccountId, newCardAccountId, seedDemo } from './demo.js';
export { BinaryReader, BinaryWriter, decodeEffects, encodeEffects, readEntry, writeEntry } from './entry-codec.js';
