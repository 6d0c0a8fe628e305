import type { Logger } from 'pino';
import { settleEntry, type BookGauges, type Proposal, type Reply } from '../book/index.js';
import { TerminalMessage, buildBalance, encodeTerminalFrame, responseTpdu, withProcessingRequirement, type HostMessage } from '../codec/index.js';
import type { HostGateway, LinkFailure } from '../channels/index.js';
import type { SecurityModule } from '../security/index.js';
import { blankEntry, type CardBin, type ParameterKind, type ReversalAdvice, type StateStore, type TxnRecord } from '../store/index.js';
import { F, FINANCIAL_ECHO, MANAGEMENT_ECHO, MAC_MTIS, RC, SCREENING, batchOf, maskPan, responseMti } from '../txn/index.js';
import { TICKET_IDS, TxnContext, type TerminalState } from './context.js';
import { WorkerServices, type Settings } from './services.js';
import { ADVICE_TICKETS, AdviceSender } from './advices.js';
import { adviceOf, hostOutcome, standInAdvice } from './forward.js';
import { ADMISSION, CLOSE, LEG, PENDING, PROCESSING, type Step } from './steps.js';

export interface PipelineOptions extends Settings {
  state: StateStore;
  hsm: SecurityModule;
  /** The business date until the book's first reply says otherwise. */
  businessDate: string;
  log: Logger;
  /** Sends `frame[start, end)` (a response with its length prefix) to the connection. */
  respond(connection: number, frame: Buffer, start: number, end: number): void;
  /** Drops the connection: the frame was too broken to answer. */
  close(connection: number): void;
  /** Hands the proposal to the book; the reply comes back through `onReply(id)`. */
  propose(id: number, proposal: Proposal): void;
  /** The steps in the terminal's turn (default: the switch's own); tests add steps that wait. */
  steps?: readonly Step[];
  /** This worker's host links; without them no card that is not ours can be forwarded (`91`). */
  hosts?: HostGateway;
  /** This pipeline sends the process's owed reversal advices (one per process does). */
  sendsAdvices?: boolean;
  /** The book's gauges: a cut-over stuck past its bound is answered `90` here, not left waiting. */
  gauges?: BookGauges;
}

/**
 * One worker's transaction pipeline: runs each request through the steps, hands the outcome to
 * the book, and answers once the book has made it durable. The worker owns its terminals (the
 * acceptor sends every frame of a terminal to the same worker), so their turns are kept here: a
 * terminal's next request waits until the one before it is answered, however long a step of that
 * one waits, while other terminals go on.
 */
export class Pipeline {
  readonly services: WorkerServices;
  private readonly options: PipelineOptions;
  private readonly steps: readonly Step[];
  private readonly contexts: TxnContext[] = [];
  private readonly free: number[] = [];
  private readonly out = Buffer.allocUnsafe(4096);
  private readonly advices: AdviceSender | undefined;
  /** The stuck cut-over last logged (its start), so each is logged once, not per request. */
  private cutoverLogged = 0;

  constructor(options: PipelineOptions) {
    this.options = options;
    this.steps = options.steps ?? PROCESSING;
    this.services = new WorkerServices(options.state, options.hsm, options, options.businessDate, (ticket, code) => this.resume(ticket, code), options.hosts);
    if (options.hosts && options.sendsAdvices) {
      this.advices = new AdviceSender(options.state, options.hosts, options.hsm, options.acquirerId, (key, advice) => this.proposeAdviceSettled(key, advice), options.log);
    }
  }

  /** Stops what runs on its own (the advice sender's sweeps). */
  close(): void {
    this.advices?.stop();
  }

  /** Journals that a host took an advice: the entry takes it off the queue. */
  private proposeAdviceSettled(key: string, advice: ReversalAdvice): void {
    const ctx = this.acquire();
    ctx.adviceKey = key;
    const entry = blankEntry();
    entry.at = Date.now();
    entry.type = 'advice-delivered';
    entry.mti = advice.sealedPan !== undefined ? '0220' : '0420';
    entry.mid = advice.mid;
    entry.tid = advice.tid;
    entry.stan = advice.stan;
    entry.rrn = advice.rrn;
    entry.amount = advice.amount;
    entry.currency = advice.currency;
    entry.responseCode = RC.APPROVED;
    entry.route = `host:${advice.link}`;
    entry.effects.advice = { key, record: null };
    this.options.propose(ctx.id, { entry, rrn: false, authCode: false });
  }

  onFrame(connection: number, data: Buffer, start: number, end: number): void {
    const ctx = this.acquire();
    ctx.connection = connection;
    ctx.arrived = process.hrtime.bigint();
    ctx.at = this.services.now();
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
      const result = step(this.services, ctx);
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

  /** The terminal's turn: run the remaining steps, unless admission already decided. */
  private process(ctx: TxnContext): void {
    let code = ctx.early;
    if (code === '') {
      const steps = this.steps;
      while (ctx.step < steps.length) {
        code = steps[ctx.step++](this.services, ctx);
        if (code === PENDING) return this.park(ctx);
        if (code === LEG) return this.proposeLeg(ctx);
        if (code !== '') break;
      }
    }
    this.finish(ctx, code || RC.APPROVED);
  }

  /** A step waits for an answer from elsewhere: the request keeps its terminal's turn until it comes or its deadline passes. */
  private park(ctx: TxnContext): void {
    ctx.timer = setTimeout(this.expire, ctx.waitMs, ctx, ctx.ticket);
  }

  /** The answer a waiting step asked for: `''` goes on at the next step, a code ends the request. Late or unknown tickets are ignored. */
  resume(ticket: number, code: string): void {
    const ctx = this.contexts[ticket % TICKET_IDS];
    if (ctx === undefined || ctx.ticket !== ticket || ctx.timer === undefined) return;
    clearTimeout(ctx.timer);
    ctx.timer = undefined;
    try {
      if (code === '') this.process(ctx);
      else this.finish(ctx, code);
    } catch (err) {
      this.fail(ctx, err);
    }
  }

  /**
   * The first of a host leg's two entries: the request, journalled before the host is asked, with
   * the RRN the book gives it (the host sees that RRN). Its reply resumes the request.
   */
  private proposeLeg(ctx: TxnContext): void {
    const req = ctx.request;
    const entry = blankEntry();
    entry.at = ctx.at;
    entry.type = 'host-request';
    entry.mti = req.mti;
    entry.mid = ctx.merchant!.mid;
    entry.tid = ctx.terminal!.record.tid;
    entry.batch = batchOf(req);
    entry.stan = req.text(F.STAN) ?? '';
    entry.panMasked = maskPan(ctx.pan);
    entry.panHash = ctx.panHash;
    entry.amount = ctx.amount;
    entry.currency = req.text(F.CURRENCY) ?? '';
    entry.route = `host:${ctx.link}`;
    entry.effects.advice = adviceOf(ctx, false);
    ctx.leg = 1;
    // The book's risk rules see the request before the host does.
    this.options.propose(ctx.id, { entry, rrn: true, authCode: false, screen: bookScreens(ctx.classification!.type) });
    this.park(ctx);
  }

  /** A host link's answer to a forwarded request (or why there is none): the request ends with what it comes to. */
  hostAnswer(ticket: number, answer: HostMessage | null, failure: LinkFailure | null): void {
    if (ticket >= ADVICE_TICKETS) return this.advices?.answer(ticket, answer, failure);
    const ctx = this.contexts[ticket % TICKET_IDS];
    if (ctx === undefined || ctx.ticket !== ticket || ctx.timer === undefined || ctx.leg !== 2) return;
    const code = hostOutcome(ctx, answer);
    if (code === RC.APPROVED) ctx.handler!.forwarded!(ctx);
    this.resume(ticket, code);
  }

  private readonly expire = (ctx: TxnContext, ticket: number): void => {
    if (ctx.ticket !== ticket || ctx.timer === undefined) return;
    ctx.timer = undefined;
    this.options.log.warn({ tid: ctx.terminal?.record.tid, type: ctx.classification?.type, waitedMs: ctx.waitMs }, 'a step passed its deadline');
    try {
      this.finish(ctx, ctx.handler?.timeout ?? RC.NO_ISSUER_RESPONSE);
    } catch (err) {
      this.fail(ctx, err);
    }
  };

  /** The outcome is known: journal it through the book. */
  private finish(ctx: TxnContext, code: string): void {
    if (code === CLOSE) {
      // The listener counts the close and logs it once per source per interval; the detail is for debugging.
      this.options.log.debug({ connection: ctx.connection, error: ctx.error }, 'frame cannot be answered, closing the connection');
      this.options.close(ctx.connection);
      this.release(ctx);
      return;
    }
    ctx.responseCode = code;
    const handler = ctx.handler;
    const req = ctx.request;
    const approved = code === RC.APPROVED && ctx.replay === undefined;
    // The book stamps seq, its business date, RRN and auth code; the rest is the request's.
    const entry = blankEntry();
    entry.at = ctx.at;
    entry.type = ctx.classification?.type ?? 'unknown';
    entry.mti = req.mti;
    entry.mid = req.text(F.MERCHANT_ID) ?? '';
    entry.tid = req.text(F.TERMINAL_ID) ?? '';
    entry.batch = batchOf(req);
    entry.stan = req.text(F.STAN) ?? '';
    // A host leg's RRN came with its first entry, its authorisation code from the host.
    const leg = ctx.leg === 2;
    entry.rrn = ctx.replay?.rrn ?? (leg ? ctx.rrn : '');
    entry.authCode = ctx.replay?.authCode ?? (leg ? ctx.hostAuthCode : '');
    entry.panMasked = ctx.pan ? maskPan(ctx.pan) : '';
    entry.panHash = ctx.panHash;
    entry.amount = ctx.amount;
    entry.currency = req.text(F.CURRENCY) ?? '';
    entry.responseCode = code;
    entry.originalKey = ctx.original?.key ?? '';
    entry.route = ctx.replay ? 'replay' : ctx.standIn ? `stand-in:${ctx.link}` : ctx.link !== '' ? `host:${ctx.link}` : ctx.route;
    entry.latencyUs = Number((process.hrtime.bigint() - ctx.arrived) / 1000n);
    entry.requestKey = ctx.requestKey;
    entry.riskRule = ctx.riskRule;
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
      effects.unbalanced = ctx.unbalanced;
    }
    // A host leg ends: its advice is settled, or owed when the host may have acted without answering.
    if (leg) entry.effects.advice = ctx.advice ? adviceOf(ctx, true) : { key: adviceOf(ctx, false).key, record: null };
    if (approved && ctx.owedAdvice) entry.effects.advice = ctx.owedAdvice;
    if (approved && ctx.standIn) entry.effects.advice = standInAdvice(this.services, ctx);
    if (handler?.indexed && ctx.authentic && ctx.freshKey) {
      // What the answer carries beyond the request is kept with the record, so a retransmission
      // gets the same bytes even after the BIN table or the terminal's parameters have changed.
      const txn: TxnRecord = {
        key: ctx.requestKey,
        seq: 0,
        type: entry.type,
        businessDate: '',
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
        requirement: this.requirement(ctx.terminal),
      };
      if (leg && approved) txn.host = { link: ctx.link, stan: ctx.hostStan, time: ctx.hostTime };
      if (ctx.standIn && approved) txn.host = { link: ctx.link, stan: ctx.hostStan, time: ctx.hostTime, standIn: true };
      if (ctx.bin !== undefined && ctx.classification?.financial !== undefined) {
        txn.issuer = this.issuerIds(ctx.bin);
        txn.organisation = ctx.bin.organisation;
      }
      entry.effects.txn = txn;
    }
    ctx.entry = entry;
    if (this.options.gauges?.cutoverStuck(this.services.now())) return this.refuseDuringCutover(ctx);
    const proposal: Proposal = {
      entry,
      rrn: handler?.rrn === true && ctx.replay === undefined && ctx.terminal !== undefined && !leg,
      authCode: handler?.authCode === true && ctx.replay === undefined && !leg,
      // A host's answer is the host's: the book screened its leg.
      screen: ctx.replay === undefined && !leg && bookScreens(entry.type),
      ...(ctx.inquiry !== undefined && approved ? { inquiry: ctx.inquiry } : {}),
      ...(ctx.refundOf !== undefined && approved ? { refundOf: ctx.refundOf } : {}),
    };
    this.options.propose(ctx.id, proposal);
  }

  /**
   * The book has been in a cut-over longer than its bound (a new day's file it cannot open): the
   * request is answered `90` unjournalled, so it changed nothing and the terminal may try again.
   */
  private refuseDuringCutover(ctx: TxnContext): void {
    const since = this.options.gauges!.cutoverSince;
    if (this.cutoverLogged !== since) this.options.log.warn({ since: new Date(since).toISOString() }, 'cut-over stuck: answering 90 until it ends');
    this.cutoverLogged = since;
    ctx.entry!.businessDate = this.services.businessDate();
    this.answer(ctx, undefined, RC.CUT_OVER_IN_PROGRESS, NaN);
    const terminal = ctx.terminal;
    this.release(ctx);
    if (terminal) this.next(terminal);
  }

  /** The book has made the entry durable: update what this worker holds and answer. */
  onReply(id: number, reply: Reply): void {
    const ctx = this.contexts[id];
    if (ctx !== undefined && ctx.adviceKey !== '') return this.release(ctx);
    if (ctx?.leg === 1) {
      ctx.leg = 2;
      ctx.rrn = reply.rrn;
      // A leg goes on with no code ('' reads back padded), or ends with the risk rule's refusal.
      return this.resume(ctx.ticket, reply.responseCode.trimEnd());
    }
    if (ctx?.entry === undefined) {
      this.options.log.error({ id }, 'book reply for no request in flight; ignored');
      return;
    }
    try {
      const entry = ctx.entry;
      settleEntry(entry, reply);
      this.services.learn(entry, ctx.terminal);
      this.answer(ctx, ctx.replay ?? entry.effects.txn, entry.responseCode, reply.balance);
      const terminal = ctx.terminal;
      this.release(ctx);
      if (terminal) this.next(terminal);
    } catch (err) {
      this.fail(ctx, err);
    }
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

  /** F44: the issuer's and the acquirer's ids, 11 characters each. */
  private issuerIds(bin: CardBin): string {
    return bin.issuer.slice(0, 11).padEnd(11) + this.options.acquirerId.padEnd(11);
  }

  /** Builds and sends the answer: from the stored record (`record`) when there is one, so a replay repeats it byte for byte. */
  private answer(ctx: TxnContext, record: TxnRecord | undefined, code: string, balance: number): void {
    const req = ctx.request;
    // The decode step closes on any MTI that is not a request.
    const mti = responseMti(req.mti)!;
    const requirement = record?.requirement ?? this.requirement(ctx.terminal);
    const res = new TerminalMessage(mti, responseTpdu(req.tpdu), withProcessingRequirement(req.header, requirement));
    const financial = ctx.classification?.financial !== undefined || ctx.classification === undefined;
    for (const id of financial ? FINANCIAL_ECHO : MANAGEMENT_ECHO) res.fields[id] = req.fields[id];
    if (financial && ctx.pan && !req.has(F.PAN)) res.set(F.PAN, ctx.pan);
    res.set(F.LOCAL_TIME, record?.time ?? ctx.time).set(F.LOCAL_DATE, record?.date ?? ctx.date);
    if (financial) res.set(F.SETTLEMENT_DATE, (record?.businessDate ?? ctx.entry!.businessDate).slice(4, 8));
    res.set(F.ACQUIRER_ID, this.options.acquirerId);
    const rrn = record?.rrn ?? ctx.entry!.rrn;
    if (rrn) res.set(F.RRN, rrn);
    const authCode = record?.authCode ?? ctx.entry!.authCode;
    if (code === RC.APPROVED && authCode) res.set(F.AUTH_CODE, authCode);
    res.set(F.RESPONSE_CODE, code);
    // F44 and F63 of a financial answer whose card's BIN was known, as the record kept them.
    if (record !== undefined) {
      if (record.issuer !== undefined) res.set(F.ISSUER_ACQUIRER, record.issuer).set(F.RESERVED_63, record.organisation ?? '');
    } else if (financial && ctx.bin !== undefined) {
      res.set(F.ISSUER_ACQUIRER, this.issuerIds(ctx.bin)).set(F.RESERVED_63, ctx.bin.organisation);
    }
    const reported = record?.balance ?? balance;
    if (code === RC.APPROVED && ctx.classification?.type === 'balance-inquiry' && !Number.isNaN(reported) && reported !== undefined) {
      res.set(F.BALANCE, buildBalance({ accountType: '10', amountType: '02', currency: '156', amount: BigInt(reported) }));
    }
    for (const id of ctx.handler?.echo ?? NO_ECHO) res.fields[id] = req.fields[id];
    for (const [id, value] of ctx.extra) res.set(id, value);
    const mac = ctx.authentic && MAC_MTIS.has(req.mti) && ctx.terminal?.mak !== undefined;
    if (mac) res.set(F.MAC, EMPTY_MAC);
    const end = encodeTerminalFrame(res, this.out, 0, true);
    if (mac) this.options.hsm.generateMac(ctx.terminal!.mak!, ctx.terminal!.record.macAlgorithm, this.out, res.mabStart, res.mabEnd, this.out, end - 8);
    this.options.respond(ctx.connection, this.out, 0, end);
  }

  /**
   * The header's processing requirement (PROTOCOL.md section 1): `3` sign in again when the keys are
   * due for rotation, else `1`/`4`/`5` while a parameter set is newer than what the terminal has.
   */
  private requirement(state: TerminalState | undefined): number {
    const terminal = state?.record;
    if (terminal === undefined || !terminal.signedIn) return 0;
    if (terminal.keys && this.services.now() - terminal.keys.issuedAt > this.options.keyRotationHours * 3_600_000) return 3;
    const versions = this.services.parameterVersions();
    const have = terminal.parameterVersions ?? {};
    for (const [kind, digit] of REQUIREMENT_DIGITS) {
      const current = versions[kind];
      if (current !== undefined && current > (have[kind] ?? 0)) return digit;
    }
    return 0;
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
    if (ctx.timer !== undefined) clearTimeout(ctx.timer);
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

/** Whether the book's risk rules (the day's limits, the PIN tries) screen requests of `type`. */
function bookScreens(type: string): boolean {
  const screening = SCREENING[type];
  return screening !== undefined && (screening.spend || screening.pinTries);
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}
