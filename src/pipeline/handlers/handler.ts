import type { Posting, StatusChange, TotalsDelta, TxnRecord } from '../../store/index.js';
import type { TxnContext } from '../context.js';
import type { Services } from '../services.js';

/**
 * What each transaction type needs of the common steps, and the one function that is its own:
 * `prepare` finds originals, checks the type's rules and proposes postings and state changes.
 * Types missing from the table are answered `40` (function not supported).
 */
export interface TypeHandler {
  /** `batch`: signed in and 60.2 is the current batch; `signed-in`: signed in, any batch; false: neither. */
  readonly session: 'batch' | 'signed-in' | false;
  /** Recorded under its request key: retransmissions replay it, later requests find it. */
  readonly indexed: boolean;
  readonly card: boolean;
  readonly pin: 'optional' | 'required' | false;
  readonly amount: boolean;
  /** Gets an RRN (F37); approvals of `authCode` types also get F38. */
  readonly rrn: boolean;
  readonly authCode: boolean;
  /** Request fields the response repeats beyond the common ones (also when a retransmission is replayed). */
  readonly echo?: readonly number[];
  /** The answer when a step this type waits on (a host leg) passes its deadline; default `98`. */
  readonly timeout?: string;
  /** A response code, or `PENDING` (with `ctx.waitMs` set) when the answer comes through `Services.resume`. */
  prepare(s: Services, ctx: TxnContext): string;
  /**
   * What an approval by a host records here (settlement totals): types without it are not
   * forwarded, and an off-us card is answered `91` for them.
   */
  forwarded?(ctx: TxnContext): void;
  /**
   * A request about an original (a void) goes to the host that approved the original, not where
   * the routing table says: `prepare` finds the original and names its link.
   */
  readonly followsOriginal?: boolean;
  /** The switch may approve it for the issuer while the route's hosts are unreachable (stand-in). */
  readonly standsIn?: boolean;
}

/** Flags shared by the card-present financial types. */
export const FINANCIAL = { session: 'batch', indexed: true, card: true, pin: 'optional', amount: true, rrn: true, authCode: true } as const;
/** Flags of management messages that need a signed-in terminal. */
export const MANAGEMENT = { session: 'signed-in', indexed: false, card: false, pin: false, amount: false, rrn: false, authCode: false } as const;

export function inverse(legs: readonly Posting[] | undefined): Posting[] {
  return (legs ?? []).map((leg) => ({ account: leg.account, amount: -leg.amount }));
}

/** Card pays merchant. */
export function purchaseLegs(ctx: TxnContext, amount = ctx.amount): Posting[] {
  return [
    { account: ctx.card!.account, amount: -amount },
    { account: ctx.merchant!.account, amount },
  ];
}

export function debit(ctx: TxnContext, amount: number, count: number): TotalsDelta {
  return { domestic: ctx.bin?.domestic ?? true, debitAmount: amount, debitCount: count, creditAmount: 0, creditCount: 0 };
}

export function credit(ctx: TxnContext, amount: number, count: number): TotalsDelta {
  return { domestic: ctx.bin?.domestic ?? true, debitAmount: 0, debitCount: 0, creditAmount: amount, creditCount: count };
}

export function negate(delta: TotalsDelta | undefined): TotalsDelta | undefined {
  if (delta === undefined) return undefined;
  return { domestic: delta.domestic, debitAmount: -delta.debitAmount, debitCount: -delta.debitCount, creditAmount: -delta.creditAmount, creditCount: -delta.creditCount };
}

/** Records that this request moves `original` from its current status to `to`. */
export function change(ctx: TxnContext, original: TxnRecord, to: StatusChange['to']): void {
  (ctx.changed ??= []).push({ key: original.key, from: original.status, to });
}
