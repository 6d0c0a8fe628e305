import type { MacAlgorithm } from '../security/index.js';

/**
 * The records of the switch's state (LMDB) and journal (SQLite). Amounts are integer minor
 * units (fen) held as JS numbers: exact up to 2^53, far above any card balance.
 */

export type Status = 'active' | 'suspended' | 'closed';

export interface Merchant {
  mid: string;
  name: string;
  status: Status;
  mcc: string;
  /** The merchant's settlement account in the in-house account system. */
  account: string;
  /** Stand-in: the most (fen) the switch approves for the issuer while no link of a stand-in route is up; absent or 0, none. */
  standInLimit?: number;
}

export type KeyMode = '001' | '003' | '004';

export interface WorkingKeys {
  mode: KeyMode;
  /** Wrapped under the LMK; never clear outside the security module. */
  pik: Buffer;
  mak: Buffer;
  tdk?: Buffer;
  issuedAt: number;
}

export interface Terminal {
  tid: string;
  mid: string;
  status: Status;
  /** Terminal master key, wrapped under the LMK. */
  tmk: Buffer;
  macAlgorithm: MacAlgorithm;
  batch: string;
  signedIn: boolean;
  keys?: WorkingKeys;
  /** Versions of each parameter set the terminal has confirmed downloading. */
  parameterVersions?: Partial<Record<ParameterKind, number>>;
}

export interface CardBin {
  /** The leading digits that identify the issuer (longest match wins). */
  prefix: string;
  issuer: string;
  /** `CUP`, `VIS`, `MCC`, `JCB`, `AMX`: card organisation printed on receipts (F63). */
  organisation: string;
  /** On-us cards post to the in-house account system; others go to a host. */
  onUs: boolean;
  domestic: boolean;
  /** The length of the issuer's card numbers; absent, any of 13–19 digits. */
  panLength?: number;
}

export interface Card {
  pan: string;
  expiry: string;
  status: Status | 'lost' | 'stolen';
  account: string;
  /** PIN verification value from the security module. */
  pinVerifier: Buffer;
}

export type AccountKind = 'card' | 'merchant' | 'biller' | 'suspense';

export interface Account {
  id: string;
  kind: AccountKind;
  /** Minor units. Card accounts never go below zero; merchant settlement accounts may. */
  balance: number;
  /** Amount reserved by holds (pre-authorisations). */
  held: number;
  currency: string;
  /** Balance when the account was opened: balance = opening + every journal posting to it. */
  opening: number;
}

/** One leg of a double-entry posting: the legs of an entry sum to zero. */
export interface Posting {
  account: string;
  /** Signed minor units: negative debits the account. */
  amount: number;
}

export type TxnStatus = 'approved' | 'declined' | 'voided' | 'reversed' | 'completed' | 'expired';

/**
 * What the switch remembers of each request, under its request key
 * (MID, TID, batch, STAN, MTI): enough to find originals and to replay a response.
 */
export interface TxnRecord {
  key: string;
  seq: number;
  type: string;
  businessDate: string;
  mid: string;
  tid: string;
  batch: string;
  stan: string;
  panHash: string;
  amount: number;
  rrn: string;
  authCode: string;
  /** Local date MMDD and time hhmmss the switch put in F13/F12. */
  date: string;
  time: string;
  responseCode: string;
  status: TxnStatus;
  /** SHA-256 of the MAB (or of the whole message when it has no MAC): tells a retransmission from a duplicate key. */
  mabHash: string;
  postings: Posting[];
  /** Holds placed (positive) or released (negative) on card accounts. */
  holds?: Posting[];
  /** Status changes this request made to other records, so a reversal can restore them. */
  changed?: StatusChange[];
  /** What this request added to its batch's settlement totals, so a reversal can take it out. */
  totals?: TotalsDelta;
  /** Balance reported (F54) for an inquiry. */
  balance?: number;
  refunded?: number;
  /** Request key of the original this one voided, reversed or refunded. */
  originalKey?: string;
  /** What the first answer carried beyond the request, so a retransmission gets the same bytes: the header's processing requirement digit, */
  requirement?: number;
  /** F44 (issuer and acquirer ids) and F63 (card organisation), when the first answer had them. */
  issuer?: string;
  organisation?: string;
  /** A host's approval: the link and the STAN and F7 it was sent with (a reversal advice names them in F90). */
  host?: HostLeg;
}

export interface StatusChange {
  key: string;
  from: TxnStatus;
  to: TxnStatus;
}

/** A change to one side (domestic or foreign cards) of a batch's settlement totals. */
export interface TotalsDelta {
  domestic: boolean;
  debitAmount: number;
  debitCount: number;
  creditAmount: number;
  creditCount: number;
}

/** A batch's settlement totals as the switch counts them (PROTOCOL.md section 8). */
export interface BatchTotals {
  domestic: SideTotals;
  foreign: SideTotals;
}

export interface SideTotals {
  debitAmount: number;
  debitCount: number;
  creditAmount: number;
  creditCount: number;
}

/** A difference between what a terminal uploaded and what the journal says, kept for reconciliation. */
export interface Discrepancy {
  tid: string;
  batch: string;
  stan: string;
  kind: 'missing' | 'amount' | 'card' | 'status' | 'count';
  uploaded: number;
  recorded: number;
  businessDate: string;
  at: number;
}

/** A parameter set terminals download in F62 (magstripe parameters, IC CA keys, IC AIDs). */
export type ParameterKind = 'magstripe' | 'ca-key' | 'aid';

export interface ParameterSet {
  kind: ParameterKind;
  version: number;
  /** Each item one TLV record, delivered in as many messages as needed. */
  items: Buffer[];
}

/** State changes an entry carries; applying them is idempotent by the entry's seq. */
export interface Effects {
  postings?: Posting[];
  /** Holds placed (positive) or released (negative). */
  holds?: Posting[];
  /** Added to the settlement totals of the entry's terminal and batch. */
  totals?: TotalsDelta;
  discrepancies?: Discrepancy[];
  /** A POS status upload (0820 362): the terminal's F62, kept with the time. */
  statusUpload?: Buffer;
  /** Fields of the terminal record to set. */
  terminal?: Partial<Pick<Terminal, 'batch' | 'signedIn' | 'keys' | 'parameterVersions'>>;
  /** The index record of this request. */
  txn?: TxnRecord;
  /** Originals whose status this entry changes, or to whose refunded total it adds. */
  originals?: OriginalUpdate[];
  /** Reference data set through the book's control channel: fields set over the key's record (`null` removes the key). */
  reference?: ReferenceChange;
  /** A reversal advice a host is owed, set or (`record: null`) settled: the store-and-forward queue. */
  advice?: AdviceChange;
  /** An unbalanced settlement (0500): what the terminal declared and what the switch had; for reconciliation, journal only. */
  unbalanced?: UnbalancedSettlement;
}

export interface UnbalancedSettlement {
  declared: BatchTotals;
  recorded: BatchTotals;
}

/**
 * An advice a host is owed, kept until it answers `00`: a 0420 reversal advice for a host leg that
 * may have been acted on without its answer reaching us (kept without the card number: the host
 * finds the original by F90 and F41/F42), or a 0220 advice of a stand-in approval (the card number
 * sealed under the LMK, since the issuer must know whose card it was).
 */
export interface ReversalAdvice {
  link: string;
  /** The original request as the link sent it (a 0220 advice: as it is sent): MTI, F3, F11 (the link's STAN), F7. */
  mti: string;
  processingCode: string;
  stan: string;
  time: string;
  amount: number;
  currency: string;
  rrn: string;
  tid: string;
  mid: string;
  /** False while the request leg may still be answered (its outcome entry decides); true once owed. */
  due: boolean;
  /** When the request leg was journalled (a leg from before a restart is owed whatever `due` says). */
  at: number;
  /** A stand-in approval's advice: the card number sealed under the LMK, and the authorisation code given. */
  sealedPan?: string;
  authCode?: string;
}

/** Where a request went to a host: the link, and the STAN and F7 the link sent it with. */
export interface HostLeg {
  link: string;
  stan: string;
  time: string;
  /** Approved by the switch standing in: the host knows it from a 0220 advice, not a 0200. */
  standIn?: true;
}

export interface AdviceChange {
  /** `link|stan|time`: unique on the link for the day. */
  key: string;
  record: ReversalAdvice | null;
}

/**
 * LMDB tables of reference data the control channel may change; `accounts` only to open an account
 * (the book refuses any change to one that exists: only postings move a balance).
 */
export type ReferenceTable = 'merchants' | 'terminals' | 'bins' | 'cards' | 'billers' | 'parameters' | 'routes' | 'tokens' | 'accounts' | 'channels' | 'apiClients' | 'riskRules';

/**
 * An access direction switched on or off at run time (`posp channel enable|disable NAME`): the
 * terminal listener (`terminal`), the HTTP channel (`http`) or a host link (its name). A name with
 * no record is enabled; the record is journalled, so the state is kept across restarts.
 */
export interface ChannelSwitch {
  name: string;
  state: 'enabled' | 'disabled';
}

/**
 * A merchant's system that pays through the HTTP channel: it signs its requests with its secret and
 * the channel sends them as its virtual terminal, a terminal record of the client's merchant.
 */
export interface ApiClient {
  id: string;
  mid: string;
  tid: string;
  status: Status;
  /** The HMAC secret, sealed under the LMK (base64); shown in clear once, when the client is created. */
  secret: string;
  createdAt: number;
}

/** What an admin API token may do: each role may do what the ones before it may. */
export const ADMIN_ROLES = ['viewer', 'operator', 'admin'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** An admin API token, stored under the SHA-256 (hex) of the token itself: the token is never kept. */
export interface ApiToken {
  id: string;
  role: AdminRole;
  label: string;
  createdAt: number;
}

export interface ReferenceChange {
  table: ReferenceTable;
  key: string;
  value: unknown;
  /** Who asked for it through the admin API (a token's id, or `bootstrap`), for the audit log. */
  by?: string;
  /** The key's record before the change (null: there was none), for the audit log. */
  before?: unknown;
  /** `value` is the whole record: it replaces what the key held rather than setting fields over it. */
  whole?: true;
}

export interface OriginalUpdate {
  key: string;
  status?: TxnStatus;
  /** Amount this entry refunds of the original (added to its `refunded`). */
  refund?: number;
}

// The journal entry's type is derived from its field table.
export type { JournalEntry } from './entry-schema.js';
