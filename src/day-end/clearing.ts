import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { stateTable, type Merchant } from '../store/index.js';
import { rowsOf, sqlString, withDuckDb } from './duckdb.js';
import { backlineDir, csvLine, dayDir, writeAtomically } from './files.js';
import { dayParquet } from './parquet.js';

/** A merchant discount rate: basis points of the debits plus a fixed fee in fen per debit. */
export interface FeeRate {
  bps: number;
  fixedFen: number;
}

/** The rate table: by merchant category code (MCC), and the rate of every other category. */
export interface FeeRates {
  default: FeeRate;
  byMcc: Record<string, FeeRate>;
}

/**
 * The rates a new data directory starts with (written to `backline/fee-rates.json`, which is then
 * the table in force): illustrative, shaped like domestic card acquiring, where everyday necessities
 * pay less, public-service merchants pay nothing and utilities a fixed fee.
 */
export const DEFAULT_FEE_RATES: FeeRates = {
  default: { bps: 60, fixedFen: 0 },
  byMcc: {
    '4900': { bps: 0, fixedFen: 50 }, // utilities
    '5411': { bps: 38, fixedFen: 0 }, // grocery stores, supermarkets
    '5541': { bps: 38, fixedFen: 0 }, // service stations
    '5812': { bps: 125, fixedFen: 0 }, // restaurants
    '8062': { bps: 0, fixedFen: 0 }, // hospitals
    '8211': { bps: 0, fixedFen: 0 }, // schools
  },
};

/** One merchant's day: what its cardholders paid it, what went back, the fee, and what it is owed. */
export interface MerchantClearing {
  mid: string;
  mcc: string;
  debitCount: number;
  debitAmount: number;
  creditCount: number;
  creditAmount: number;
  rate: FeeRate;
  fee: number;
  net: number;
}

export interface ClearDayOptions {
  dataDir: string;
  date: string;
  /** A merchant's category code; by default read from LMDB's merchants table (read-only). */
  mccOf?: (mid: string) => string | undefined;
}

/** `<dataDir>/backline/fee-rates.json` */
export function feeRatesFile(dataDir: string): string {
  return join(backlineDir(dataDir), 'fee-rates.json');
}

/** The rate table in force, written with the defaults first if there is none; a malformed one is refused with its reason. */
export function loadFeeRates(dataDir: string): FeeRates {
  const path = feeRatesFile(dataDir);
  if (!existsSync(path)) writeAtomically(path, JSON.stringify(DEFAULT_FEE_RATES, null, 2) + '\n');
  const rates = JSON.parse(readFileSync(path, 'utf8')) as FeeRates;
  checkRate(rates?.default, `${path}: default`);
  for (const [mcc, rate] of Object.entries(rates.byMcc ?? {})) checkRate(rate, `${path}: byMcc.${mcc}`);
  return { default: rates.default, byMcc: rates.byMcc ?? {} };
}

function checkRate(rate: FeeRate | undefined, where: string): void {
  const ok = rate !== undefined && Number.isInteger(rate.bps) && rate.bps >= 0 && rate.bps <= 10_000 && Number.isSafeInteger(rate.fixedFen) && rate.fixedFen >= 0;
  if (!ok) throw new Error(`${where} must be {"bps": 0..10000, "fixedFen": whole fen ≥ 0}`);
}

/**
 * The fee on a merchant's day, in whole fen: the rate on its total debits rounded half up, plus the
 * fixed fee per debit. Refunds bear no fee and give none back (**chosen**). Exact: no float on the way.
 */
export function feeOf(rate: FeeRate, debitAmount: number, debitCount: number): number {
  const rated = (BigInt(debitAmount) * BigInt(rate.bps) + 5_000n) / 10_000n;
  return Number(rated) + rate.fixedFen * debitCount;
}

/**
 * Approvals per merchant that still stand at the end of the day (none voided or reversed), by
 * direction. A void or reversal names its original, which then clears nowhere, and is itself no debit.
 */
const clearingSql = (parquet: string) => `
  SELECT mid,
    count(*) FILTER (WHERE clearing_sign = 1) AS debit_count,
    coalesce(sum(amount) FILTER (WHERE clearing_sign = 1), 0)::BIGINT AS debit_amount,
    count(*) FILTER (WHERE clearing_sign = -1) AS credit_count,
    coalesce(sum(amount) FILTER (WHERE clearing_sign = -1), 0)::BIGINT AS credit_amount
  FROM read_parquet(${sqlString(parquet)})
  WHERE request AND NOT replay AND final_status = 'approved' AND clearing_sign <> 0
  GROUP BY mid
  ORDER BY mid`;

/**
 * Clears business day `date` per merchant from its Parquet (`dayParquet`) and writes
 * the settlement file `<dataDir>/backline/D/settlement-D.csv`; the same day gives the same bytes.
 */
export async function clearDay(options: ClearDayOptions): Promise<{ merchants: MerchantClearing[]; path: string }> {
  const { dataDir, date } = options;
  const parquet = await dayParquet(dataDir, date);
  const totals = await withDuckDb(dayDir(dataDir, date), (db) => rowsOf(db, clearingSql(parquet)));
  const rates = loadFeeRates(dataDir);
  const mccOf = options.mccOf ?? (await merchantCategories(dataDir, totals.map((r) => r.mid as string)));
  const merchants = totals.map((r): MerchantClearing => {
    const mid = r.mid as string;
    const mcc = mccOf(mid) ?? '';
    const rate = rates.byMcc[mcc] ?? rates.default;
    const [debitCount, debitAmount, creditCount, creditAmount] = [r.debit_count, r.debit_amount, r.credit_count, r.credit_amount] as number[];
    const fee = feeOf(rate, debitAmount, debitCount);
    return { mid, mcc, debitCount, debitAmount, creditCount, creditAmount, rate, fee, net: debitAmount - creditAmount - fee };
  });
  const path = join(dayDir(dataDir, date), `settlement-${date}.csv`);
  writeAtomically(path, settlementCsv(date, merchants));
  return { merchants, path };
}

const SETTLEMENT_HEADER = ['record', 'business_date', 'mid', 'mcc', 'debit_count', 'debit_amount', 'credit_count', 'credit_amount', 'fee_bps', 'fee_fixed_fen', 'fee', 'net'];

/** The settlement file: a header, a `merchant` line per merchant in mid order, a `total` line; amounts in fen. */
export function settlementCsv(date: string, merchants: readonly MerchantClearing[]): string {
  const sum = (f: (m: MerchantClearing) => number) => merchants.reduce((s, m) => s + f(m), 0);
  const lines = merchants.map((m) =>
    csvLine(['merchant', date, m.mid, m.mcc, m.debitCount, m.debitAmount, m.creditCount, m.creditAmount, m.rate.bps, m.rate.fixedFen, m.fee, m.net]),
  );
  const total = csvLine([
    'total', date, '', '', sum((m) => m.debitCount), sum((m) => m.debitAmount), sum((m) => m.creditCount), sum((m) => m.creditAmount), '', '',
    sum((m) => m.fee), sum((m) => m.net),
  ]);
  return csvLine(SETTLEMENT_HEADER) + lines.join('') + total;
}

/**
 * Merchants' categories as LMDB holds them now, read-only and closed again at once. Clearing of an
 * earlier day takes today's category: the merchants table keeps no history.
 */
async function merchantCategories(dataDir: string, mids: readonly string[]): Promise<(mid: string) => string | undefined> {
  const mccs = new Map<string, string>();
  if (mids.length === 0) return () => undefined;
  const root = open({ path: join(dataDir, 'state'), readOnly: true, maxDbs: 16, compression: false });
  try {
    const merchants = root.openDB<Merchant, string>(stateTable('merchants'));
    for (const mid of mids) {
      const mcc = merchants.get(mid)?.mcc;
      if (mcc !== undefined) mccs.set(mid, mcc);
    }
  } finally {
    await root.close();
  }
  return (mid) => mccs.get(mid);
}
