/**
 * The book's control channel and its event feed.
 *
 * Control: a reference change is journalled like a transaction (type `reference-change`, route
 * `control`) and, once LMDB has it, takes effect (a suspended merchant's sale answers 03; a null
 * value removes the key); a backward or malformed date, an unknown table or an empty key is
 * refused with a reason and changes nothing; a hold sweep answers and releases the holds that are
 * past their days, once. In process (`InProcessSwitch`) where it can be, with the real switch
 * (`startSwitch`) for the book thread's acknowledgement of a sweep.
 *
 * Feed: with the real switch, one summary per durable entry, in seq order, equal to the journal's
 * row (type, response code, date, amount, TID, MID, masked card...) and carrying nothing more of
 * the card: no clear PAN, no PAN hash, no other run of its digits.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { EntrySummary } from '../../src/book/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid, journalEntries, type JournalEntry, type Merchant } from '../../src/store/index.js';
import { DEFAULTS, InProcessSwitch, startSwitch } from '../../src/switch/index.js';
import { TEST_CARDS, sleep, withTimeout } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('control-channel-and-event-feed');

const DAY = '20261124';
const card = (n: number, pin: string = DEMO.pin) => ({ pan: demoPan(n), expiry: DEMO.expiry, pin });


function journalFiles(dir: string): string[] {
  return existsSync(join(dir, 'journal')) ? readdirSync(join(dir, 'journal')).filter((f) => /^\d{8}\.sqlite$/.test(f)).sort() : [];
}

/** A journal entry and the day file it is in. */
type Row = JournalEntry & { fileDate: string };

function readJournal(dir: string): Row[] {
  return journalFiles(dir).flatMap((file) => Array.from(journalEntries(join(dir, 'journal', file)), (e) => ({ ...e, fileDate: file.slice(0, 8) })));
}

async function openInProcess(t: Test, prefix: string): Promise<{ sw: InProcessSwitch; term: SimTerminal; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const sw = await InProcessSwitch.open({ dataDir, demo: true, demoCards: TEST_CARDS, businessDate: DAY });
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const term = new SimTerminal({ host: '', port: 0, transport: sw, tid: demoTid(0), mid: DEMO.mid, tmk: DEMO.tmk });
  t.equal((await term.signIn()).text(39), '00', 'terminal signed in');
  return { sw, term, dataDir };
}

t.test('a reference change is journalled and, once applied, suspends the merchant: its sales answer 03', async (t) => {
  const { sw, term, dataDir } = await openInProcess(t, 'posp-control-ref-');
  const first = await term.request(term.sale(card(1), 1_000));
  t.equal(first.text(39), '00', 'a sale of the active merchant is approved (and the worker has cached the merchant)');

  const merchant = sw.state.merchants.get(DEMO.mid)!;
  const suspended: Merchant = { ...merchant, status: 'suspended' };
  const before = sw.durable.length;
  const result = await sw.control({ kind: 'reference', table: 'merchants', key: DEMO.mid, value: suspended });
  t.ok('seq' in result, `the change is accepted: ${JSON.stringify(result)}`);
  const seq = 'seq' in result ? result.seq : NaN;
  t.equal(sw.durable.length, before + 1, 'one entry made durable');
  const entry = sw.durable.at(-1)!;
  t.same(
    { seq: entry.seq, type: entry.type, route: entry.route, responseCode: entry.responseCode, requestKey: entry.requestKey, businessDate: entry.businessDate, reference: entry.effects.reference },
    { seq, type: 'reference-change', route: 'control', responseCode: '00', requestKey: `merchants|${DEMO.mid}`, businessDate: DAY, reference: { table: 'merchants', key: DEMO.mid, value: suspended } },
    'the durable entry is the reference change',
  );
  const row = readJournal(dataDir).find((r) => r.seq === seq);
  t.same(
    row && { type: row.type, route: row.route, fileDate: row.fileDate, reference: row.effects.reference, postings: row.effects.postings },
    { type: 'reference-change', route: 'control', fileDate: DAY, reference: { table: 'merchants', key: DEMO.mid, value: suspended }, postings: undefined },
    'the journal file holds it, with the new record and no postings',
  );
  t.equal(sw.state.merchants.get(DEMO.mid)?.status, 'suspended', 'LMDB has applied it');
  t.equal(sw.state.appliedSeq(), seq, 'LMDB applied up to the change');

  // The pipeline caches merchants for up to 500 ms: a sale may still see the active merchant for
  // that long. Sell every 50 ms until it answers 03, at most 40 times (2 s).
  const changedAt = Date.now();
  const answers: string[] = [];
  for (let i = 0; i < 40; i++) {
    const res = await term.request(term.sale(card(2), 500));
    answers.push(res.text(39)!);
    if (res.text(39) !== '00') break;
    await sleep(50);
  }
  const tookMs = Date.now() - changedAt;
  t.equal(answers.at(-1), '03', `a sale of the suspended merchant answers 03 (answers: ${answers.join(' ')}, after ${tookMs} ms)`);
  t.ok(answers.slice(0, -1).every((c) => c === '00'), 'until then the cached merchant was still active');
  t.ok(tookMs < 1_000, `within the 500 ms merchant cache (plus slack): ${tookMs} ms`);
  t.comment(`after the change: ${answers.length - 1} sale(s) approved from the worker's cached merchant before the first 03 (${tookMs} ms)`);
  const declined = sw.durable.at(-1)!;
  t.same({ type: declined.type, responseCode: declined.responseCode, postings: declined.effects.postings }, { type: 'sale', responseCode: '03', postings: undefined }, 'the declined sale is journalled as 03 without postings');

  // Active again: sales are approved again (same cache bound).
  const back = await sw.control({ kind: 'reference', table: 'merchants', key: DEMO.mid, value: merchant });
  t.ok('seq' in back, 'reactivation accepted');
  const again: string[] = [];
  for (let i = 0; i < 40; i++) {
    const res = await term.request(term.sale(card(3), 700));
    again.push(res.text(39)!);
    if (res.text(39) === '00') break;
    await sleep(50);
  }
  t.equal(again.at(-1), '00', `after reactivation sales are approved again (${again.join(' ')})`);

  // A null value removes the key.
  const biller = { code: 'TST1', name: 'TEST BILLER', account: 'biller:TEL1' };
  t.ok('seq' in (await sw.control({ kind: 'reference', table: 'billers', key: 'TST1', value: biller })), 'a biller added');
  t.same(sw.state.billers.get('TST1'), biller, 'LMDB has the biller');
  const removed = await sw.control({ kind: 'reference', table: 'billers', key: 'TST1', value: null });
  t.ok('seq' in removed, 'a null value accepted');
  t.equal(sw.state.billers.get('TST1'), undefined, 'LMDB no longer has the biller');
  t.same(sw.durable.at(-1)!.effects.reference, { table: 'billers', key: 'TST1', value: null }, 'the removal is journalled with a null value');
});

t.test('a backward or malformed date, an unknown table or an empty key is refused and changes nothing', async (t) => {
  const { sw, term, dataDir } = await openInProcess(t, 'posp-control-refuse-');
  t.equal((await term.request(term.sale(card(4), 100))).text(15), '1124', 'a sale settles on 1124');
  const durable = sw.durable.length;
  const files = journalFiles(dataDir);
  const applied = sw.state.appliedSeq();
  const rows = readJournal(dataDir).length;

  const cases: [string, Parameters<InProcessSwitch['control']>[0], RegExp][] = [
    ['a backward date', { kind: 'business-date', date: '20261123' }, /only moves forward: 20261123 is not after 20261124/],
    ['the same date', { kind: 'business-date', date: DAY }, /only moves forward/],
    ['a date with dashes', { kind: 'business-date', date: '2026-11-25' }, /not a date: 2026-11-25/],
    ['seven digits', { kind: 'business-date', date: '2026112' }, /not a date/],
    ['30 February', { kind: 'business-date', date: '20270230' }, /not a date: 20270230/],
    ['month 13', { kind: 'business-date', date: '20261301' }, /not a date/],
    ['an empty date', { kind: 'business-date', date: '' }, /not a date/],
    ['accounts (not a reference table: balances move only by postings)', { kind: 'reference', table: 'accounts' as 'merchants', key: 'merchant:' + DEMO.mid, value: { balance: 1 } }, /reference table.*accounts/],
    ['txns', { kind: 'reference', table: 'txns' as 'merchants', key: 'x', value: {} }, /reference table.*txns/],
    ['an empty key', { kind: 'reference', table: 'merchants', key: '', value: {} }, /key/],
    ['a value that is neither a record nor null', { kind: 'reference', table: 'merchants', key: DEMO.mid, value: 'suspended' }, /record/],
  ];
  for (const [what, change, reason] of cases) {
    const result = await sw.control(change);
    t.match(result, { refused: reason }, `${what}: refused (${'refused' in result ? result.refused : JSON.stringify(result)})`);
  }
  t.equal(sw.businessDate, DAY, 'the business date is unchanged');
  t.equal(sw.durable.length, durable, 'no entry was made durable');
  t.same(journalFiles(dataDir), files, 'no day file was opened');
  t.equal(readJournal(dataDir).length, rows, 'the journal holds no new row');
  t.equal(sw.state.appliedSeq(), applied, 'LMDB is where it was');
  t.equal(sw.state.merchants.get(DEMO.mid)?.status, 'active', 'the merchant is untouched');
  t.equal(sw.state.accounts.get('merchant:' + DEMO.mid)?.balance, 100, 'the merchant account is untouched');
  const res = await term.request(term.sale(card(5), 100));
  t.same({ code: res.text(39), f15: res.text(15), seq: Number(res.text(37)) }, { code: '00', f15: '1124', seq: applied + 1 }, 'the next sale settles on the same day with the next seq');
});

t.test('a hold sweep answers, and releases a pre-auth hold only once it is past its days', async (t) => {
  const { sw, term } = await openInProcess(t, 'posp-control-sweep-');
  const pan = demoPan(77);
  const account = sw.state.cards.get(pan)!.account;
  const res = await term.request(term.preAuth(card(77), 8_000));
  t.equal(res.text(39), '00', 'pre-auth approved');
  t.equal(sw.state.accounts.get(account)!.held, 8_000, 'its hold is on the card');
  const lastSeq = sw.durable.at(-1)!.seq;

  const early = await sw.control({ kind: 'hold-sweep' });
  t.same(early, { seq: lastSeq, released: 0 }, 'a sweep within the hold days answers with the last seq, 0 released');
  t.equal(sw.durable.at(-1)!.seq, lastSeq, '... and journals nothing');
  t.equal(sw.state.accounts.get(account)!.held, 8_000, '... and the hold stays');

  // 30 business days later the hold is still within its days (DEFAULTS.holdDays = 30); 31 days later it is not.
  t.ok('seq' in (await sw.control({ kind: 'business-date', date: '20261224' })), 'the date moves to 20261224 (30 days)');
  const day30 = await sw.control({ kind: 'hold-sweep' });
  t.same(day30, { seq: sw.durable.at(-1)!.seq, released: 0 }, 'day 30: the sweep answers, 0 released');
  t.equal(sw.durable.at(-1)!.type, 'business-date', 'day 30: nothing released');
  t.ok('seq' in (await sw.control({ kind: 'business-date', date: '20261225' })), 'the date moves to 20261225 (31 days)');
  const day31 = await sw.control({ kind: 'hold-sweep' });
  const release = sw.durable.at(-1)!;
  t.same(day31, { seq: release.seq, released: 1 }, 'day 31: the sweep answers with the seq of its release, 1 released');
  t.same(
    { type: release.type, route: release.route, responseCode: release.responseCode, amount: release.amount, businessDate: release.businessDate, holds: release.effects.holds, originals: release.effects.originals?.map((o) => o.status) },
    { type: 'hold-expiry', route: 'on-us', responseCode: '00', amount: 8_000, businessDate: '20261225', holds: [{ account, amount: -8_000 }], originals: ['expired'] },
    'day 31: the release is journalled as a hold-expiry entry of the new day',
  );
  t.equal(sw.state.accounts.get(account)!.held, 0, 'day 31: the hold is released');
  const twice = await sw.control({ kind: 'hold-sweep' });
  t.same(twice, { seq: release.seq, released: 0 }, 'a second sweep answers and releases nothing more');
  t.equal(sw.durable.filter((e) => e.type === 'hold-expiry').length, 1, 'one release in all');
});

t.test('with the book thread: a hold sweep on an idle switch is answered', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-control-idle-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config }, logging.log);
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(5), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  t.teardown(() => term.close());
  t.equal((await term.signIn()).text(39), '00', 'signed in');
  const sale = await term.request(term.sale(card(9), 300));
  t.equal(sale.text(39), '00', 'a sale approved');
  const lastSeq = Number(sale.text(37));
  // The sweep waits (in the book) until LMDB has applied the sale, then finds nothing to release.
  const result = await withTimeout(sw.control({ kind: 'hold-sweep' }), 3_000, 'hold sweep');
  t.same(result, { seq: lastSeq, released: 0 }, 'the sweep (nothing to release) is answered within 3 s with the last seq');
  const after = await withTimeout(term.request(term.sale(card(9), 300)), 5_000, 'sale');
  t.equal(after.text(39), '00', 'the switch still answers');
});

t.test('the event feed: one summary per durable entry, in seq order, equal to the journal, the card only masked', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-feed-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config }, logging.log);
  let closed = false;
  const dbs = new Map<string, Database.Database>();
  t.teardown(async () => {
    if (!closed) await sw.close();
    for (const db of dbs.values()) db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const summaries: EntrySummary[] = [];
  const notInJournal: number[] = [];
  sw.feed.subscribe((s) => {
    summaries.push(s);
    // A summary is published after its entry's fsync: the entry is in its day's file already.
    let db = dbs.get(s.businessDate);
    if (db === undefined) {
      db = new Database(join(dataDir, 'journal', `${s.businessDate}.sqlite`), { readonly: true, fileMustExist: true });
      dbs.set(s.businessDate, db);
    }
    if (db.prepare('SELECT seq FROM entries WHERE seq = ?').get(s.seq) === undefined) notInJournal.push(s.seq);
  });
  const day = sw.businessDate;
  const next = (() => {
    const d = new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)) + 1));
    return d.toISOString().slice(0, 10).replace(/-/g, '');
  })();

  const pans: string[] = [];
  const terms = [0, 1, 2].map((i) => new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(10 + i), mid: DEMO.mid, tmk: DEMO.tmk }));
  for (const term of terms) {
    await term.connect();
    t.equal((await term.signIn()).text(39), '00', `${term.options.tid} signed in`);
  }
  const codes: string[] = [];
  const sell = async (n: number, amount: number, pin: string = DEMO.pin): Promise<void> => {
    const results = await Promise.all(terms.map((term, i) => term.request(term.sale(card(n + i, pin), amount + i))));
    for (let i = 0; i < terms.length; i++) pans.push(demoPan(n + i));
    codes.push(...results.map((r) => r.text(39)!));
  };
  await sell(100, 1_234);
  await sell(110, 2_000, '999999'); // wrong PIN: 55
  const inquiry = await terms[0].request(terms[0].balanceInquiry(card(120)));
  pans.push(demoPan(120));
  t.equal(inquiry.text(39), '00', 'a balance inquiry answered');
  const ref = await sw.control({ kind: 'reference', table: 'billers', key: 'TST1', value: { code: 'TST1', name: 'TEST', account: 'biller:TEL1' } });
  t.ok('seq' in ref, 'a reference change');
  t.match(await sw.control({ kind: 'business-date', date: day }), { refused: /only moves forward/ }, 'a date that is not later is refused through the book thread too');
  t.match(await sw.control({ kind: 'business-date', date: 'tomorrow' }), { refused: /not a date/ }, 'a malformed date is refused through the book thread too');
  const moved = await sw.control({ kind: 'business-date', date: next });
  t.ok('seq' in moved, `the date moves to ${next}`);
  await sell(130, 3_000);
  t.same([...new Set(codes)].sort(), ['00', '55'], 'sales approved and declined (wrong PIN)');

  // Drain what the book has published (the feed polls every 100 ms; poll() drains now).
  const expected = Number((await terms[0].request(terms[0].sale(card(140), 50))).text(37));
  pans.push(demoPan(140));
  for (let i = 0; i < 100 && sw.feed.lastSeq < expected; i++) {
    sw.feed.poll();
    if (sw.feed.lastSeq < expected) await sleep(20);
  }
  t.equal(sw.feed.lastSeq, expected, `the feed reached the last entry answered (${expected})`);
  const health = (await (await fetch(`http://127.0.0.1:${sw.adminPort}/health`)).json()) as { journalledSeq: number; businessDate: string; entriesByType: Record<string, number>; entriesByCode: Record<string, number> };
  for (const term of terms) term.close();
  await sw.close();
  closed = true;

  const rows = readJournal(dataDir);
  const maxSeq = rows.at(-1)!.seq;
  t.equal(maxSeq, expected, 'nothing was journalled after the last sale');
  t.same(summaries.map((s) => s.seq), Array.from({ length: maxSeq }, (_, i) => i + 1), `one summary per entry, seqs 1..${maxSeq} in order`);
  t.same(notInJournal, [], 'each summary arrived when its entry was already in its day file');
  const FIELDS = ['amount', 'at', 'businessDate', 'latencyUs', 'mid', 'panMasked', 'responseCode', 'route', 'seq', 'tid', 'type'];
  t.same([...new Set(summaries.flatMap((s) => Object.keys(s).sort().join(',')))], [FIELDS.join(',')], 'summaries carry exactly the operational fields');
  const differ: string[] = [];
  for (const s of summaries) {
    const r = rows.find((row) => row.seq === s.seq);
    const want = r && { seq: r.seq, at: r.at, businessDate: r.businessDate, type: r.type, responseCode: r.responseCode, amount: r.amount, latencyUs: r.latencyUs, route: r.route, mid: r.mid, tid: r.tid, panMasked: r.panMasked };
    if (JSON.stringify(want) !== JSON.stringify({ seq: s.seq, at: s.at, businessDate: s.businessDate, type: s.type, responseCode: s.responseCode, amount: s.amount, latencyUs: s.latencyUs, route: s.route, mid: s.mid, tid: s.tid, panMasked: s.panMasked })) {
      differ.push(`seq ${s.seq}: feed ${JSON.stringify(s)} journal ${JSON.stringify(want)}`);
    }
  }
  t.same(differ.slice(0, 5), [], `every summary equals its journal row (${differ.length} differ)`);
  const types = (list: { type: string }[]) => list.reduce<Record<string, number>>((m, e) => ({ ...m, [e.type]: (m[e.type] ?? 0) + 1 }), {});
  t.same(types(summaries), types(rows), `types as the journal has them: ${JSON.stringify(types(rows))}`);
  t.same(
    ['sale', 'balance-inquiry', 'reference-change', 'business-date'].map((ty) => types(rows)[ty]),
    [3 * 3 + 1, 1, 1, 1],
    'the entries: 10 sales, an inquiry, a reference change and a date change (refusals journal nothing)',
  );
  const byCode = (list: { responseCode: string }[]) => list.reduce<Record<string, number>>((m, r) => ({ ...m, [r.responseCode]: (m[r.responseCode] ?? 0) + 1 }), {});
  t.same(byCode(summaries), byCode(rows), `response codes as the journal has them: ${JSON.stringify(byCode(rows))}`);
  t.ok(byCode(summaries)['55'] === 3, 'the three wrong-PIN sales are in the feed as 55');
  t.equal(health.businessDate, next, '/health: the new business date');
  t.equal(health.journalledSeq, expected, '/health: journalledSeq is the feed\'s last seq');
  t.same(summaries.filter((s) => s.type === 'business-date').map((s) => [s.seq, s.businessDate, s.route]), [['seq' in moved ? moved.seq : NaN, next, 'control']], 'the date change is in the feed, dated the new day');
  t.same([...new Set(summaries.filter((s) => s.seq > ('seq' in moved ? moved.seq : Infinity)).map((s) => s.businessDate))], [next], 'every summary after it carries the new day');

  // The card only masked: no PAN, no PAN hash, no 6+ digit run of a PAN outside MID, TID and the masked card.
  const panRows = rows.filter((r) => r.panMasked !== '');
  t.equal(panRows.length, 11, 'the journal itself records the cards of the 10 sales and the inquiry (masked PAN)');
  t.same(summaries.filter((s) => s.panMasked !== '').map((s) => s.panMasked), panRows.map((r) => r.panMasked), 'the feed carries those masked cards, and only those');
  t.ok(panRows.every((r) => /^\d{6}\*+\d{4}$/.test(r.panMasked)), `masked as first 6, stars, last 4 (${panRows[0].panMasked})`);
  const leaks: string[] = [];
  for (const s of summaries) {
    for (const [field, value] of Object.entries(s)) {
      const text = String(value);
      if (field === 'mid' || field === 'tid') {
        if (text !== '' && text !== DEMO.mid && !terms.some((term) => term.options.tid === text)) leaks.push(`seq ${s.seq} ${field}=${text}`);
        continue;
      }
      if (field === 'panMasked') continue;
      for (const pan of new Set(pans)) {
        for (let i = 0; i + 6 <= pan.length; i++) {
          // Digits of the clock (at, latency) may meet a 6-digit run by chance: only text fields count.
          if (typeof value === 'string' && text.includes(pan.slice(i, i + 6))) leaks.push(`seq ${s.seq} ${field}=${text} holds ${pan.slice(i, i + 6)}`);
        }
      }
    }
    for (const r of panRows.filter((row) => row.seq === s.seq)) {
      if (JSON.stringify(s).includes(r.panHash)) leaks.push(`seq ${s.seq} carries the PAN hash`);
    }
  }
  t.same(leaks.slice(0, 5), [], 'no summary carries a clear PAN, its hash or another run of its digits');
});
