/**
 * The admin API serves the back line's search and reports: `GET /api/v1/transactions` takes the
 * search criteria in its query string (bad ones are 400 with the reason), pages newest first and
 * shows masked card numbers only; `GET /api/v1/reports/:date` is a day's report (404 for a day with
 * no journal); both behind the token.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('transactions-and-reports-api');

const TOKEN = 'search-api-test-token';

t.test('transaction search and daily reports over the admin API', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-search-api-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, adminToken: TOKEN, cutoverAt: 'off' }, logging.log);
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(90), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(async () => {
    term.close();
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await term.connect();
  t.equal((await term.signIn()).text(39), '00', 'signed in');
  const amounts = [1_100, 2_200, 3_300];
  const rrns: string[] = [];
  for (const [i, amount] of amounts.entries()) {
    const res = await term.request(term.sale({ pan: demoPan(i + 1), expiry: DEMO.expiry, pin: DEMO.pin }, amount));
    t.equal(res.text(39), '00', `sale of ${amount} approved`);
    rrns.push(res.text(37)!);
  }
  const get = (path: string, token: string | null = TOKEN) =>
    fetch(`http://127.0.0.1:${sw.adminPort}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });

  t.equal((await get(`/api/v1/transactions?tid=${term.options.tid}`, null)).status, 401, 'no token: 401');
  const all = await get(`/api/v1/transactions?tid=${term.options.tid}`);
  t.equal(all.status, 200, 'search by terminal');
  const found = (await all.json()) as { rows: { rrn: string; amount: number; panMasked: string }[] };
  t.same(found.rows.map((r) => r.amount), [...amounts].reverse(), 'its three sales, newest first');
  t.ok(found.rows.every((r) => /^\d{6}\*+\d{4}$/.test(r.panMasked)), 'card numbers masked');
  t.notOk(JSON.stringify(found).includes(demoPan(1)), 'no full card number anywhere');

  const paged = (await (await get(`/api/v1/transactions?tid=${term.options.tid}&size=2`)).json()) as { rows: { amount: number }[]; next?: number };
  t.same(paged.rows.map((r) => r.amount), [3_300, 2_200], 'a page of two');
  const rest = (await (await get(`/api/v1/transactions?tid=${term.options.tid}&size=2&before=${paged.next}`)).json()) as { rows: { amount: number }[] };
  t.same(rest.rows.map((r) => r.amount), [1_100], 'and the next page from its cursor');
  const byRrn = (await (await get(`/api/v1/transactions?rrn=${rrns[1]}`)).json()) as { rows: { amount: number }[] };
  t.same(byRrn.rows.map((r) => r.amount), [2_200], 'by RRN');
  const range = (await (await get(`/api/v1/transactions?minAmount=2000&maxAmount=3000&from=${sw.businessDate}`)).json()) as { rows: { amount: number }[] };
  t.same(range.rows.map((r) => r.amount), [2_200], 'by amount range and date');

  const unknown = await get('/api/v1/transactions?colour=red');
  t.equal(unknown.status, 400, 'an unknown criterion: 400');
  t.match(await unknown.json(), { error: /unknown search parameter colour/ });
  const badDate = await get('/api/v1/transactions?from=2026-02-30');
  t.equal(badDate.status, 400, 'a date that is not: 400');
  t.equal((await get('/api/v1/transactions?amount=12.5')).status, 400, 'an amount that is not whole: 400');

  const report = await get(`/api/v1/reports/${sw.businessDate}`);
  t.equal(report.status, 200, "today's report");
  t.match(JSON.stringify(await report.json()), /"sale"/, 'with its sales by type');
  t.equal((await get('/api/v1/reports/19990101')).status, 404, 'a day with no journal: 404');
  t.equal((await get('/api/v1/reports/1999-13-01')).status, 400, 'not a date: 400');
});
