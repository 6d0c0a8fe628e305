export type {
  Account,
  AdviceChange,
  HostLeg,
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
  ReferenceChange,
  ReferenceTable,
  ReversalAdvice,
  ApiToken,
  ApiClient,
  ChannelSwitch,
  AdminRole,
  UnbalancedSettlement,
  Status,
  Terminal,
  TxnRecord,
  TxnStatus,
  WorkingKeys,
} from './records.js';
export { ADMIN_ROLES } from './records.js';
export { LMK_ROTATION, REFERENCE_TABLES, StateStore, addTotals, authKey, emptyTotals, stateTable, type Biller } from './state.js';
export { Journal, JournalReader, entriesOfType, entryByRrn, journalDates, journalEntries, journalDir, journalTail, journalledDate } from './journal.js';
export { DEMO, DEMO_OFF_US_ROUTE, demoOffUsPan, demoPan, demoParameters, demoTid, merchantAccountId, newCardAccountId, seedDemo } from './demo.js';
export {
  BinaryReader,
  BinaryWriter,
  EFFECTS,
  EFFECTS_FORMAT,
  EffectsCodec,
  NewerFormatError,
  decodeEffects,
  encodeEffects,
  type EffectKind,
  type PartCodec,
} from './entry-codec.js';
export { ENTRY_SCHEMA, EntrySchema, JOURNAL_FORMAT, blankEntry, readEntry, writeEntry, type EntryField } from './entry-schema.js';
export { CARD_RECORD, RecordCodec, type RecordField } from './record-codec.js';
