import { FormatError, buildSettlementTotals, parseBatchUpload, parseSettlementTotals, type SettlementSide } from '../../codec/index.js';
import type { Discrepancy, SideTotals } from '../../store/index.js';
import type { TxnContext } from '../context.js';
import type { Services } from '../services.js';
import { MANAGEMENT, type TypeHandler } from './handler.js';
import { batchOf, F, RC, requestKeyOf } from '../../txn/index.js';

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

function sideTotals(side: SettlementSide): SideTotals {
  return { debitAmount: Number(side.debitAmount), debitCount: side.debitCount, creditAmount: Number(side.creditAmount), creditCount: side.creditCount };
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
  prepare(s, ctx) {
    const theirs = parsedF48(ctx, parseSettlementTotals);
    if (theirs === undefined) return RC.FORMAT_ERROR;
    const ours = s.totals(ctx.terminal!);
    const balanced = agrees(theirs.domestic, ours.domestic) && agrees(theirs.foreign, ours.foreign);
    const result = balanced ? 1 : 2;
    ctx.extra.set(F.ADDITIONAL_DATA, buildSettlementTotals({ domestic: side(ours.domestic, result), foreign: side(ours.foreign, result) }));
    if (balanced) ctx.terminalUpdate = { batch: nextBatch(ctx.terminal!.record.batch) };
    else ctx.unbalanced = { declared: { domestic: sideTotals(theirs.domestic), foreign: sideTotals(theirs.foreign) }, recorded: ours };
    return RC.APPROVED;
  },
};

/** F48 read with `parse`; `undefined` when it is absent or does not fit (the request is answered `30`). */
function parsedF48<V>(ctx: TxnContext, parse: (f48: string) => V): V | undefined {
  const f48 = ctx.request.text(F.ADDITIONAL_DATA);
  if (f48 === undefined) return undefined;
  try {
    return parse(f48);
  } catch (err) {
    if (err instanceof FormatError) return undefined;
    throw err;
  }
}

/** Compares one uploaded detail with what the switch recorded. */
function compare(s: Services, ctx: TxnContext, batch: string, stan: string, pan: string, amount: number): Discrepancy | undefined {
  const req = ctx.request;
  const record = s.txn(requestKeyOf(req, '0200', batch, stan)) ?? s.txn(requestKeyOf(req, '0220', batch, stan));
  const base = { tid: req.text(F.TERMINAL_ID)!, batch, stan, uploaded: amount, businessDate: s.businessDate(), at: ctx.at };
  if (record === undefined) return { ...base, kind: 'missing', recorded: 0 };
  if (record.status !== 'approved') return { ...base, kind: 'status', recorded: record.amount };
  if (record.amount !== amount) return { ...base, kind: 'amount', recorded: record.amount };
  if (record.panHash !== s.hsm.panToken(pan)) return { ...base, kind: 'card', recorded: record.amount };
  return undefined;
}

/** Batch upload (0320 201): every detail compared with the journal; differences kept for reconciliation. */
export const batchUpload: TypeHandler = {
  ...MANAGEMENT,
  prepare(s, ctx) {
    const records = parsedF48(ctx, parseBatchUpload);
    if (records === undefined) return RC.FORMAT_ERROR;
    const batch = batchOf(ctx.request);
    const found: Discrepancy[] = [];
    for (const r of records) {
      const d = compare(s, ctx, batch, r.stan, r.pan, Number(r.amount));
      if (d) found.push(d);
    }
    if (found.length > 0) ctx.discrepancies = found;
    return RC.APPROVED;
  },
};

/** Upload end (202/207): F48 is the detail count; a count that differs is a discrepancy too. The batch moves on. */
export const batchUploadEnd: TypeHandler = {
  ...MANAGEMENT,
  prepare(s, ctx) {
    const f48 = ctx.request.text(F.ADDITIONAL_DATA) ?? '';
    if (!/^\d{4}$/.test(f48)) return RC.FORMAT_ERROR;
    const terminal = ctx.terminal!;
    const batch = batchOf(ctx.request);
    if (batch === terminal.record.batch) {
      const ours = s.totals(terminal);
      const count = ours.domestic.debitCount + ours.domestic.creditCount + ours.foreign.debitCount + ours.foreign.creditCount;
      if (count !== Number(f48)) {
        ctx.discrepancies = [{ tid: terminal.record.tid, batch, stan: '000000', kind: 'count', uploaded: Number(f48), recorded: count, businessDate: s.businessDate(), at: ctx.at }];
      }
      ctx.terminalUpdate = { batch: nextBatch(batch) };
    }
    return RC.APPROVED;
  },
};
