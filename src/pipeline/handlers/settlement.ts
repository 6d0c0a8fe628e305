import { FormatError, buildSettlementTotals, parseBatchUpload, parseSettlementTotals, type SettlementSide } from '../../codec/index.js';
import type { Discrepancy, SideTotals } from '../../store/index.js';
import type { TxnContext } from '../context.js';
import type { Pipeline } from '../pipeline.js';
import { requestKey } from '../steps.js';
import { MANAGEMENT, type TypeHandler } from './handler.js';

/** The batch after `batch` (n6, 000001 after 999999). */
export function nextBatch(batch: string): string {
  const n = Number(batch) % 999_999;
  return String(n + 1).padStart(6, '0');
}

function agrees(side: SettlementSide, ours: SideTotals): boolean {
  return (
    side.debitAmount === BigInt(ours.debitAmount) &&
    side.debitCount === ours.debitCount % 1000 &&
    side.creditAmount === BigInt(ours.creditAmount) &&
    side.creditCount === ours.creditCount % 1000
  );
}

function side(ours: SideTotals, result: number): SettlementSide {
  return { debitAmount: BigInt(ours.debitAmount), debitCount: ours.debitCount, creditAmount: BigInt(ours.creditAmount), creditCount: ours.creditCount, result };
}

/**
 * Settlement (0500): the terminal's totals against the switch's. Balanced: result `1`, totals
 * echoed, and the terminal moves to the next batch. Unbalanced: result `2` with the switch's
 * totals; the terminal uploads its details and the batch moves at the upload's end.
 */
export const settlement: TypeHandler = {
  ...MANAGEMENT,
  session: 'batch',
  prepare(p, ctx) {
    const f48 = ctx.request.text(48);
    if (f48 === undefined) return '30';
    let theirs;
    try {
      theirs = parseSettlementTotals(f48);
    } catch (err) {
      if (err instanceof FormatError) return '30';
      throw err;
    }
    const ours = p.totals(ctx.terminal!);
    const balanced = agrees(theirs.domestic, ours.domestic) && agrees(theirs.foreign, ours.foreign);
    const result = balanced ? 1 : 2;
    ctx.extra.set(48, buildSettlementTotals({ domestic: side(ours.domestic, result), foreign: side(ours.foreign, result) }));
    if (balanced) ctx.terminalUpdate = { batch: nextBatch(ctx.terminal!.record.batch) };
    return '00';
  },
};

/** Compares one uploaded detail with what the switch recorded. */
function compare(p: Pipeline, ctx: TxnContext, batch: string, stan: string, pan: string, amount: number): Discrepancy | undefined {
  const req = ctx.request;
  const record = p.txn(requestKey(req.text(42)!, req.text(41)!, batch, stan, '0200')) ?? p.txn(requestKey(req.text(42)!, req.text(41)!, batch, stan, '0220'));
  const base = { tid: req.text(41)!, batch, stan, uploaded: amount, businessDate: p.businessDate, at: ctx.at };
  if (record === undefined) return { ...base, kind: 'missing', recorded: 0 };
  if (record.status !== 'approved') return { ...base, kind: 'status', recorded: record.amount };
  if (record.amount !== amount) return { ...base, kind: 'amount', recorded: record.amount };
  if (record.panHash !== p.hsm.panToken(pan)) return { ...base, kind: 'card', recorded: record.amount };
  return undefined;
}

/** Batch upload (0320 201): every detail compared with the journal; differences kept for reconciliation. */
export const batchUpload: TypeHandler = {
  ...MANAGEMENT,
  prepare(p, ctx) {
    const f48 = ctx.request.text(48);
    if (f48 === undefined) return '30';
    let records;
    try {
      records = parseBatchUpload(f48);
    } catch (err) {
      if (err instanceof FormatError) return '30';
      throw err;
    }
    const batch = (ctx.request.text(60) ?? '').slice(2, 8);
    const found: Discrepancy[] = [];
    for (const r of records) {
      const d = compare(p, ctx, batch, r.stan, r.pan, Number(r.amount));
      if (d) found.push(d);
    }
    if (found.length > 0) ctx.discrepancies = found;
    return '00';
  },
};

/** Upload end (202/207): F48 is the detail count; a count that differs is a discrepancy too. The batch moves on. */
export const batchUploadEnd: TypeHandler = {
  ...MANAGEMENT,
  prepare(p, ctx) {
    const f48 = ctx.request.text(48) ?? '';
    if (!/^\d{4}$/.test(f48)) return '30';
    const terminal = ctx.terminal!;
    const batch = (ctx.request.text(60) ?? '').slice(2, 8);
    if (batch === terminal.record.batch) {
      const ours = p.totals(terminal);
      const count = ours.domestic.debitCount + ours.domestic.creditCount + ours.foreign.debitCount + ours.foreign.creditCount;
      if (count !== Number(f48)) {
        ctx.discrepancies = [{ tid: terminal.record.tid, batch, stan: '000000', kind: 'count', uploaded: Number(f48), recorded: count, businessDate: p.businessDate, at: ctx.at }];
      }
      ctx.terminalUpdate = { batch: nextBatch(batch) };
    }
    return '00';
  },
};
