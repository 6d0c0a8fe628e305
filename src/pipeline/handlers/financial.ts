import { parseF61 } from '../../codec/index.js';
import type { TxnRecord } from '../../store/index.js';
import type { TxnContext } from '../context.js';
import type { Pipeline } from '../pipeline.js';
import { requestKey } from '../steps.js';
import { FINANCIAL, change, credit, debit, inverse, negate, purchaseLegs, type TypeHandler } from './handler.js';

export const balanceInquiry: TypeHandler = {
  ...FINANCIAL,
  amount: false,
  authCode: false,
  prepare(_p, ctx) {
    ctx.inquiry = ctx.card!.account;
    return '00';
  },
};

export const sale: TypeHandler = {
  ...FINANCIAL,
  prepare(_p, ctx) {
    ctx.postings = purchaseLegs(ctx);
    ctx.totals = debit(ctx, ctx.amount, 1);
    return '00';
  },
};

/**
 * Takes back everything `original` did: its postings, holds and settlement totals, and the status
 * changes it made to other records; `original` itself becomes `status`. Voids and reversals of
 * every type are this one operation.
 */
export function undo(ctx: TxnContext, original: TxnRecord, status: 'voided' | 'reversed'): void {
  ctx.original = original;
  ctx.postings = inverse(original.postings);
  ctx.holds = inverse(original.holds);
  ctx.totals = negate(original.totals);
  change(ctx, original, status);
  for (const c of original.changed ?? []) ctx.changed!.push({ key: c.key, from: c.to, to: c.from });
}

/** A void names its original by 61.1/61.2 in the current batch; card, amount and RRN must match. */
export function voidOf(type: 'sale' | 'pre-auth-completion'): TypeHandler {
  return {
    ...FINANCIAL,
    prepare(p, ctx) {
      const f61 = parseF61(ctx.request.text(61) ?? '');
      const req = ctx.request;
      const original = p.txn(requestKey(req.text(42)!, req.text(41)!, f61.batch, f61.stan, '0200'));
      if (original === undefined || original.type !== type || original.status !== 'approved') return '25';
      if (original.batch !== ctx.terminal!.record.batch) return '25';
      const rrn = req.text(37);
      if (rrn !== undefined && rrn !== original.rrn) return '25';
      if (original.panHash !== ctx.panHash) return '25';
      if (original.amount !== ctx.amount) return '64';
      // Part of it went back as a refund: voiding the whole would pay the card twice.
      if ((original.refunded ?? 0) > 0) return '25';
      undo(ctx, original, 'voided');
      return '00';
    },
  };
}

/** Refund: F37 names the original by RRN, 61.3 its date; refunds may not add up beyond it. */
export const refund: TypeHandler = {
  ...FINANCIAL,
  prepare(p, ctx) {
    const rrn = ctx.request.text(37);
    if (rrn === undefined) return '25';
    const original = p.txnByRrn(rrn);
    if (original === undefined || (original.type !== 'sale' && original.type !== 'pre-auth-completion') || original.status !== 'approved') return '25';
    const f61 = parseF61(ctx.request.text(61) ?? '');
    if (f61.date && f61.date !== original.date) return '25';
    if (original.mid !== ctx.merchant!.mid || original.panHash !== ctx.panHash) return '25';
    if (p.daysSince(original.businessDate) > p.refundWindowDays) return '25';
    if ((original.refunded ?? 0) + ctx.amount > original.amount) return '64';
    ctx.original = original;
    ctx.postings = inverse(purchaseLegs(ctx));
    ctx.totals = credit(ctx, ctx.amount, 1);
    ctx.originals = [{ key: original.key, refund: ctx.amount }];
    ctx.refundOf = { key: original.key, amount: ctx.amount, limit: original.amount };
    return '00';
  },
};

/** Transfer (chosen): F62 is the payee's PAN in ASCII digits; both cards on-us. */
export const transfer: TypeHandler = {
  ...FINANCIAL,
  echo: [62],
  prepare(p, ctx) {
    const payee = ctx.request.binary(62)?.toString('latin1');
    if (payee === undefined || !/^\d{12,19}$/.test(payee)) return '30';
    const card = p.state.cards.get(payee);
    if (card === undefined || card.status !== 'active') return '14';
    ctx.postings = [
      { account: ctx.card!.account, amount: -ctx.amount },
      { account: card.account, amount: ctx.amount },
    ];
    return '00';
  },
};

/** Bill payment (chosen): F62 is ASCII biller code (4) + bill account; the response echoes it. */
export const billPayment: TypeHandler = {
  ...FINANCIAL,
  echo: [62],
  prepare(p, ctx) {
    const f62 = ctx.request.binary(62);
    const text = f62?.toString('latin1') ?? '';
    if (text.length < 5) return '30';
    const biller = p.state.billers.get(text.slice(0, 4));
    if (biller === undefined) return '12';
    ctx.postings = [
      { account: ctx.card!.account, amount: -ctx.amount },
      { account: biller.account, amount: ctx.amount },
    ];
    return '00';
  },
};

/**
 * Reversal: the original is (MID, TID, batch, STAN, type). Not found: `00`, recorded. Found: its
 * effect is undone once; again: `00`, nothing undone. Other amount: `64`. Earlier day: `25`.
 */
export const reversal: TypeHandler = {
  session: 'batch', indexed: true, card: false, pin: false, amount: true, rrn: false, authCode: false,
  prepare(p: Pipeline, ctx) {
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
    if ((original.refunded ?? 0) > 0) return '25';
    undo(ctx, original, 'reversed');
    return '00';
  },
};
