/**
 * Clearing per merchant and the settlement file, from a day the real switch journalled (pipeline and
 * book in process over real LMDB and SQLite): two merchants of different categories, sales, a void,
 * a reversal, a void that is itself reversed, a refund, a decline, a retransmission, a pre-auth and
 * its completion, a bill payment. The expected figures are the amounts sent, not the journal.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { DEFAULT_FEE_RATES, clearDay, entriesParquet, exportDay, feeRatesFile, sealDay, type MerchantClearing } from '../../src/day-end/index.js';
import { rowsOf, sqlString, withDuckDb } from '../../src/day-end/duckdb.js';
import { merchantAccountId } from '../../src/store/index.js';
import { approved, startStoppable } from '../business/business-harness.js';
import { DEMO, card, demoTid, signedIn, terminal } from '../switch/harness.js';

const SECOND = '898100012340002';
const demo = await startStoppable(t);
const { sw, dataDir } = demo;
const date = sw.businessDate;

// A second merchant, a restaurant (MCC 5812), with demo terminal 10000002 moved to it.
await sw.control({ kind: 'reference', table: 'merchants', key: SECOND, value: { mid: SECOND, name: 'NOODLE HOUSE', status: 'active', mcc: '5812', account: merchantAccountId(DEMO.mid) } });
await sw.control({ kind: 'reference', table: 'terminals', key: demoTid(1), value: { mid: SECOND } });

const a = await signedIn(t, demo, 0);
const b = await terminal(t, demo, 1, SECOND);
if ((await b.signIn()).text(39) !== '00') throw new Error('sign-in at the second merchant refused');

// The demo merchant (supermarket, 5411).
const s1 = await approved(a, a.sale(card(1), 10_000), 'sale');
await approved(a, a.sale(card(2), 2_100), 'sale');
const voided = await approved(a, a.sale(card(3), 5_000), 'sale');
await approved(a, a.saleVoid(voided.receipt), 'sale-void');
const reversed = await approved(a, a.sale(card(4), 3_300), 'sale');
await approved(a, a.reversal(reversed.req), 'sale');
await approved(a, a.refund(s1.receipt, 1_000), 'refund');
const declined = await a.request(a.sale(card(5), DEMO.openingBalance + 1));
const retransmitted = a.pack(a.sale(card(6), 700));
const first = await a.sendRaw(retransmitted);
const again = await a.sendRaw(retransmitted);
const preAuth = await approved(a, a.preAuth(card(7), 8_000), 'pre-auth');
await approved(a, a.completion(preAuth.receipt, 9_000), 'pre-auth-completion');
await approved(a, a.billPayment(card(8), 'ELEC', '0012345678', 1_500), 'bill-payment');
await approved(a, a.reversal(a.sale(card(12), 4_400)), 'sale'); // of a sale never sent: 00, undoes nothing

// The restaurant: a sale, a sale voided and the void reversed (the sale stands), a sale reversed.
await approved(b, b.sale(card(9), 2_040), 'sale');
const restored = await approved(b, b.sale(card(10), 4_000), 'sale');
const voidOfRestored = await approved(b, b.saleVoid(restored.receipt), 'sale-void');
await approved(b, b.reversal(voidOfRestored.req), 'sale-void');
const reversedAtB = await approved(b, b.sale(card(11), 1_000), 'sale');
await approved(b, b.reversal(reversedAtB.req), 'sale');
await demo.stop();

const expected: MerchantClearing[] = [
  // Debits 10000 + 2100 + 700 + 9000 (completion); the refund; 38 bp of 21800 = 82.84 → 83.
  { mid: DEMO.mid, mcc: '5411', debitCount: 4, debitAmount: 21_800, creditCount: 1, creditAmount: 1_000, rate: { bps: 38, fixedFen: 0 }, fee: 83, net: 21_800 - 1_000 - 83 },
  // Debits 2040 + 4000 (its void reversed); 125 bp of 6040 = 75.5 → 76 (half up).
  { mid: SECOND, mcc: '5812', debitCount: 2, debitAmount: 6_040, creditCount: 0, creditAmount: 0, rate: { bps: 125, fixedFen: 0 }, fee: 76, net: 6_040 - 76 },
];

t.test('the day was made as intended', async (t) => {
  t.equal(declined.text(39), '51', 'the decline');
  t.equal(first.text(39), '00', 'the retransmitted sale');
  t.equal(again.text(39), '00', 'answered again');
  t.equal(again.text(37), first.text(37), 'with the same RRN');
});

t.test('the Parquet: a row per journal entry, final statuses from the voids and reversals', async (t) => {
  const { path, entries } = await exportDay({ dataDir, date });
  const journal = new Database(`${dataDir}/journal/${date}.sqlite`, { readonly: true });
  const journalled = (journal.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  journal.close();
  t.equal(entries, journalled, 'every entry exported');
  const rows = await withDuckDb(dataDir, (db) => rowsOf(db, `SELECT seq, type, tid, stan, amount, route, request, replay, approved, clearing_sign, final_status FROM read_parquet(${sqlString(path)}) ORDER BY seq`));
  t.equal(rows.length, journalled, 'as many Parquet rows');
  const sale = (tid: string, stan: string) => rows.find((r) => r.type === 'sale' && r.tid === tid && r.stan === stan && !r.replay);
  t.equal(sale(demoTid(0), voided.receipt.stan)?.final_status, 'voided', 'the voided sale');
  t.equal(sale(demoTid(0), reversed.receipt.stan)?.final_status, 'reversed', 'the reversed sale');
  t.equal(sale(demoTid(1), restored.receipt.stan)?.final_status, 'approved', 'the sale whose void was reversed');
  t.equal(sale(demoTid(1), reversedAtB.receipt.stan)?.final_status, 'reversed');
  t.equal(rows.filter((r) => r.replay).length, 1, 'one replay');
  t.equal(rows.filter((r) => r.type === 'reference-change' && r.request).length, 0, 'control entries are no request');
  t.same(
    [...new Set(rows.filter((r) => r.clearing_sign !== 0).map((r) => `${r.type}:${r.clearing_sign}`))].sort(),
    ['pre-auth-completion:1', 'refund:-1', 'sale:1'],
    'only sales, completions and refunds clear',
  );
  t.equal(rows.find((r) => r.type === 'sale' && r.final_status === 'declined')?.amount, DEMO.openingBalance + 1, 'the decline is declined');
});

t.test('clearing nets out voids and reversals and applies the rate of each category', async (t) => {
  const { merchants, path } = await clearDay({ dataDir, date });
  t.same(merchants, expected);
  t.same(JSON.parse(readFileSync(feeRatesFile(dataDir), 'utf8')), DEFAULT_FEE_RATES, 'the rate table was written with the defaults');
  t.equal(
    readFileSync(path, 'utf8'),
    [
      'record,business_date,mid,mcc,debit_count,debit_amount,credit_count,credit_amount,fee_bps,fee_fixed_fen,fee,net',
      `merchant,${date},${DEMO.mid},5411,4,21800,1,1000,38,0,83,20717`,
      `merchant,${date},${SECOND},5812,2,6040,0,0,125,0,76,5964`,
      `total,${date},,,6,27840,1,1000,,,159,26681`,
      '',
    ].join('\n'),
    'the settlement file',
  );
});

t.test('a re-run gives byte-identical Parquet and settlement files, also when the Parquet is gone', async (t) => {
  const parquet = entriesParquet(dataDir, date);
  const settlement = `${dataDir}/backline/${date}/settlement-${date}.csv`;
  const before = { parquet: readFileSync(parquet), settlement: readFileSync(settlement) };
  await exportDay({ dataDir, date });
  await clearDay({ dataDir, date });
  t.ok(readFileSync(parquet).equals(before.parquet), 'Parquet byte for byte');
  t.ok(readFileSync(settlement).equals(before.settlement), 'settlement file byte for byte');
  rmSync(parquet);
  await clearDay({ dataDir, date });
  t.ok(readFileSync(parquet).equals(before.parquet), 'exported again by clearing');
  t.ok(readFileSync(settlement).equals(before.settlement), 'settlement file again');
});

t.test('a sealed day reads the same, and its Parquet is exported once', async (t) => {
  const parquet = entriesParquet(dataDir, date);
  const before = readFileSync(parquet);
  sealDay(dataDir, date);
  await exportDay({ dataDir, date });
  t.ok(readFileSync(parquet).equals(before), 'the sealed (read-only) journal gives the same Parquet');
  const exported = statSync(parquet);
  await clearDay({ dataDir, date });
  const after = statSync(parquet);
  t.same([after.ino, after.mtimeMs], [exported.ino, exported.mtimeMs], 'clearing a sealed day takes the Parquet written after the seal');
});

t.test('the rate table is data: an edited file changes the fees; a malformed one is refused', async (t) => {
  const file = feeRatesFile(dataDir);
  writeFileSync(file, JSON.stringify({ default: { bps: 60, fixedFen: 0 }, byMcc: { '5411': { bps: 50, fixedFen: 10 } } }));
  const { merchants } = await clearDay({ dataDir, date });
  // 50 bp of 21800 = 109, plus 10 fen for each of 4 debits; the restaurant falls to the default: 60 bp of 6040 = 36.24 → 36.
  t.same(merchants.map((m) => [m.mid, m.fee, m.net]), [[DEMO.mid, 149, 21_800 - 1_000 - 149], [SECOND, 36, 6_040 - 36]]);
  const byMccOf = await clearDay({ dataDir, date, mccOf: () => '5411' });
  t.same(byMccOf.merchants.map((m) => m.fee), [149, 30 + 20], 'a category given by the caller: 50 bp of 6040 = 30.2 → 30, plus 2 × 10');
  writeFileSync(file, JSON.stringify({ default: { bps: -1, fixedFen: 0 }, byMcc: {} }));
  await t.rejects(clearDay({ dataDir, date }), /fee-rates\.json: default must be/);
  rmSync(file);
});

t.test('a day without a journal is refused with its reason', async (t) => {
  await t.rejects(exportDay({ dataDir, date: '19990101' }), /no journal for business day 19990101/);
  await t.rejects(clearDay({ dataDir, date: '19990101' }), /no journal for business day 19990101/);
  t.notOk(existsSync(`${dataDir}/backline/19990101`), 'and leaves nothing behind');
});
