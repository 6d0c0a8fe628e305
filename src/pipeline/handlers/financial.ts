import { parseF61 } from '../../codec/index.js';
import type { TxnRecord } from '../../store/index.js';
import type { TxnContext } from '../context.js';
import type { Services } from '../services.js';
import { adviceForReversal, followOriginal } from '../forward.js';
import { FINANCIAL, change, credit, debit, inverse, negate, purchaseLegs, type TypeHandler } from './handler.js';
import { F, RC, requestKeyOf } from '../../txn/index.js';

export const balanceInquiry: TypeHandler = {
  ...FINANCIAL,
  amount: false,
  authCode: false,
  prepare(_s, ctx) {
    ctx.inquiry = ctx.card!.account;
    return RC.APPROVED;
  },
  forwarded() {
    // A balance moves nothing: the host's F54 is the answer.
  },
};

export const sale: TypeHandler = {
  ...FINANCIAL,
  standsIn: true,
  prepare(_s, ctx) {
    ctx.postings = purchaseLegs(ctx);
    ctx.totals = debit(ctx, ctx.amount, 1);
    return RC.APPROVED;
  },
  forwarded(ctx) {
    ctx.totals = debit(ctx, ctx.amount, 1);
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
    prepare(s, ctx) {
      const f61 = parseF61(ctx.request.text(F.ORIGINAL_DATA) ?? '');
      const req = ctx.request;
      const original = s.txn(requestKeyOf(req, '0200', f61.batch, f61.stan));
      if (original === undefined || original.type !== type || original.status !== 'approved') return RC.ORIGINAL_NOT_FOUND;
      if (original.batch !== ctx.terminal!.record.batch) return RC.ORIGINAL_NOT_FOUND;
      const rrn = req.text(F.RRN);
      if (rrn !== undefined && rrn !== original.rrn) return RC.ORIGINAL_NOT_FOUND;
      if (original.panHash !== ctx.panHash) return RC.ORIGINAL_NOT_FOUND;
      if (original.amount !== ctx.amount) return RC.ORIGINAL_AMOUNT_INCORRECT;
      // Part of it went back as a refund: voiding the whole would pay the card twice.
      if ((original.refunded ?? 0) > 0) return RC.ORIGINAL_NOT_FOUND;
      // The host that approved the original decides the void.
      if (ctx.route === 'host') return followOriginal(s, ctx, original);
      undo(ctx, original, 'voided');
      return RC.APPROVED;
    },
    followsOriginal: true,
    forwarded(ctx) {
      undo(ctx, ctx.original!, 'voided');
    },
  };
}

/** Refund: F37 names the original by RRN, 61.3 its date; refunds may not add up beyond it. */
export const refund: TypeHandler = {
  ...FINANCIAL,
  prepare(s, ctx) {
    const rrn = ctx.request.text(F.RRN);
    if (rrn === undefined) return RC.ORIGINAL_NOT_FOUND;
    const original = s.txnByRrn(rrn);
    if (original === undefined || (original.type !== 'sale' && original.type !== 'pre-auth-completion') || original.status !== 'approved') return RC.ORIGINAL_NOT_FOUND;
    const f61 = parseF61(ctx.request.text(F.ORIGINAL_DATA) ?? '');
    if (f61.date && f61.date !== original.date) return RC.ORIGINAL_NOT_FOUND;
    if (original.mid !== ctx.merchant!.mid || original.panHash !== ctx.panHash) return RC.ORIGINAL_NOT_FOUND;
    if (s.daysSince(original.businessDate) > s.settings.refundWindowDays) return RC.ORIGINAL_NOT_FOUND;
    if ((original.refunded ?? 0) + ctx.amount > original.amount) return RC.ORIGINAL_AMOUNT_INCORRECT;
    // The host that approved the original decides the refund.
    if (ctx.route === 'host') return followOriginal(s, ctx, original);
    ctx.original = original;
    ctx.postings = inverse(purchaseLegs(ctx));
    refunding(ctx);
    return RC.APPROVED;
  },
  followsOriginal: true,
  forwarded: refunding,
};

/** What a refund records beyond its postings: credit totals, and the original's refunded total (the book has the last word on it). */
function refunding(ctx: TxnContext): void {
  const original = ctx.original!;
  ctx.totals = credit(ctx, ctx.amount, 1);
  ctx.originals = [{ key: original.key, refund: ctx.amount }];
  ctx.refundOf = { key: original.key, amount: ctx.amount, limit: original.amount };
}

/** Transfer (chosen): F62 is the payee's PAN in ASCII digits; both cards on-us. */
export const transfer: TypeHandler = {
  ...FINANCIAL,
  echo: [F.RESERVED_62],
  prepare(s, ctx) {
    const payee = ctx.request.binary(F.RESERVED_62)?.toString('latin1');
    if (payee === undefined || !/^\d{12,19}$/.test(payee)) return RC.FORMAT_ERROR;
    const card = s.card(payee);
    if (card === undefined || card.status !== 'active') return RC.INVALID_CARD;
    ctx.postings = [
      { account: ctx.card!.account, amount: -ctx.amount },
      { account: card.account, amount: ctx.amount },
    ];
    return RC.APPROVED;
  },
};

/** Bill payment (chosen): F62 is ASCII biller code (4) + bill account; the response echoes it. */
export const billPayment: TypeHandler = {
  ...FINANCIAL,
  echo: [F.RESERVED_62],
  prepare(s, ctx) {
    const f62 = ctx.request.binary(F.RESERVED_62);
    const text = f62?.toString('latin1') ?? '';
    if (text.length < 5) return RC.FORMAT_ERROR;
    const biller = s.biller(text.slice(0, 4));
    if (biller === undefined) return RC.INVALID_TRANSACTION;
    ctx.postings = [
      { account: ctx.card!.account, amount: -ctx.amount },
      { account: biller.account, amount: ctx.amount },
    ];
    return RC.APPROVED;
  },
};

/**
 * Reversal: the original is (MID, TID, batch, STAN, type). Not found: `00`, recorded. Found: its
 * effect is undone once; again: `00`, nothing undone. Other amount: `64`. Earlier day: `25`.
 */
export const reversal: TypeHandler = {
  session: 'batch', indexed: true, card: false, pin: false, amount: true, rrn: false, authCode: false,
  prepare(s: Services, ctx) {
    const spec = ctx.classification!.financial;
    if (spec === undefined || !spec.reversible) return RC.INVALID_TRANSACTION;
    const req = ctx.request;
    const original = s.txn(requestKeyOf(req, spec.mti));
    const pan = req.text(F.PAN);
    if (pan !== undefined) ctx.panHash = s.hsm.panToken(pan);
    if (original === undefined || original.type !== spec.type) return RC.APPROVED;
    ctx.original = original;
    if (original.businessDate !== s.businessDate()) return RC.ORIGINAL_NOT_FOUND;
    if (original.amount !== ctx.amount) return RC.ORIGINAL_AMOUNT_INCORRECT;
    if (original.status !== 'approved') return RC.APPROVED;
    if ((original.refunded ?? 0) > 0) return RC.ORIGINAL_NOT_FOUND;
    undo(ctx, original, 'reversed');
    // A host approved the original: it is owed a reversal advice, sent by store and forward.
    ctx.owedAdvice = adviceForReversal(original, s.now());
    return RC.APPROVED;
  },
};
