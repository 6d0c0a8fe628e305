/**
 * Transaction search across business days: the demo switch in process journals two business days
 * (the date moved through the book's control channel between them); `searchTransactions` finds
 * them by every criterion, across both days, a page at a time (pages disjoint, together the whole
 * set, stable with a `before` cursor), and `posp search` (a real process, reading the live day's
 * file beside the running book) prints the same. No output holds a card number or its token.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { TerminalMessage } from '../../src/codec/index.js';
import type { SimTerminal } from '../../src/loadgen/terminal.js';
import { SearchQueryError, searchTransactions, type TransactionQuery, type TransactionRow } from '../../src/day-end/index.js';
import { dayAfter } from '../../src/txn/index.js';
import { DEMO, card, runPosp, signedIn, startInProcess } from '../switch/harness.js';

/** What a terminal saw of one request (its RRN identifies it). */
interface Seen {
  rrn: string;
  tid: string;
  pan: string;
  amount: number;
  code: string;
  type: string;
  date: string;
}

const demo = await startInProcess(t);
const day1 = demo.sw.businessDate;
const day2 = dayAfter(day1);
const a = await signedIn(t, demo, 0);
const b = await signedIn(t, demo, 1);
const seen: Seen[] = [];

async function send(term: SimTerminal, req: TerminalMessage, type: string, code = '00'): Promise<TerminalMessage> {
  const res = await term.request(req);
  const rrn = res.text(37);
  if (res.text(39) !== code || rrn === undefined) throw new Error(`${type} answered ${res.text(39)} with RRN ${rrn}`);
  seen.push({ rrn, tid: term.options.tid, pan: req.text(2)!, amount: Number(req.text(4) ?? 0), code, type, date: demo.sw.businessDate });
  return res;
}

// Day 1: sales on two terminals, a decline, a void, and a retransmission (answered again, never shown twice).
const s1req = a.sale(card(1), 1_000);
const s1 = await send(a, s1req, 'sale');
const s2req = a.sale(card(2), 2_000);
await send(a, s2req, 'sale');
const s3req = b.sale(card(3), 3_000);
const s3 = await send(b, s3req, 'sale');
await send(b, b.sale(card(4), DEMO.openingBalance + 1), 'sale', '51');
await send(b, b.saleVoid(b.receipt(s3req, s3, 'sale')), 'sale-void');
if ((await a.request(s2req)).text(39) !== '00') throw new Error('the retransmission was not answered as the original');

const moved = await demo.sw.control({ kind: 'business-date', date: day2 });
if ('refused' in moved) throw new Error(`date change refused: ${moved.refused}`);

// Day 2: more sales (one the same card and amount as day 1's), a refund of a day-1 sale.
await send(a, a.sale(card(1), 4_000), 'sale');
await send(b, b.sale(card(5), 5_000), 'sale');
await send(b, b.sale(card(3), 3_000), 'sale');
await send(a, a.refund(a.receipt(s1req, s1, 'sale'), 500), 'refund');

const everything = searchTransactions(demo.dataDir, {}, { size: 500 }).rows;

function rrns(rows: TransactionRow[]): string[] {
  return rows.map((r) => r.rrn).sort();
}
function expected(keep: (s: Seen) => boolean): string[] {
  return seen.filter(keep).map((s) => s.rrn).sort();
}

t.test('unfiltered: every transaction of both days once, newest first, as the terminals saw it', async (t) => {
  t.equal(everything.length, 9, 'five transactions on day 1, four on day 2 (sign-ins, the date change and the replay not shown)');
  t.same(rrns(everything), expected(() => true), 'the RRNs the terminals got');
  t.ok(everything.every((r, i) => i === 0 || r.seq < everything[i - 1].seq), 'newest first');
  t.same([...new Set(everything.map((r) => r.businessDate))], [day2, day1], 'day 2 before day 1');
  for (const r of everything) {
    const s = seen.find((x) => x.rrn === r.rrn)!;
    t.same([r.businessDate, r.tid, r.mid, r.amount, r.responseCode, r.type], [s.date, s.tid, DEMO.mid, s.amount, s.code, s.type], `row ${r.rrn}`);
    t.equal(r.panMasked, s.pan.slice(0, 6) + '*'.repeat(s.pan.length - 10) + s.pan.slice(-4), `row ${r.rrn}: the card number masked`);
  }
});

t.test('each criterion, alone and together, across both days', async (t) => {
  const cases: [string, TransactionQuery, (s: Seen) => boolean][] = [
    ['from day 2', { from: day2 }, (s) => s.date === day2],
    ['to day 1', { to: day1 }, (s) => s.date === day1],
    ['day 1 to day 2', { from: day1, to: day2 }, () => true],
    ['terminal b', { tid: b.options.tid }, (s) => s.tid === b.options.tid],
    ['the demo merchant', { mid: DEMO.mid }, () => true],
    ['another merchant', { mid: '898100099999999' }, () => false],
    ['last 4 of card 3', { last4: card(3).pan.slice(-4) }, (s) => s.pan === card(3).pan],
    ['an RRN', { rrn: seen[6].rrn }, (s) => s.rrn === seen[6].rrn],
    ['amount 3000 exactly', { amount: 3_000 }, (s) => s.amount === 3_000],
    ['amount 2000..4000', { minAmount: 2_000, maxAmount: 4_000 }, (s) => s.amount >= 2_000 && s.amount <= 4_000],
    ['amount from 4000', { minAmount: 4_000 }, (s) => s.amount >= 4_000],
    ['response code 51', { responseCode: '51' }, (s) => s.code === '51'],
    ['type sale-void', { type: 'sale-void' }, (s) => s.type === 'sale-void'],
    ['type refund', { type: 'refund' }, (s) => s.type === 'refund'],
    ['terminal a on day 2', { tid: a.options.tid, from: day2 }, (s) => s.tid === a.options.tid && s.date === day2],
    ['card 3 for 3000 on day 1', { last4: card(3).pan.slice(-4), amount: 3_000, to: day1 }, (s) => s.pan === card(3).pan && s.amount === 3_000 && s.date === day1],
  ];
  for (const [name, query, keep] of cases) {
    const want = expected(keep);
    t.same(rrns(searchTransactions(demo.dataDir, query, { size: 500 }).rows), want, `${name}: ${want.length} row(s)`);
  }
  const dateChange = searchTransactions(demo.dataDir, { type: 'business-date' }).rows;
  t.same(dateChange.map((r) => r.businessDate), [day2], 'entries other than transactions only when asked for by type');
});

t.test('pages: disjoint, in order, together the whole set; a cursor keeps them still', async (t) => {
  const pages: TransactionRow[][] = [];
  for (let n = 1; n <= 5; n++) pages.push(searchTransactions(demo.dataDir, {}, { size: 2, number: n }).rows);
  t.same(pages.map((p) => p.length), [2, 2, 2, 2, 1], 'four full pages and one of one row');
  t.same(pages.flat().map((r) => r.seq), everything.map((r) => r.seq), 'the pages in turn are the unpaged rows in order');
  t.equal(new Set(pages.flat().map((r) => r.seq)).size, 9, 'no row on two pages');
  t.same(searchTransactions(demo.dataDir, {}, { size: 2, number: 6 }).rows, [], 'past the end: nothing');
  const threes = [1, 2, 3].map((n) => searchTransactions(demo.dataDir, {}, { size: 3, number: n }).rows);
  t.same(threes[1].map((r) => r.businessDate), [day2, day1, day1], 'a page of 3 that spans the two days');
  t.same(threes.flat().map((r) => r.seq), everything.map((r) => r.seq), 'pages of 3 in turn: the unpaged rows');

  const first = searchTransactions(demo.dataDir, {}, { size: 2 });
  t.equal(first.next, first.rows[1].seq, 'a full page says where the next starts');
  t.same(searchTransactions(demo.dataDir, {}, { size: 2, before: first.next }).rows, pages[1], 'from the cursor: page 2');
  t.same(searchTransactions(demo.dataDir, {}, { size: 2, number: 2, before: first.next }).rows, pages[2], 'page 2 from the cursor: page 3');
  t.equal(searchTransactions(demo.dataDir, {}, { size: 2, number: 5 }).next, undefined, 'the last page has no next');
  const bAll = searchTransactions(demo.dataDir, { tid: b.options.tid }).rows;
  t.same(searchTransactions(demo.dataDir, { tid: b.options.tid }, { size: 2, number: 2 }).rows, bAll.slice(2, 4), "a filtered page 2: terminal b's third and fourth newest");
});

t.test('queries that cannot be asked are refused with the reason', async (t) => {
  const bad: [TransactionQuery, object, RegExp][] = [
    [{}, { size: 501 }, /page size/],
    [{}, { size: 0 }, /page size/],
    [{}, { number: 0 }, /page number/],
    [{ last4: '12' }, {}, /last4/],
    [{ from: '2026-01-01' }, {}, /from must be a business date/],
    [{ from: day2, to: day1 }, {}, /is after/],
    [{ minAmount: 5, maxAmount: 4 }, {}, /above maxAmount/],
    [{ amount: -1 }, {}, /amount/],
    [{ type: "sale' OR 1=1 --" }, {}, /type/],
  ];
  for (const [query, page, reason] of bad) {
    let refused: unknown;
    try {
      searchTransactions(demo.dataDir, query, page);
    } catch (err) {
      refused = err;
    }
    t.ok(refused instanceof SearchQueryError, `${JSON.stringify([query, page])} refused`);
    t.match((refused as Error | undefined)?.message, reason, 'with the reason');
  }
});

t.test('posp search: table and JSON from a real process, bad options exit 2', async (t) => {
  const dashed = `${day1.slice(0, 4)}-${day1.slice(4, 6)}-${day1.slice(6)}`;
  const [json, table, last, badLast4, badDate, unknown, nowhere] = await Promise.all([
    runPosp(['search', '--data', demo.dataDir, '--from', dashed, '--to', day1, '--json']),
    runPosp(['search', '--data', demo.dataDir, '--tid', b.options.tid, '--size', '2']),
    runPosp(['search', '--data', demo.dataDir, '--amount', '2000..4000', '--page', '2', '--size', '3']),
    runPosp(['search', '--data', demo.dataDir, '--last4', '12']),
    runPosp(['search', '--data', demo.dataDir, '--from', '2026-13-01']),
    runPosp(['search', '--data', demo.dataDir, '--pan', card(1).pan]),
    runPosp(['search', '--data', join(demo.dataDir, 'mistyped')]),
  ]);
  t.equal(json.code, 0, 'JSON: exit 0');
  t.same(rrns((JSON.parse(json.stdout) as { rows: TransactionRow[] }).rows), expected((s) => s.date === day1), 'JSON: day 1 (YYYY-MM-DD accepted)');

  t.equal(table.code, 0, 'table: exit 0');
  const lines = table.stdout.trim().split('\n');
  t.match(lines[0], /^DATE\tTIME\tSEQ\tTYPE\tTID\tMID\tBATCH\tSTAN\tRRN\tAUTH\tPAN\tAMOUNT\(FEN\)\tRC\tROUTE$/, 'table: a header');
  const bRows = searchTransactions(demo.dataDir, { tid: b.options.tid }, { size: 2 }).rows;
  t.same(lines.slice(1, 3).map((l) => l.split('\t')[8]), bRows.map((r) => r.rrn), "table: terminal b's two newest");
  t.match(lines[3], /^page 1: 2 rows; next page: --page 2 \(or --before \d+\)$/, 'table: where the next page is');
  const range = searchTransactions(demo.dataDir, { minAmount: 2_000, maxAmount: 4_000 }, { size: 3, number: 2 }).rows;
  t.same(last.stdout.trim().split('\n').slice(1, -1).map((l) => l.split('\t')[8]), range.map((r) => r.rrn), 'table: an amount range, page 2');

  for (const [run, reason] of [[badLast4, /last4/], [badDate, /--from must be a date/], [unknown, /unexpected --pan/]] as const) {
    t.equal(run.code, 2, `exit 2: ${run.stderr.split('\n')[0]}`);
    t.match(run.stderr, reason, 'with the reason');
    t.match(run.stderr, /posp search \[--data DIR\]/, 'and the usage');
  }

  t.equal(nowhere.code, 1, 'a data directory without a journal: exit 1');
  t.match(nowhere.stderr, /no journal in .*mistyped/, 'saying so');

  // Neither the card numbers nor their tokens, in anything printed or returned.
  const db = new Database(join(demo.dataDir, 'journal', `${day2}.sqlite`), { readonly: true, fileMustExist: true });
  const tokens = (db.prepare("SELECT DISTINCT pan_hash FROM entries WHERE pan_hash != ''").all() as { pan_hash: string }[]).map((r) => r.pan_hash);
  db.close();
  t.ok(tokens.length > 0, 'the journal has card tokens');
  const printed = [json.stdout, table.stdout, last.stdout, JSON.stringify(everything)].join('\n');
  for (const secret of [...seen.map((s) => s.pan), ...tokens]) t.notOk(printed.includes(secret), `never printed: ${secret.slice(0, 6)}…`);
  t.notMatch(printed, /pan_?hash|effects/i, 'no token or effects field');
});
