import { SCREENING, ruleCode, type RiskRule } from '../txn/index.js';
import type { TxnContext } from './context.js';
import type { Step } from './outcomes.js';

/**
 * The risk rules a request alone decides, as steps of the worker's pipeline (src/txn/risk-rules.ts
 * says which kind is decided where; the rest are the book's). Each reads the compiled rules and
 * refuses with the rule's code, naming the rule in the journal.
 */

/** A card, terminal or merchant on a blacklist: `04`, `41`, `43` or `05` for a card; `05` for a terminal; `05` or `03` for a merchant. */
export const screenBlacklists: Step = (s, ctx) => {
  if (SCREENING[ctx.classification!.type] === undefined) return '';
  return refusedBy(ctx, s.riskRules().blacklisted(ctx.panHash, ctx.terminal!.record.tid, ctx.merchant!.mid));
};

/** A spend above its merchant's single limit (by MID, else by category): `61`. */
export const screenSingleLimit: Step = (s, ctx) => {
  if (!spends(ctx)) return '';
  return refusedBy(ctx, s.riskRules().singleLimit(ctx.merchant!.mid, ctx.merchant!.mcc, ctx.amount));
};

/** A spend outside its merchant category's hours (the switch's local time, as F12 says it): `57`. */
export const screenHours: Step = (s, ctx) => {
  if (!spends(ctx)) return '';
  return refusedBy(ctx, s.riskRules().outsideWindow(ctx.merchant!.mcc, minuteOfDay(ctx.time)));
};

/** A spend with a card of a BIN or type its merchant's category may not take: `57`. */
export const screenCategory: Step = (s, ctx) => {
  if (!spends(ctx)) return '';
  return refusedBy(ctx, s.riskRules().restricted(ctx.merchant!.mcc, ctx.pan, ctx.bin!.domestic));
};

function spends(ctx: TxnContext): boolean {
  return SCREENING[ctx.classification!.type]?.spend === true;
}

/** `rule`'s refusal, its id kept for the journal; `''` (go on) when no rule refuses. */
function refusedBy(ctx: TxnContext, rule: RiskRule | undefined): string {
  if (rule === undefined) return '';
  ctx.riskRule = rule.id;
  return ruleCode(rule);
}

/** `hhmmss` as minutes of the day, without making strings. */
function minuteOfDay(time: string): number {
  return ((time.charCodeAt(0) - 48) * 10 + time.charCodeAt(1) - 48) * 60 + (time.charCodeAt(2) - 48) * 10 + time.charCodeAt(3) - 48;
}
