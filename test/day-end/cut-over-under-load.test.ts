/**
 * Day end while terminals sell: `posp day-cut` (a real child process, through the admin API) cuts
 * the business day over in the middle of the load. Every approval is in exactly one day's journal;
 * each ended day is sealed by the back line (read-only, its SHA-256 beside it) and the account
 * system's day-end snapshot moves each account by exactly that day's approvals; a reversal of a
 * previous day's sale is `25`, a refund of one works; the admin API refuses a bad cut with a reason.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveDir, backlineDays, dayJournalPath, verifySeal } from '../../src/day-end/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid, merchantAccountId } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { dayAfter } from '../../src/txn/index.js';
import { runPosp, sleep } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('cut-over-under-load');

const TOKEN = 'day-end-test-token';
const TERMINALS = 8;

interface Row {
  seq: number;
  type: string;
  rrn: string;
  amount: number;
  response_code: string;
  route: string;
}

function rowsOf(dataDir: string, date: string): Row[] {
  const db = new Database(dayJournalPath(dataDir, date), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT seq, type, rrn, amount, response_code, route FROM entries ORDER BY seq').all() as Row[];
  } finally {
    db.close();
  }
}

/** The merchant account's line of a day's balance snapshot: [opening, closing]. */
function merchantDay(dataDir: string, date: string): [number, number] {
  const line = readFileSync(join(archiveDir(dataDir, date), 'balances.csv'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(merchantAccountId(DEMO.mid) + ','))!;
  const cells = line.split(',');
  return [Number(cells[2]), Number(cells[5])];
}

async function waitFor(what: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (what()) return true;
  return what();
}

t.test('a cut-over in the middle of the load, the ended day sealed and closed by the back line', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-day-end-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, adminToken: TOKEN, cutoverAt: 'off' }, logging.log);
  const terms = Array.from({ length: TERMINALS }, (_, i) => new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(60 + i), mid: DEMO.mid, tmk: DEMO.tmk }));
  t.teardown(async () => {
    for (const term of terms) term.close();
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  for (const term of terms) {
    await term.connect();
    if ((await term.signIn()).text(39) !== '00') throw new Error('sign-in refused');
  }
  const day1 = sw.businessDate;
  const day2 = dayAfter(day1);
  const admin = `http://127.0.0.1:${sw.adminPort}`;

  // A sale to reverse and one to refund after the cut.
  const card = (n: number) => ({ pan: demoPan(n), expiry: DEMO.expiry, pin: DEMO.pin });
  const toReverse = terms[0].sale(card(1), 1_111);
  t.equal((await terms[0].request(toReverse)).text(39), '00', 'a sale on the first day');
  const toRefundReq = terms[1].sale(card(2), 2_222);
  const toRefund = await terms[1].request(toRefundReq);
  t.equal(toRefund.text(39), '00', 'another sale on the first day');

  // Load: every terminal sells until told to stop; the cut comes in the middle.
  let selling = true;
  const approved: { rrn: string; amount: number; f15: string }[] = [];
  const codes = new Map<string, number>();
  const load = Promise.all(
    terms.map(async (term, i) => {
      for (let k = 0; selling; k++) {
        const amount = 100 + ((i * 31 + k) % 50);
        const res = await term.request(term.sale(card(10 + ((i + k) % 40)), amount));
        const code = res.text(39) ?? '??';
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (code === '00') approved.push({ rrn: res.text(37)!, amount, f15: res.text(15)! });
      }
    }),
  );
  await sleep(700);
  const cut = await runPosp(['day-cut', '--admin', admin, '--token', TOKEN]);
  const result = JSON.parse(cut.stdout) as { from: string; to: string; seq: number; ms: number };
  t.match(result, { from: day1, to: day2, seq: Number }, `posp day-cut moved the business day ${day1} → ${day2} (${result.ms.toFixed(1)} ms)`);
  await sleep(700);
  selling = false;
  await load;
  t.same([...codes.keys()], ['00'], `every sale under load approved (${approved.length})`);

  // Every approval in exactly one day's file, the day its answer said (F15).
  const rows1 = rowsOf(dataDir, day1);
  const rows2 = rowsOf(dataDir, day2);
  const sales = (rows: Row[]) => new Map(rows.filter((r) => r.type === 'sale' && r.response_code === '00' && r.route !== 'replay').map((r) => [r.rrn, r]));
  const [sales1, sales2] = [sales(rows1), sales(rows2)];
  const misplaced = approved.filter((a) => (a.f15 === day1.slice(4) ? !sales1.has(a.rrn) || sales2.has(a.rrn) : !sales2.has(a.rrn) || sales1.has(a.rrn)));
  t.same(misplaced.slice(0, 5), [], 'every approval is in the day file its answer named, and only there');
  t.ok(approved.some((a) => a.f15 === day1.slice(4)) && approved.some((a) => a.f15 === day2.slice(4)), 'the load sold on both days');
  t.equal(rows2[0]?.type, 'business-date', "the new day's file begins with the cut-over's entry");
  t.equal(rows2[0]?.seq, result.seq, 'with the seq day-cut reported');

  // After the cut: a previous day's sale cannot be reversed; it can be refunded.
  t.equal((await terms[0].request(terms[0].reversal(toReverse))).text(39), '25', "a reversal of the previous day's sale: 25");
  const receipt = terms[1].receipt(toRefundReq, toRefund, 'sale');
  t.equal((await terms[1].request(terms[1].refund(receipt, 1_000))).text(39), '00', "a refund of the previous day's sale is approved");

  // The back line seals the ended day and closes its accounts.
  t.ok(await waitFor(() => backlineDays(dataDir).some((d) => d.date === day1 && d.done), 20_000), `the back line finished ${day1}: ${JSON.stringify(backlineDays(dataDir))}`);
  t.ok(verifySeal(dataDir, day1), "the sealed journal still has its checksum");
  t.equal(statSync(dayJournalPath(dataDir, day1)).mode & 0o777, 0o444, 'and is read-only');
  t.notOk(existsSync(dayJournalPath(dataDir, day1) + '-wal'), 'and self-contained (no WAL beside it)');
  const sum = (m: Map<string, Row>) => [...m.values()].reduce((n, r) => n + r.amount, 0);
  const [open1, close1] = merchantDay(dataDir, day1);
  t.equal(close1 - open1, sum(sales1), `the merchant's account moved by the first day's approvals (${sum(sales1)} fen)`);
  t.ok(readFileSync(join(archiveDir(dataDir, day1), 'statement.csv'), 'utf8').split('\n').length - 2 >= 2 * sales1.size, 'the statement lists both legs of every sale');
  const day1Files = join(dataDir, 'backline', day1);
  const merchantLine = readFileSync(join(day1Files, `settlement-${day1}.csv`), 'utf8').split('\n').find((l) => l.startsWith(`merchant,${day1},${DEMO.mid},`))!;
  t.same(merchantLine.split(',').slice(4, 6).map(Number), [sales1.size, sum(sales1)], "the day's settlement file clears the merchant's sales");
  t.match(readFileSync(join(day1Files, `reconciliation-${day1}.csv`), 'utf8'), /^record,business_date,source,class/, 'the day is reconciled');
  t.ok(existsSync(join(day1Files, 'entries.parquet')) && existsSync(join(day1Files, `report-${day1}.html`)), 'exported to Parquet and reported');

  // The second day ends too: its snapshot opens where the first closed.
  const status = await runPosp(['backline', 'status', '--data', dataDir, '--json']);
  t.match(JSON.parse(status.stdout), [{ date: day1, done: true }], 'posp backline status shows the first day done');
  const second = await fetch(`${admin}/api/v1/day-cut`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
  t.equal(second.status, 200, 'the admin API cuts over to the third day');
  t.ok(await waitFor(() => backlineDays(dataDir).some((d) => d.date === day2 && d.done), 20_000), `the back line finished ${day2}`);
  const [open2, close2] = merchantDay(dataDir, day2);
  t.equal(open2, close1, "the second day's snapshot opens with the first day's closing balance");
  t.equal(close2 - open2, sum(sales2) - 1_000, `and moves by the second day's sales less the refund (${sum(sales2) - 1_000} fen)`);

  // Refusals, with reasons, changing nothing.
  const ask = (body: string) => fetch(`${admin}/api/v1/day-cut`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
  const backwards = await ask(JSON.stringify({ date: day1 }));
  t.equal(backwards.status, 409, 'a cut to an earlier day: 409');
  t.match(await backwards.json(), { error: /only moves forward/ }, 'with the reason');
  const bad = await ask(JSON.stringify({ date: '20261340' }));
  t.equal(bad.status, 400, 'not a date: 400');
  const noToken = await fetch(`${admin}/api/v1/day-cut`, { method: 'POST', body: '{}' });
  t.equal(noToken.status, 401, 'without the token: 401');
});
