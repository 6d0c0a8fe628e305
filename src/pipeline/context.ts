import type { TerminalMessage } from '../codec/index.js';
import type { KeyHandle } from '../security/index.js';
import type { AdviceChange, BatchTotals, Card, CardBin, Discrepancy, Effects, JournalEntry, Merchant, OriginalUpdate, Posting, StatusChange, Terminal, TotalsDelta, TxnRecord, UnbalancedSettlement } from '../store/index.js';
import type { Classification } from '../txn/index.js';
import type { TypeHandler } from './handlers/index.js';

/** A terminal as one worker holds it: the record, its loaded keys, and its queue. */
export class TerminalState {
  record: Terminal;
  mak?: KeyHandle;
  pik?: KeyHandle;
  tdk?: KeyHandle;
  /** Settlement totals of the batch named, as this worker has counted them. */
  totals: { batch: string; totals: BatchTotals };
  /** A request of this terminal is with the book; later ones wait so answers keep their order. */
  busy = false;
  readonly waiting: TxnContext[] = [];

  constructor(record: Terminal, totals: { batch: string; totals: BatchTotals }) {
    this.record = record;
    this.totals = totals;
  }
}

/** Contexts per pipeline are far fewer than this: a ticket is generation × TICKET_IDS + id. */
export const TICKET_IDS = 1 << 20;

/** Everything the steps learn about one request, from frame to response. */
export class TxnContext {
  id = 0;
  /** Bumped each time the context is reused, so an answer for an earlier request is told apart. */
  generation = 0;
  /** The next processing step to run (where a waiting request resumes). */
  step = 0;
  /** Set by a step that answers `PENDING`: how long its answer may take. */
  waitMs = 0;
  /** The deadline timer of a waiting request. */
  timer: NodeJS.Timeout | undefined = undefined;
  connection = 0;
  /** hrtime (ns) when the frame reached the worker, for the journal's latency. */
  arrived = 0n;
  at = 0;
  /** The request frame, from TPDU to the end, copied out of the ring. */
  frame!: Buffer;
  request!: TerminalMessage;
  classification?: Classification;
  handler?: TypeHandler;
  /** Why the frame did not decode, for the log line. */
  error = '';
  /** The code admission decided on (`''`: none); it is answered in the terminal's turn. */
  early = '';
  /** This request holds its terminal's turn (it passes on when the request is answered). */
  hasTurn = false;
  terminal?: TerminalState;
  merchant?: Merchant;
  pan = '';
  panHash = '';
  bin?: CardBin;
  card?: Card;
  amount = 0;
  requestKey = '';
  mabHash = '';
  /** The MAC verified: the response carries one too. */
  authentic = false;
  responseCode = '';
  /** The id of the risk rule that refused the request (journalled with it), or ''. */
  riskRule = '';
  route = 'switch';
  postings?: Posting[];
  holds?: Posting[];
  totals?: TotalsDelta;
  original?: TxnRecord;
  /** Status changes to other records (voids, reversals, completions). */
  changed?: StatusChange[];
  /** Refund increments to originals. */
  originals?: OriginalUpdate[];
  discrepancies?: Discrepancy[];
  statusUpload?: Buffer;
  /** An unbalanced settlement's totals, both sides, journalled for reconciliation. */
  unbalanced?: UnbalancedSettlement;
  terminalUpdate?: Effects['terminal'];
  /** Account whose balance the response reports (F54). */
  inquiry?: string;
  /** The refund's original, for the book's authoritative refunded total. */
  refundOf?: { key: string; amount: number; limit: number };
  /** No request was recorded under this request key before: this one will be. */
  freshKey = false;
  /** The journal entry proposed to the book. */
  entry?: JournalEntry;
  /** A stored outcome to answer with again (retransmission). */
  replay?: TxnRecord;
  /** Extra response fields a handler adds (F54, F62, 60.2). */
  readonly extra = new Map<number, string | Buffer>();
  date = '';
  time = '';
  /** The header's processing requirement digit of the answer (replays repeat the first one's). */
  requirement = 0;
  /** The host link a host leg goes out on (`''`: none), and how long it waits for the answer. */
  link = '';
  hostTimeoutMs = 0;
  /** 1 while the request leg is with the book, 2 once it is journalled (its RRN known). */
  leg = 0;
  /** The RRN the request leg got from the book, before the host was asked. */
  rrn = '';
  /** F11 and F7 of the request as the link sent them (a reversal advice names them in F90). */
  hostStan = '';
  hostTime = '';
  hostAuthCode = '';
  /** Sent to a host and no trustworthy answer: the request is due for a reversal advice. */
  advice = false;
  /** Approved by the switch standing in for the issuer: the host is told by a 0220 advice on `link`. */
  standIn = false;
  /** Not a request: this context carries the entry that settles the reversal advice under this key. */
  adviceKey = '';
  /** A reversal of a host's approval: the advice the host is owed for it. */
  owedAdvice?: AdviceChange;

  /** Names this request (not the context) to whoever answers a waiting step. */
  get ticket(): number {
    return this.generation * TICKET_IDS + this.id;
  }

  reset(): void {
    this.generation++;
    this.step = 0;
    this.waitMs = 0;
    this.timer = undefined;
    this.requirement = 0;
    this.classification = undefined;
    this.terminal = undefined;
    this.merchant = undefined;
    this.pan = '';
    this.panHash = '';
    this.bin = undefined;
    this.card = undefined;
    this.amount = 0;
    this.requestKey = '';
    this.mabHash = '';
    this.authentic = false;
    this.responseCode = '';
    this.riskRule = '';
    this.route = 'switch';
    this.handler = undefined;
    this.error = '';
    this.early = '';
    this.hasTurn = false;
    this.postings = undefined;
    this.holds = undefined;
    this.totals = undefined;
    this.original = undefined;
    this.changed = undefined;
    this.originals = undefined;
    this.discrepancies = undefined;
    this.statusUpload = undefined;
    this.unbalanced = undefined;
    this.terminalUpdate = undefined;
    this.inquiry = undefined;
    this.entry = undefined;
    this.refundOf = undefined;
    this.freshKey = false;
    this.replay = undefined;
    this.link = '';
    this.hostTimeoutMs = 0;
    this.leg = 0;
    this.rrn = '';
    this.hostStan = '';
    this.hostTime = '';
    this.hostAuthCode = '';
    this.advice = false;
    this.standIn = false;
    this.adviceKey = '';
    this.owedAdvice = undefined;
    this.extra.clear();
  }
}
