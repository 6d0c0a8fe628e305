/**
 * Daily reports from a day the real switch journalled (pipeline and book in process over real LMDB
 * and SQLite): every grouping's counts and amounts equal what plain SQL over the journal file says,
 * a re-run writes the same bytes, and `posp report` (a real process) prints the CSV and writes a
 * self-contained HTML page with its chart library.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIMENSIONS, exportDay, renderReport, reportDay, type DailyReport, type ReportRow } from '../../src/day-end/index.js';
import { approved, startStoppable } from '../business/business-harness.js';
import { DEMO, card, runPosp, signedIn } from '../switch/harness.js';

const demo = await startStoppable(t);
const { dataDir } = demo;
const date = demo.sw.businessDate;
const a = await signedIn(t, demo, 0);
const b = await signedIn(t, demo, 1);
for (const [n, amount] of [[1, 1_200], [2, 3_450], [3, 99]]) await approved(a, a.sale(card(n), amount), 'sale');
const voided = await approved(b, b.sale(card(4), 5_000), 'sale');
await approved(b, b.saleVoid(voided.receipt), 'sale-void');
await approved(b, b.refund((await approved(b, b.sale(card(5), 800), 'sale')).receipt, 300), 'refund');
const codes = [
  (await a.request(a.sale(card(6), DEMO.openingBalance + 1))).text(39),
  (await a.request(a.sale({ ...card(7), pin: '000000' }, 1_000))).text(39),
  (await b.request(b.balanceInquiry(card(8)))).text(39),
];
const frame = b.pack(b.sale(card(9), 2_500));
for (let i = 0; i < 3; i++) codes.push((await b.sendRaw(frame)).text(39));
// The day the switch is still writing exports too (what `posp report` for today does).
const live = await exportDay({ dataDir, date });
await demo.stop();

/** Entries the switch makes itself (not a terminal's request): written out here, not taken from src. */
const NOT_REQUESTS = "('host-request', 'advice-delivered', 'hold-expiry', 'business-date', 'reference-change')";

/** The same figures straight from the journal file with SQLite. */
function fromJournal(key: string, where = "route <> 'replay'"): ReportRow[] {
  const db = new Database(join(dataDir, 'journal', `${date}.sqlite`), { readonly: true });
  try {
    return db
      .prepare(`SELECT ${key} AS key, count(*) AS count, sum(amount) AS amount, sum(response_code = '00') AS approvedCount,
        sum(CASE WHEN response_code = '00' THEN amount ELSE 0 END) AS approvedAmount
        FROM entries WHERE ${where} AND type NOT IN ${NOT_REQUESTS} GROUP BY 1 ORDER BY 1`)
      .all() as ReportRow[];
  } finally {
    db.close();
  }
}

function journalEntries(): number {
  const db = new Database(join(dataDir, 'journal', `${date}.sqlite`), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const JOURNAL_KEYS: Record<string, string> = {
  type: 'type',
  response_code: 'response_code',
  merchant: 'mid',
  terminal: 'tid',
  hour: "strftime('%H', at_ms / 1000, 'unixepoch', 'localtime')",
};

let report: DailyReport;

t.test('the day was made as intended', async (t) => {
  t.same(codes, ['51', '55', '00', '00', '00', '00'], 'two declines, an inquiry, a sale sent three times');
  t.equal(live.entries, journalEntries(), 'exported while the switch was open: every entry');
});

t.test('report totals equal sums computed from the journal, by every grouping', async (t) => {
  report = await reportDay({ dataDir, date });
  t.same([report.total], fromJournal("'all'"), 'the day');
  t.same([report.replays], fromJournal("'replays'", "route = 'replay'"), 'retransmissions answered again');
  t.equal(report.replays.count, 2, 'two of them');
  for (const d of DIMENSIONS) {
    const rows = d.dimension === 'hour' ? report.by.hour.filter((r) => r.count > 0) : report.by[d.dimension];
    t.same(rows, fromJournal(JOURNAL_KEYS[d.dimension]), `by ${d.dimension}`);
  }
  t.equal(report.by.hour.length, 24, 'every hour listed');
  const sale = report.by.type.find((r) => r.key === 'sale');
  // The wrong-PIN sale is journalled with amount 0: the PIN step refuses it before the amount step reads F4.
  t.same(sale, { key: 'sale', count: 8, amount: 1_200 + 3_450 + 99 + 5_000 + 800 + DEMO.openingBalance + 1 + 2_500, approvedCount: 6, approvedAmount: 1_200 + 3_450 + 99 + 5_000 + 800 + 2_500 }, 'sales as sent');
  t.same(report.by.response_code.map((r) => [r.key, r.count]), [['00', 11], ['51', 1], ['55', 1]], 'answers as given (two sign-ins among the 00s)');
});

t.test('a re-run writes a byte-identical report file', async (t) => {
  const file = join(dataDir, 'backline', date, `report-${date}.csv`);
  const before = readFileSync(file);
  t.equal(before.toString(), renderReport(report, 'csv'), 'the file is the CSV rendering');
  await reportDay({ dataDir, date });
  t.ok(readFileSync(file).equals(before), 'byte for byte');
});

t.test('posp report prints the CSV and writes a self-contained HTML page', async (t) => {
  const day = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`;
  const html = join(dataDir, 'report.html');
  const [csv, page, badDate, noDay] = await Promise.all([
    runPosp(['report', '--date', day, '--data', dataDir]),
    runPosp(['report', '--date', date, '--format', 'html', '--data', dataDir, '--out', html]),
    runPosp(['report', '--date', '2026-02-30', '--data', dataDir]),
    runPosp(['report', '--date', '19990101', '--data', dataDir]),
  ]);
  t.equal(csv.code, 0, csv.stderr);
  t.equal(csv.stdout, renderReport(report, 'csv'), 'the CSV on stdout');
  t.equal(page.code, 0, page.stderr);
  const text = readFileSync(html, 'utf8');
  const library = readFileSync(join(process.cwd(), 'node_modules/chart.js/dist/chart.umd.min.js'), 'utf8');
  t.ok(text.includes(library.slice(0, 2_000)) && text.includes(library.slice(-2_000)), "Chart.js's code is in the page");
  t.ok(text.includes('new Chart('), 'charts are drawn');
  t.notMatch(text, /<script[^>]*\bsrc\s*=/i, 'no script is fetched');
  t.notMatch(text, /<(link|img|iframe)[^>]*(href|src)\s*=\s*["']?https?:/i, 'nothing else is fetched');
  t.match(text, new RegExp(`<td>${DEMO.mid}</td>`), 'the merchant table');
  t.same([badDate.code, badDate.stderr.trim().split('\n').length], [2, 1], 'a bad date: exit 2, one line');
  t.match(badDate.stderr, /bad date '2026-02-30'/);
  t.same([noDay.code, noDay.stderr.trim().split('\n').length], [1, 1], 'a day with no journal: exit 1, one line');
  t.match(noDay.stderr, /no journal for business day 19990101/);
});

