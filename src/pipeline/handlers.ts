import { parseF61 } from '../codec/index.js';
import type { KeyMode, Posting } from '../store/index.js';
import type { TxnType } from '../txn/index.js';
import type { TxnContext } from './context.js';
import type { Pipeline } from './pipeline.js';
import { requestKey } from './steps.js';

/**
 * What each transaction type needs of the common steps, and the one function that is its own:
 * `prepare` finds originals, checks the type's rules and proposes postings and state changes.
 * Types missing from the table are answered `40` (function not supported).
 */
export interface TypeHandler {
  /** Needs a signed-in terminal in its current batch. */
  readonly session: boolean;
  /** Recorded under its request key: retransmissions replay it, later requests find it. */
  readonly indexed: boolean;
  readonly card: boolean;
  readonly pin: 'optional' | 'required' | false;
  readonly amount: boolean;
  /** Gets an RRN (F37); approvals of `authCode` types also get F38. */
  readonly rrn: boolean;
  readonly authCode: boolean;
  prepare(p: Pipeline, ctx: TxnContext): string;
}

const approve = (): string => '00';

function inverse(postings: readonly Posting[]): Posting[] {
  return postings.map((leg) => ({ account: leg.account, amount: -leg.amount }));
}

function saleLegs(ctx: TxnContext): Posting[] {
  return [
    { account: ctx.card!.account, amount: -ctx.amount },
    { account: ctx.merchant!.account, amount: ctx.amount },
  ];
}

const signIn: TypeHandler = {
  session: false, indexed: false, card: false, pin: false, amount: false, rrn: true, authCode: false,
  prepare(p, ctx) {
    const f60 = ctx.request.text(60) ?? '';
    const mode = f60.slice(8, 11) as KeyMode;
    const terminal = ctx.terminal!.record;
    const keys = p.hsm.issueWorkingKeys(terminal.tmk, mode);
    ctx.extra.set(62, keys.f62);
    ctx.extra.set(60, '00' + terminal.batch + f60.slice(8));
    ctx.terminalUpdate = { signedIn: true, keys: { mode, pik: keys.pik, mak: keys.mak, tdk: keys.tdk, issuedAt: ctx.at } };
    return '00';
  },
};

const signOff: TypeHandler = {
  session: false, indexed: false, card: false, pin: false, amount: false, rrn: false, authCode: false,
  prepare(_p, ctx) {
    ctx.terminalUpdate = { signedIn: false };
    return '00';
  },
};

const echo: TypeHandler = {
  session: false, indexed: false, card: false, pin: false, amount: false, rrn: false, authCode: false,
  prepare: approve,
};

const balanceInquiry: TypeHandler = {
  session: true, indexed: true, card: true, pin: 'optional', amount: false, rrn: true, authCode: false,
  prepare(_p, ctx) {
    ctx.inquiry = ctx.card!.account;
    return '00';
  },
};

const sale: TypeHandler = {
  session: true, indexed: true, card: true, pin: 'optional', amount: true, rrn: true, authCode: true,
  prepare(_p, ctx) {
    ctx.postings = saleLegs(ctx);
    return '00';
  },
};

/** Void: 61.1/61.2 name the sale in the current batch; card and amount must match it. */
const saleVoid: TypeHandler = {
  session: true, indexed: true, card: true, pin: 'optional', amount: true, rrn: true, authCode: true,
  prepare(p, ctx) {
    const f61 = parseF61(ctx.request.text(61) ?? '');
    const req = ctx.request;
    const original = p.txn(requestKey(req.text(42)!, req.text(41)!, f61.batch, f61.stan, '0200'));
    if (original === undefined || original.type !== 'sale' || original.status !== 'approved') return '25';
    if (original.batch !== ctx.terminal!.record.batch) return '25';
    const rrn = req.text(37);
    if (rrn !== undefined && rrn !== original.rrn) return '25';
    if (original.panHash !== ctx.panHash) return '25';
    if (original.amount !== ctx.amount) return '64';
    ctx.original = original;
    ctx.postings = inverse(original.postings);
    ctx.originals = [{ key: original.key, status: 'voided' }];
    return '00';
  },
};

/** Refund: F37 names the original by RRN, 61.3 its date; refunds may not add up beyond it. */
const refund: TypeHandler = {
  session: true, indexed: true, card: true, pin: 'optional', amount: true, rrn: true, authCode: true,
  prepare(p, ctx) {
    const rrn = ctx.request.text(37);
    if (rrn === undefined) return '25';
    const original = p.txnByRrn(rrn);
    if (original === undefined || original.type !== 'sale' || original.status !== 'approved') return '25';
    const f61 = parseF61(ctx.request.text(61) ?? '');
    if (f61.date && f61.date !== original.date) return '25';
    if (original.mid !== ctx.merchant!.mid || original.panHash !== ctx.panHash) return '25';
    if (p.daysSince(original.businessDate) > p.refundWindowDays) return '25';
    const refunded = (original.refunded ?? 0) + ctx.amount;
    if (refunded > original.amount) return '64';
    ctx.original = original;
    ctx.postings = inverse(saleLegs(ctx));
    ctx.originals = [{ key: original.key, refund: ctx.amount }];
    ctx.refundOf = { key: original.key, amount: ctx.amount, limit: original.amount };
    return '00';
  },
};

/**
 * Reversal: the original is (MID, TID, batch, STAN, type). Not found: `00`, recorded. Found: its
 * effect is undone once; again: `00`, nothing undone. Other amount: `64`. Earlier day: `25`.
 */
const reversal: TypeHandler = {
  session: true, indexed: true, card: false, pin: false, amount: true, rrn: false, authCode: false,
  prepare(p, ctx) {
    const spec = ctx.classification!.financial;
    if (spec === undefined || !spec.reversible) return '12';
    const req = ctx.request;
    const original = p.txn(requestKey(req.text(42)!, req.text(41)!, (req.text(60) ?? '').slice(2, 8), req.text(11) ?? '', spec.mti));
    const pan = req.text(2);
    if (pan !== undefined) ctx.panHash = p.hsm.panToken(pan);
    if (original === undefined || original.type !== spec.type) return '00';
    ctx.original = original;
    if (original.businessDate !== p.businessDate) return '25';
    if (original.amount !== ctx.amount) return '64';
    if (original.status !== 'approved') return '00';
    ctx.postings = inverse(original.postings);
    ctx.originals = [{ key: original.key, status: 'reversed' }];
    // Reversing a void puts what it voided back.
    if (original.originalKey) ctx.originals.push({ key: original.originalKey, status: 'approved' });
    return '00';
  },
};

export const HANDLERS: Partial<Record<TxnType, TypeHandler>> = {
  'sign-in': signIn,
  'sign-off': signOff,
  echo,
  'balance-inquiry': balanceInquiry,
  sale,
  'sale-void': saleVoid,
  refund,
  reversal,
};
