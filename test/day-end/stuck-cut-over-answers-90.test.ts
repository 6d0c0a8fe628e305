/**
 * A cut-over that cannot finish (the new day's journal file is locked by another process, as a
 * hung disk or a stray tool would hold it): requests are answered `90` once it has run past its
 * bound (`--cutover-stuck-ms`), unjournalled, instead of waiting; a request that came before the
 * bound is answered once the cut-over ends. When the lock goes the cut-over completes; when it does
 * not, the cut-over is refused with the reason and the old day goes on.
 *
 * The back line prepares the day after the current one ahead of time (that file is open in WAL
 * mode, which a lock cannot keep the book from opening), so these cut-overs skip a day: the back
 * line cannot prepare the locked file, and after its wait the book opens the file itself.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dayJournalPath } from '../../src/day-end/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { dayAfter } from '../../src/txn/index.js';
import { sleep } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('stuck-cut-over-answers-90');

/** Holds an exclusive lock on the file where the book will open the next day's journal. */
function lockDayFile(path: string): Database.Database {
  const db = new Database(path);
  db.exec('BEGIN EXCLUSIVE');
  return db;
}

/** Resolves once /health says a cut-over has held the book for a while (it is stuck, not just under way). */
async function bookStuck(adminPort: number): Promise<void> {
  for (;;) {
    const health = (await (await fetch(`http://127.0.0.1:${adminPort}/health`)).json()) as { cutover: { inProgressMs: number | null } };
    if ((health.cutover.inProgressMs ?? 0) > 50) return;
    await sleep(20);
  }
}

t.test('a stuck cut-over answers 90 past its bound; it completes when the lock goes, and is refused when it does not', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-stuck-cut-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, cutoverAt: 'off', cutoverStuckMs: 300 }, logging.log);
  const early = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(80), mid: DEMO.mid, tmk: DEMO.tmk });
  const late = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(81), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(async () => {
    early.close();
    late.close();
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  for (const term of [early, late]) {
    await term.connect();
    t.equal((await term.signIn()).text(39), '00', `${term.options.tid} signed in`);
  }
  const card = (n: number) => ({ pan: demoPan(n), expiry: DEMO.expiry, pin: DEMO.pin });
  const day1 = sw.businessDate;
  const day2 = dayAfter(dayAfter(day1));

  // The lock goes soon after the book is stuck on it: the cut-over waits for it, then completes.
  let lock = lockDayFile(dayJournalPath(dataDir, day2));
  const cut = sw.control({ kind: 'business-date', date: day2 });
  await bookStuck(sw.adminPort);
  const earlySale = early.request(early.sale(card(1), 500));
  await sleep(500);
  const refused = await late.request(late.sale(card(2), 600));
  t.equal(refused.text(39), '90', 'a sale after the bound: 90 at once');
  t.notOk(refused.has(37), 'with no RRN (nothing was journalled)');
  lock.exec('ROLLBACK');
  lock.close();
  t.match(await cut, { seq: Number }, 'the cut-over completed once the lock was gone');
  const waited = await earlySale;
  t.equal(waited.text(39), '00', 'the sale that came before the bound waited and was approved');
  const after = await late.request(late.sale(card(3), 700));
  t.same([after.text(39), after.text(15)], ['00', day2.slice(4)], 'after it, sales are approved on the new day');
  const db = new Database(dayJournalPath(dataDir, day1), { readonly: true });
  const day1Amounts = (db.prepare("SELECT amount FROM entries WHERE type = 'sale'").all() as { amount: number }[]).map((r) => r.amount);
  db.close();
  const day2Db = new Database(dayJournalPath(dataDir, day2), { readonly: true });
  const day2Amounts = (day2Db.prepare("SELECT amount FROM entries WHERE type = 'sale'").all() as { amount: number }[]).map((r) => r.amount);
  day2Db.close();
  t.notOk([...day1Amounts, ...day2Amounts].includes(600), 'the sale answered 90 is in no journal');

  // A lock that outlasts SQLite's wait: the cut-over is refused and the old day goes on.
  const day3 = dayAfter(dayAfter(day2));
  lock = lockDayFile(dayJournalPath(dataDir, day3));
  const result = await sw.control({ kind: 'business-date', date: day3 });
  lock.exec('ROLLBACK');
  lock.close();
  t.match(result, { refused: new RegExp(`the journal of ${day3} cannot be opened`) }, 'refused with the reason');
  const still = await late.request(late.sale(card(4), 800));
  t.same([still.text(39), still.text(15)], ['00', day2.slice(4)], 'and sales go on, on the day that was');
  t.match(await sw.control({ kind: 'business-date', date: day3 }), { seq: Number }, 'without the lock the same cut-over goes through');
});
