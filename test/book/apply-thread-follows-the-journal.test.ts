import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Book, emptyReply, type Proposal } from '../../src/book/index.js';
import { Journal, JournalReader, StateStore, type Account, type JournalEntry } from '../../src/store/index.js';

const DATE = '20261124';

function account(id: string, kind: Account['kind'], balance: number): Account {
  return { id, kind, balance, held: 0, currency: '156', opening: balance };
}

/** A sale of `amount` from card account `card` to the merchant account. */
function sale(card: string, amount: number, stan: number): Proposal {
  const entry: JournalEntry = {
    seq: 0, at: Date.now(), businessDate: DATE, type: 'sale', mti: '0200', mid: '898100012340001', tid: '10000001', batch: '000001',
    stan: String(stan).padStart(6, '0'), rrn: '', authCode: '', panMasked: '622588******0001', panHash: 'h', amount, currency: '156',
    responseCode: '00', originalKey: '', route: 'on-us', latencyUs: 0, requestKey: `10000001|000001|${stan}`,
    effects: { postings: [{ account: card, amount: -amount }, { account: 'merchant', amount }] }, riskRule: '',
  };
  return { entry, rrn: true, authCode: true };
}

async function setUp(t: Test, applyFeedBytes?: number): Promise<{ dir: string; state: StateStore; book: Book }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-apply-'));
  const state = new StateStore(dir);
  await state.accounts.put('card', account('card', 'card', 100_000));
  await state.accounts.put('merchant', account('merchant', 'merchant', 0));
  // A short interval: the test waits for the thread, not for time.
  const book = new Book(state, dir, { businessDate: DATE, holdDays: 30, applyIntervalMs: 5, applyFeedBytes });
  await book.recover();
  t.teardown(async () => {
    await book.close().catch(() => undefined);
    await state.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, state, book };
}


t.test('LMDB gets every durable entry from the apply thread, and nothing before it is durable', async (t) => {
  const { state, book } = await setUp(t);
  const r = emptyReply();
  for (let i = 1; i <= 50; i++) book.enter(sale('card', 100, i), r);
  t.equal(r.seq, 50);
  book.commit();
  // Committed but not yet synced: the apply thread has not been told, so LMDB has none of it.
  await new Promise((resolve) => setTimeout(resolve, 30));
  state.refresh();
  t.equal(state.appliedSeq(), 0, 'nothing applied before the fsync');
  t.equal(state.accounts.get('card')!.balance, 100_000);

  await book.sync();
  await book.settled();
  state.refresh();
  t.equal(state.appliedSeq(), 50, 'applied up to the last durable entry');
  t.equal(state.accounts.get('card')!.balance, 100_000 - 50 * 100, 'card debited once per sale');
  t.equal(state.accounts.get('merchant')!.balance, 50 * 100, 'merchant credited once per sale');
});

t.test('the apply thread takes the entries from the book, not from the journal, while they fit its feed', async (t) => {
  const { state, book } = await setUp(t);
  const r = emptyReply();
  for (let group = 0; group < 5; group++) {
    for (let i = 1; i <= 40; i++) book.enter(sale('card', 10, group * 40 + i), r);
    book.commit();
    await book.sync();
  }
  await book.settled();
  state.refresh();
  t.equal(state.appliedSeq(), 200);
  t.equal(state.accounts.get('card')!.balance, 100_000 - 200 * 10);
  t.equal(book.gauges.readBack, 0, 'no entry read back from the journal');
});

t.test('entries the feed has no room for are read back from the journal, in seq order with the rest', async (t) => {
  // A feed of 1 KiB holds two or three sales: most of each group of 40 finds it full.
  const { state, book } = await setUp(t, 1024);
  const r = emptyReply();
  for (let group = 0; group < 5; group++) {
    for (let i = 1; i <= 40; i++) book.enter(sale('card', 10 + group, group * 40 + i), r);
    book.commit();
    await book.sync();
    // Half the groups are applied before the next is fed: the feed then starts each group with room.
    if (group % 2 === 0) await book.settled();
  }
  await book.settled();
  state.refresh();
  t.equal(state.appliedSeq(), 200, 'every entry applied');
  t.equal(state.accounts.get('card')!.balance, 100_000 - 40 * (10 + 11 + 12 + 13 + 14), 'each sale posted exactly once');
  t.equal(state.accounts.get('merchant')!.balance, 40 * (10 + 11 + 12 + 13 + 14));
  const readBack = book.gauges.readBack;
  t.ok(readBack > 0 && readBack < 200, `some entries came from the journal (${readBack}), the rest from the feed`);
});

t.test('an apply thread that fails makes the next sync fail: LMDB may not silently fall behind', async (t) => {
  const { state, book } = await setUp(t);
  const r = emptyReply();
  book.enter(sale('card', 100, 1), r);
  t.equal(r.responseCode, '00', 'the book has the account (it read it before it vanished)');
  // The account disappears from LMDB behind the book's back: applying the posting cannot work.
  await state.accounts.remove('card');
  book.commit();
  await book.sync();
  await t.rejects(book.settled(), /applying the journal to LMDB failed: .*unknown account card/);
  book.enter(sale('merchant', 0, 2), r);
  book.commit();
  await t.rejects(book.sync(), /applying the journal to LMDB failed/);
});

t.test('checkpoints keep the WAL from growing: after one, the next group reuses the WAL from its start', async (t) => {
  // The journal alone (no book, so no apply thread checkpointing on its own schedule).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-wal-'));
  const journal = new Journal(dir, DATE);
  const reader = new JournalReader(journal.path);
  t.teardown(() => {
    reader.close();
    journal.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const wal = `${journal.path}-wal`;
  let seq = 0;
  const groups = async (n: number): Promise<void> => {
    for (let g = 0; g < n; g++) {
      for (let i = 0; i < 20; i++) {
        const { entry } = sale('card', 1, ++seq);
        entry.seq = seq;
        journal.append(entry);
      }
      journal.commit();
      await journal.sync();
    }
  };
  await groups(20);
  const grown = fs.statSync(wal).size;
  await groups(20);
  t.ok(fs.statSync(wal).size > grown, 'without checkpoints the WAL grows');

  reader.checkpoint();
  journal.checkpoint();
  const before = fs.statSync(wal).size;
  await groups(20);
  t.equal(fs.statSync(wal).size, before, 'after a checkpoint the same number of groups fits in the WAL already there');
  t.equal(reader.entries(0, seq, 10_000).length, seq, 'every entry is still in the journal');
});
