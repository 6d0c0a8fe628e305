import { parseF61 } from '../../codec/index.js';
import type { TxnRecord } from '../../store/index.js';
import type { TxnContext } from '../context.js';
import type { Services } from '../services.js';
import { followOriginal } from '../forward.js';
import { undo } from './financial.js';
import { FINANCIAL, change, debit, purchaseLegs, type TypeHandler } from './handler.js';
import { F, RC } from '../../txn/index.js';

/** A completion may capture up to 115% of the pre-authorised amount (PROTOCOL.md section 8). */
const COMPLETION_LIMIT_PERCENT = 115;

/** Pre-auth: a hold on the card for the amount, F38 the auth code that names it later. */
export const preAuth: TypeHandler = {
  ...FINANCIAL,
  prepare(_s, ctx) {
    ctx.holds = [{ account: ctx.card!.account, amount: ctx.amount }];
    return RC.APPROVED;
  },
  forwarded() {
    // The issuer holds the funds of an off-us card; here it is only recorded (its F38 names it later).
  },
};

/** The pre-auth named by PAN + F38 + 61.3, still holding funds; `undefined` when there is none. */
function findPreAuth(s: Services, ctx: TxnContext): TxnRecord | undefined {
  const authCode = ctx.request.text(F.AUTH_CODE);
  const date = parseF61(ctx.request.text(F.ORIGINAL_DATA) ?? '').date;
  if (authCode === undefined || !date) return undefined;
  const original = s.txnByAuth(ctx.panHash, authCode, date);
  if (original === undefined || original.type !== 'pre-auth' || original.status !== 'approved') return undefined;
  if (original.mid !== ctx.merchant!.mid) return undefined;
  if (s.daysSince(original.businessDate) > s.settings.holdDays) return undefined;
  return original;
}

export const preAuthVoid: TypeHandler = {
  ...FINANCIAL,
  authCode: false,
  prepare(s, ctx) {
    const original = findPreAuth(s, ctx);
    if (original === undefined) return RC.ORIGINAL_NOT_FOUND;
    if (original.amount !== ctx.amount) return RC.ORIGINAL_AMOUNT_INCORRECT;
    if (ctx.route === 'host') return followOriginal(s, ctx, original);
    undo(ctx, original, 'voided');
    return RC.APPROVED;
  },
  followsOriginal: true,
  forwarded(ctx) {
    undo(ctx, ctx.original!, 'voided');
  },
};

/** Completion (online request or offline notice): captures up to 115% and releases the hold. */
export const completion: TypeHandler = {
  ...FINANCIAL,
  prepare(s, ctx) {
    const original = findPreAuth(s, ctx);
    if (original === undefined) return RC.ORIGINAL_NOT_FOUND;
    // Integer arithmetic: 100000 * 1.15 is 114999.99... in floating point.
    if (ctx.amount * 100 > original.amount * COMPLETION_LIMIT_PERCENT) return RC.ORIGINAL_AMOUNT_INCORRECT;
    // The host that authorised it captures it.
    if (ctx.route === 'host') return followOriginal(s, ctx, original);
    ctx.original = original;
    ctx.postings = purchaseLegs(ctx);
    ctx.holds = [{ account: ctx.card!.account, amount: -original.amount }];
    capturing(ctx);
    return RC.APPROVED;
  },
  followsOriginal: true,
  forwarded: capturing,
};

/** What a completion records beyond postings and holds: debit totals, and its pre-auth completed. */
function capturing(ctx: TxnContext): void {
  ctx.totals = debit(ctx, ctx.amount, 1);
  change(ctx, ctx.original!, 'completed');
}
