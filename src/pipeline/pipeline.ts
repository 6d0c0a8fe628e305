import type { Logger } from 'pino';
import { settleEntry, type Proposal, type Reply } from '../book/index.js';
import { TerminalMessage, buildBalance, encodeTerminalFrame, responseTpdu, withProcessingRequirement } from '../codec/index.js';
import type { SecurityModule } from '../security/index.js';
import {
  addTotals,
  authKey,
  emptyTotals,
  type BatchTotals,
  type CardBin,
  type JournalEntry,
  type Merchant,
  type ParameterKind,
  type StateStore,
  type Terminal,
  type TxnRecord,
} from '../store/index.js';
import { MAC_MTIS, maskPan } from '../txn/index.js';
import { TerminalState, TxnContext } from './context.js';
import { ADMISSION, CLOSE, PROCESSING } from './steps.js';

export interface PipelineOptions {
  state: StateStore;
  hsm: SecurityModule;
  businessDate: string;
  /** F32 and the acquirer half of F44. */
  acquirerId: string;
  refundWindowDays: number;
  /** Days a pre-authorisation holds funds and can be completed. */
  holdDays: number;
  /** Hours after which a terminal's working keys are due for rotation (header asks it to sign in again). */
  keyRotationHours: number;
  log: Logger;
  /** Sends `frame[start, end)` (a response with its length prefix) to the connection. */
  respond(connection: number, frame: Buffer, start: number, end: number): void;
  /** Drops the connection: the frame was too broken to answer. */
  close(connection: number): void;
  /** Hands the proposal to the book; the reply comes back through `onReply(id)`. */
  propose(id: number, proposal: Proposal): void;
}

/** Request fields a financial response repeats (PROTOCOL.md sections 2–3). */
const FINANCIAL_ECHO = [2, 3, 4, 11, 14, 22, 23, 25, 41, 42, 49, 60, 61] as const;
const MANAGEMENT_ECHO = [11, 41, 42, 60] as const;
/** Records kept beyond what LMDB has applied are trimmed down to half this. */
const RECENT_LIMIT = 10_000;

/**
 * One worker's transaction pipeline: runs each request through the steps, hands the outcome to
 * the book, and answers once the book has made it durable. The worker owns its terminals (the
 * acceptor sends every frame of a terminal to the same worker), so their state lives here.
 */
export class Pipeline {
  readonly state: StateStore;
  readonly hsm: SecurityModule;
  readonly businessDate: string;
  readonly refundWindowDays: number;
  readonly holdDays: number;
  readonly options: PipelineOptions;
  private readonly contexts: TxnContext[] = [];
  private readonly free: number[] = [];
  private readonly terminals = new Map<string, TerminalState>();
  /** Index records not yet certain to be in LMDB (the book applies them after the commit). */
  private readonly recent = new Map<string, TxnRecord>();
  private readonly recentRrns = new Map<string, string>();
  private readonly recentAuths = new Map<string, string>();
  /** Merchants and card BINs change rarely: read from LMDB at most once per REFERENCE_TTL_MS each. */
  private readonly merchants = new Map<string, { at: number; value: Merchant | undefined }>();
  private readonly bins = new Map<string, { at: number; value: CardBin | undefined }>();
  /** Current parameter set versions, re-read at most once a second. */
  private parameterVersions: Partial<Record<ParameterKind, number>> = {};
  private parametersReadAt = 0;
  private readonly out = Buffer.allocUnsafe(4096);
  private readonly businessDay: number;

  constructor(options: PipelineOptions) {
    this.options = options;
    this.state = options.state;
    this.hsm = options.hsm;
    this.businessDate = options.businessDate;
    this.refundWindowDays = options.refundWindowDays;
    this.holdDays = options.holdDays;
    this.businessDay = dayNumber(options.businessDate);
  }

  onFrame(connection: number, data: Buffer, start: number, end: number): void {
    const ctx = this.acquire();
    ctx.connection = connection;
    ctx.arrived = process.hrtime.bigint();
    ctx.at = Date.now();
    const now = new Date(ctx.at);
    ctx.date = two(now.getMonth() + 1) + two(now.getDate());
    ctx.time = two(now.getHours()) + two(now.getMinutes()) + two(now.getSeconds());
    ctx.frame = Buffer.from(data.subarray(start, end));
    try {
      this.admit(ctx);
    } catch (err) {
      this.fail(ctx, err);
    }
  }

  private admit(ctx: TxnContext): void {
    let code = '';
    for (const step of ADMISSION) {
      const result = step(this, ctx);
      if (result === CLOSE) return this.finish(ctx, CLOSE);
      if (code === '') code = result;
    }
    ctx.early = code;
    const terminal = ctx.terminal;
    // Without a known terminal there is no order to keep: answer at once.
    if (terminal === undefined) return this.finish(ctx, code);
    if (terminal.busy) {
      terminal.waiting.push(ctx);
      return;
    }
    terminal.busy = true;
    ctx.hasTurn = true;
    this.process(ctx);
  }

  /**
   * A bug met one request: that terminal's connection is dropped (it retries or reverses), the
   * context is freed and the terminal's turn passes on, so neither the worker nor the terminal wedges.
   */
  private fail(ctx: TxnContext, err: unknown): void {
    this.options.log.error({ err, connection: ctx.connection, tid: ctx.terminal?.record.tid }, 'pipeline failed on a request');
    this.options.close(ctx.connection);
    const terminal = ctx.hasTurn ? ctx.terminal : undefined;
    this.release(ctx);
    if (terminal) this.next(terminal);
  }

  /** The terminal's turn: run the checks and the type's rules, unless admission already decided. */
  private process(ctx: TxnContext): void {
    let code = ctx.early;
    if (code === '') {
      for (const step of PROCESSING) {
        code = step(this, ctx);
        if (code !== '') break;
      }
    }
    this.finish(ctx, code || '00');
  }

  /** The outcome is known: journal it through the book. */
  private finish(ctx: TxnContext, code: string): void {
    if (code === CLOSE) {
      this.options.log.warn({ connection: ctx.connection, error: ctx.error }, 'undecodable frame, closing the connection');
      this.options.close(ctx.connection);
      this.release(ctx);
      return;
    }
    ctx.responseCode = code;
    const handler = ctx.handler;
    const req = ctx.request;
    const approved = code === '00' && ctx.replay === undefined;
    const entry: JournalEntry = {
      seq: 0,
      at: ctx.at,
      businessDate: this.businessDate,
      type: ctx.classification?.type ?? 'unknown',
      mti: req.mti,
      mid: req.text(42) ?? '',
      tid: req.text(41) ?? '',
      batch: (req.text(60) ?? '').slice(2, 8),
      stan: req.text(11) ?? '',
      rrn: ctx.replay?.rrn ?? '',
      authCode: ctx.replay?.authCode ?? '',
      panMasked: ctx.pan ? maskPan(ctx.pan) : '',
      panHash: ctx.panHash,
      amount: ctx.amount,
      currency: req.text(49) ?? '',
      responseCode: code,
      originalKey: ctx.original?.key ?? '',
      route: ctx.replay ? 'replay' : ctx.route,
      latencyUs: Number((process.hrtime.bigint() - ctx.arrived) / 1000n),
      requestKey: ctx.requestKey,
      effects: {},
    };
    if (approved) {
      const effects = entry.effects;
      effects.postings = ctx.postings;
      effects.holds = ctx.holds;
      effects.totals = ctx.totals;
      const originals = [...(ctx.changed ?? []).map((c) => ({ key: c.key, status: c.to })), ...(ctx.originals ?? [])];
      if (originals.length > 0) effects.originals = originals;
      effects.terminal = ctx.terminalUpdate;
      effects.discrepancies = ctx.discrepancies;
      effects.statusUpload = ctx.statusUpload;
    }
    if (handler?.indexed && ctx.authentic && ctx.freshKey) {
      entry.effects.txn = {
        key: ctx.requestKey,
        seq: 0,
        type: entry.type,
        businessDate: this.businessDate,
        mid: entry.mid,
        tid: entry.tid,
        batch: entry.batch,
        stan: entry.stan,
        panHash: ctx.panHash,
        amount: ctx.amount,
        rrn: '',
        authCode: '',
        date: ctx.date,
        time: ctx.time,
        responseCode: code,
        status: 'approved',
        mabHash: ctx.mabHash,
        postings: approved ? ctx.postings ?? [] : [],
        ...(approved && ctx.holds ? { holds: ctx.holds } : {}),
        ...(approved && ctx.changed ? { changed: ctx.changed } : {}),
        ...(approved && ctx.totals ? { totals: ctx.totals } : {}),
        ...(ctx.original ? { originalKey: ctx.original.key } : {}),
      };
    }
    ctx.entry = entry;
    const proposal: Proposal = {
      entry,
      rrn: handler?.rrn === true && ctx.replay === undefined && ctx.terminal !== undefined,
      authCode: handler?.authCode === true,
      ...(ctx.inquiry !== undefined && approved ? { inquiry: ctx.inquiry } : {}),
      ...(ctx.refundOf !== undefined && approved ? { refundOf: ctx.refundOf } : {}),
    };
    this.options.propose(ctx.id, proposal);
  }

  /** The book has made the entry durable: update what this worker holds and answer. */
  onReply(id: number, reply: Reply): void {
    const ctx = this.contexts[id];
    if (ctx?.entry === undefined) {
      this.options.log.error({ id }, 'book reply for no request in flight; ignored');
      return;
    }
    try {
      this.complete(ctx, reply);
    } catch (err) {
      this.fail(ctx, err);
    }
  }

  private complete(ctx: TxnContext, reply: Reply): void {
    const entry = ctx.entry!;
    if (ctx.replay === undefined) settleEntry(entry, reply);
    const effects = entry.effects;
    const terminal = ctx.terminal;
    if (terminal && effects.totals) {
      const counted = this.totals(terminal);
      terminal.totals = { batch: terminal.record.batch, totals: addTotals(counted, effects.totals) };
    }
    if (terminal && effects.terminal) this.updateTerminal(terminal, effects.terminal);
    for (const update of effects.originals ?? []) {
      const original = this.txn(update.key);
      if (original === undefined) continue;
      const changed = { ...original };
      if (update.status) changed.status = update.status;
      if (update.refund !== undefined) changed.refunded = (original.refunded ?? 0) + update.refund;
      this.remember(changed);
    }
    if (effects.txn) this.remember(effects.txn);
    this.answer(ctx, ctx.replay ?? effects.txn, entry.responseCode, reply.balance);
    this.release(ctx);
    if (terminal) this.next(terminal);
  }

  /** The terminal's turn passes to its next waiting request. */
  private next(terminal: TerminalState): void {
    terminal.busy = false;
    const waiting = terminal.waiting.shift();
    if (waiting) {
      terminal.busy = true;
      waiting.hasTurn = true;
      try {
        this.process(waiting);
      } catch (err) {
        this.fail(waiting, err);
      }
    }
  }

  private answer(ctx: TxnContext, record: TxnRecord | undefined, code: string, balance: number): void {
    const req = ctx.request;
    const mti = req.mti.slice(0, 2) + String(Number(req.mti[2]) + 1) + req.mti[3];
    const res = new TerminalMessage(mti, responseTpdu(req.tpdu), withProcessingRequirement(req.header, this.requirement(ctx.terminal?.record)));
    const financial = ctx.classification?.financial !== undefined || ctx.classification === undefined;
    for (const id of financial ? FINANCIAL_ECHO : MANAGEMENT_ECHO) res.fields[id] = req.fields[id];
    if (financial && ctx.pan && !req.has(2)) res.set(2, ctx.pan);
    res.set(12, record?.time ?? ctx.time).set(13, record?.date ?? ctx.date);
    if (financial) res.set(15, this.businessDate.slice(4, 8));
    res.set(32, this.options.acquirerId);
    const rrn = record?.rrn ?? ctx.entry!.rrn;
    if (rrn) res.set(37, rrn);
    const authCode = record?.authCode ?? ctx.entry!.authCode;
    if (code === '00' && authCode) res.set(38, authCode);
    res.set(39, code);
    if (financial && ctx.bin) {
      res.set(44, ctx.bin.issuer.slice(0, 11).padEnd(11) + this.options.acquirerId.padEnd(11));
      res.set(63, ctx.bin.organisation);
    }
    const reported = record?.balance ?? balance;
    if (code === '00' && ctx.classification?.type === 'balance-inquiry' && !Number.isNaN(reported) && reported !== undefined) {
      res.set(54, buildBalance({ accountType: '10', amountType: '02', currency: '156', amount: BigInt(reported) }));
    }
    for (const id of ctx.handler?.echo ?? NO_ECHO) res.fields[id] = req.fields[id];
    for (const [id, value] of ctx.extra) res.set(id, value);
    const mac = ctx.authentic && MAC_MTIS.has(req.mti) && ctx.terminal?.mak !== undefined;
    if (mac) res.set(64, EMPTY_MAC);
    const end = encodeTerminalFrame(res, this.out, 0, true);
    if (mac) this.hsm.generateMac(ctx.terminal!.mak!, ctx.terminal!.record.macAlgorithm, this.out, res.mabStart, res.mabEnd, this.out, end - 8);
    this.options.respond(ctx.connection, this.out, 0, end);
  }

  /**
   * The header's processing requirement (PROTOCOL.md section 1): `3` sign in again when the keys are
   * due for rotation, else `1`/`4`/`5` while a parameter set is newer than what the terminal has.
   */
  private requirement(terminal: Terminal | undefined): number {
    if (terminal === undefined || !terminal.signedIn) return 0;
    const now = Date.now();
    if (terminal.keys && now - terminal.keys.issuedAt > this.options.keyRotationHours * 3_600_000) return 3;
    if (now - this.parametersReadAt > 1000) {
      this.parametersReadAt = now;
      const versions: Partial<Record<ParameterKind, number>> = {};
      for (const { key, value } of this.state.parameters.getRange()) versions[key] = value.version;
      this.parameterVersions = versions;
    }
    const have = terminal.parameterVersions ?? {};
    for (const [kind, digit] of REQUIREMENT_DIGITS) {
      const current = this.parameterVersions[kind];
      if (current !== undefined && current > (have[kind] ?? 0)) return digit;
    }
    return 0;
  }

  merchant(mid: string): Merchant | undefined {
    return cached(this.merchants, mid, () => this.state.merchants.get(mid));
  }

  /** The BIN entry of a card (longest prefix), cached by the digits that decide it. */
  bin(pan: string): CardBin | undefined {
    return cached(this.bins, pan.slice(0, this.state.binKeyLength), () => this.state.binFor(pan));
  }

  /**
   * The settlement totals of the terminal's current batch as counted here. They are read from LMDB
   * only when the terminal is first loaded (LMDB then holds all of its entries); a later read
   * could already include an entry whose reply is about to be counted. A new batch starts empty.
   */
  totals(terminal: TerminalState): BatchTotals {
    const batch = terminal.record.batch;
    if (terminal.totals.batch !== batch) terminal.totals = { batch, totals: emptyTotals() };
    return terminal.totals.totals;
  }

  /** A terminal as this worker holds it, loaded from LMDB on first use. */
  terminal(tid: string): TerminalState | undefined {
    let state = this.terminals.get(tid);
    if (state === undefined) {
      const record = this.state.terminals.get(tid);
      if (record === undefined) return undefined;
      state = new TerminalState(record, { batch: record.batch, totals: this.state.batchTotals(tid, record.batch) });
      this.loadKeys(state);
      this.terminals.set(tid, state);
    }
    return state;
  }

  private updateTerminal(state: TerminalState, update: Partial<Terminal>): void {
    state.record = { ...state.record, ...update };
    if (update.keys) this.loadKeys(state);
  }

  private loadKeys(state: TerminalState): void {
    const keys = state.record.keys;
    state.mak = keys ? this.hsm.loadKey(keys.mak) : undefined;
    state.pik = keys ? this.hsm.loadKey(keys.pik) : undefined;
    state.tdk = keys?.tdk ? this.hsm.loadKey(keys.tdk) : undefined;
  }

  /** The index record under a request key: this worker's newest copy, else LMDB's. */
  txn(key: string): TxnRecord | undefined {
    return this.recent.get(key) ?? this.state.txns.get(key);
  }

  /** The approved pre-auth with this card token, auth code and date: this worker's newest copy, else LMDB's. */
  txnByAuth(panHash: string, authCode: string, date: string): TxnRecord | undefined {
    const key = this.recentAuths.get(authKey(panHash, authCode, date));
    return key !== undefined ? this.txn(key) : this.state.txnByAuth(panHash, authCode, date);
  }

  /** The index record with this RRN: this worker's newest copy, else LMDB's. */
  txnByRrn(rrn: string): TxnRecord | undefined {
    const key = this.recentRrns.get(rrn);
    return key !== undefined ? this.txn(key) : this.state.txnByRrn(rrn);
  }

  private remember(record: TxnRecord): void {
    this.recent.delete(record.key);
    this.recent.set(record.key, record);
    if (record.rrn) this.recentRrns.set(record.rrn, record.key);
    if (record.type === 'pre-auth' && record.responseCode === '00') this.recentAuths.set(authKey(record.panHash, record.authCode, record.date), record.key);
    if (this.recent.size > RECENT_LIMIT) this.trimRecent();
  }

  /** Drops the oldest records that LMDB already has. */
  private trimRecent(): void {
    const applied = this.state.appliedSeq();
    for (const [key, record] of this.recent) {
      if (this.recent.size <= RECENT_LIMIT / 2 || record.seq > applied) break;
      this.recent.delete(key);
      this.recentRrns.delete(record.rrn);
      this.recentAuths.delete(authKey(record.panHash, record.authCode, record.date));
    }
  }

  daysSince(businessDate: string): number {
    return this.businessDay - dayNumber(businessDate);
  }

  private acquire(): TxnContext {
    const id = this.free.pop();
    if (id !== undefined) return this.contexts[id];
    const ctx = new TxnContext();
    ctx.id = this.contexts.length;
    this.contexts.push(ctx);
    return ctx;
  }

  private release(ctx: TxnContext): void {
    ctx.reset();
    this.free.push(ctx.id);
  }
}

const EMPTY_MAC = Buffer.alloc(8);
const NO_ECHO: readonly number[] = [];
const REQUIREMENT_DIGITS: readonly [ParameterKind, number][] = [
  ['magstripe', 1],
  ['ca-key', 4],
  ['aid', 5],
];

/** Reference data changes (a merchant suspended, a BIN added) reach the workers within this time. */
const REFERENCE_TTL_MS = 2000;
const REFERENCE_CACHE_LIMIT = 10_000;

function cached<V>(cache: Map<string, { at: number; value: V }>, key: string, load: () => V): V {
  const now = Date.now();
  const hit = cache.get(key);
  if (hit !== undefined && now - hit.at < REFERENCE_TTL_MS) return hit.value;
  const value = load();
  if (cache.size >= REFERENCE_CACHE_LIMIT) cache.clear();
  cache.set(key, { at: now, value });
  return value;
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

function dayNumber(yyyymmdd: string): number {
  return Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))) / 86_400_000;
}
