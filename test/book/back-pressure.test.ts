/**
 * The book admits no more proposals than keep LMDB within `maxApplyLag` entries of what it entered
 * and the WAL under its limit; when it holds back, waking the apply thread (`relieve`) lets it
 * admit again, and a WAL past its high mark starts over, cut back, once a checkpoint copied it all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Book, Throttle, emptyReply, type BookOptions, type Proposal } from '../../src/book/index.js';
import { StateStore, type Account, type JournalEntry } from '../../src/store/index.js';
import { sleep } from '../switch/harness.js';

const DATE = '20261124';
/** Longer than any test waits: the apply thread only applies early when the book hurries it. */
const RESTING_MS = 60_000;

function account(id: string, kind: Account['kind'], balance: number): Account {
  return { id, kind, balance, held: 0, currency: '156', opening: balance };
}

function sale(stan: number): Proposal {
  const entry: JournalEntry = {
    seq: 0, at: Date.now(), businessDate: DATE, type: 'sale', mti: '0200', mid: '898100012340001', tid: '10000001', batch: '000001',
    stan: String(stan).padStart(6, '0'), rrn: '', authCode: '', panMasked: '622588******0001', panHash: 'h', amount: 1, currency: '156',
    responseCode: '00', originalKey: '', route: 'on-us', latencyUs: 0, requestKey: `10000001|000001|${stan}`,
    effects: { postings: [{ account: 'card', amount: -1 }, { account: 'merchant', amount: 1 }] }, riskRule: '',
  };
  return { entry, rrn: true, authCode: true };
}

async function setUp(t: Test, options: Partial<BookOptions>): Promise<{ state: StateStore; book: Book; walFile: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-pressure-'));
  const state = new StateStore(dir);
  await state.accounts.put('card', account('card', 'card', 1_000_000_000));
  await state.accounts.put('merchant', account('merchant', 'merchant', 0));
  const book = new Book(state, dir, { businessDate: DATE, holdDays: 30, applyIntervalMs: RESTING_MS, ...options });
  await book.recover();
  t.teardown(async () => {
    await book.close().catch(() => undefined);
    await state.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { state, book, walFile: path.join(dir, 'journal', `${DATE}.sqlite-wal`) };
}

/** Calls `relieve()` until the book admits again; the number of tries, or -1 after 10 s. */
async function relieveUntilAdmitting(book: Book): Promise<number> {
  for (let tries = 1; tries <= 1000; tries++) {
    book.relieve();
    if (book.admissible > 0) return tries;
    await sleep(10);
  }
  return -1;
}

t.test('past maxApplyLag entries not in LMDB the book admits nothing; hurrying the apply thread lets it admit again', async (t) => {
  const { book } = await setUp(t, { maxApplyLag: 100 });
  const reply = emptyReply();
  t.equal(book.admissible, 100, 'an idle book may admit the whole bound');
  for (let stan = 1; stan <= 60; stan++) book.enter(sale(stan), reply);
  t.equal(book.admissible, 40, 'each entry not in LMDB takes one from the allowance, durable or not');
  for (let stan = 61; stan <= 100; stan++) book.enter(sale(stan), reply);
  t.equal(book.admissible, 0, 'at the bound the book admits nothing');
  t.equal(book.throttle, Throttle.ApplyLag, 'and says it is LMDB it waits for');
  book.commit();
  await book.sync();
  t.equal(book.admissible, 0, 'durable is not enough: the entries must be in LMDB');
  t.equal(book.gauges.snapshot().applyLag, 100, 'the gauges show 100 entries durable and not applied');

  // The apply thread rests for a minute between transactions; relieve() wakes it.
  const tries = await relieveUntilAdmitting(book);
  t.ok(tries > 0, `woken, the apply thread caught up at once (after ${tries} tries), not after its rest`);
  t.equal(book.admissible, 100, 'with LMDB caught up the whole allowance is back');
  t.equal(book.gauges.snapshot().applyLag, 0, 'the gauges show no lag');
  t.equal(book.throttle, Throttle.None, 'nothing holds the book back');
});

t.test('a WAL past its high mark stops admission until a checkpoint has copied all of it; then it starts over, cut back', async (t) => {
  const limit = 256 * 1024;
  const { book, walFile } = await setUp(t, { walLimitBytes: limit });
  const reply = emptyReply();
  let stan = 0;
  let groups = 0;
  // Groups of 50 sales, each committed and made durable, until the WAL passes three quarters of the limit.
  while (book.admissible > 0) {
    for (let i = 0; i < 50; i++) book.enter(sale(++stan), reply);
    book.commit();
    await book.sync();
    if (++groups > 1000) break;
  }
  const full = fs.statSync(walFile).size;
  t.equal(book.throttle, Throttle.Wal, `after ${groups} groups the book waits for the WAL`);
  t.ok(full >= (limit * 3) / 4 && full <= limit, `the WAL passed its high mark and not its limit (${full} of ${limit} bytes)`);
  t.equal(book.admissible, 0, 'and admits nothing');

  const tries = await relieveUntilAdmitting(book);
  t.ok(tries > 0, `once the apply thread checkpointed and the book finished it, admission resumed (after ${tries} tries)`);
  book.enter(sale(++stan), reply);
  book.commit();
  await book.sync();
  const after = fs.statSync(walFile).size;
  t.ok(after <= limit / 8, `the next group started the WAL over, cut back to an eighth of the limit (${after} bytes)`);
  t.equal(book.gauges.snapshot().walBytes, after, 'the gauges show the WAL as it is');
});
