// The journal (src/store/journal.ts) is the switch's write-ahead log: one SQLite file per business
// day in WAL mode. What is committed must read back field for field (effects included) through a
// fresh connection, before and after close and reopen; sync() must resolve whether or not there
// is anything to flush; the tail must come back in seq order across groups and days; and receipt
// lookup by RRN must use an index and never answer with a retransmission replay.
import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, entryByRrn, journalDates, journalTail, type Effects, type JournalEntry } from '../../src/store/index.js';

const DAY = '20250101';
const NEXT_DAY = '20250102';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'posp-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const RICH_EFFECTS: Effects = {
  postings: [
    { account: 'C:6222020000000007', amount: -4321 },
    { account: 'M:898310148160001', amount: 4321 },
  ],
  holds: [{ account: 'C:6222020000000007', amount: -100 }],
  totals: { domestic: true, debitAmount: 4321, debitCount: 1, creditAmount: 0, creditCount: 0 },
  statusUpload: Buffer.from('01020304', 'hex'),
  terminal: { batch: '000002', signedIn: true, keys: { mode: '003', pik: Buffer.alloc(16, 1), mak: Buffer.alloc(8, 2), issuedAt: 1735689600000 } },
  txn: {
    key: 'mid|tid|000001|000001|0200',
    seq: 1,
    type: 'sale',
    businessDate: DAY,
    mid: '898310148160001',
    tid: '10000042',
    batch: '000001',
    stan: '000001',
    panHash: 'hash',
    amount: 4321,
    rrn: '000000000001',
    authCode: '123456',
    date: '0101',
    time: '101010',
    responseCode: '00',
    status: 'approved',
    mabHash: 'm',
    postings: [{ account: 'C:6222020000000007', amount: -4321 }],
    refunded: 0,
  },
  originals: [{ key: 'orig', status: 'voided', refund: 5 }],
};

function entry(seq: number, over: Partial<JournalEntry> = {}): JournalEntry {
  return {
    seq,
    at: 1735689600000 + seq,
    businessDate: DAY,
    type: seq % 2 ? 'sale' : 'void',
    mti: '0200',
    mid: '898310148160001',
    tid: '10000042',
    batch: '000001',
    stan: String(seq).padStart(6, '0'),
    rrn: String(seq).padStart(12, '0'),
    authCode: seq % 3 ? 'AB' + String(seq).padStart(4, '0') : '',
    panMasked: '622202******0007',
    panHash: `hash-${seq}`,
    amount: seq * 100 - 250, // negative, zero and positive amounts
    currency: '156',
    responseCode: seq % 5 ? '00' : '51',
    originalKey: seq % 2 ? '' : `orig-${seq - 1}`,
    route: 'on-us',
    latencyUs: 100 + seq,
    requestKey: `898310148160001|10000042|000001|${String(seq).padStart(6, '0')}|0200`,
    effects: seq % 2 ? { ...RICH_EFFECTS, txn: { ...RICH_EFFECTS.txn!, seq } } : {},
    riskRule: '',
    ...over,
  };
}

/** The private better-sqlite3 handle: synchronous and wal_autocheckpoint are per connection, not stored in the file. */
function handle(journal: Journal): Database.Database {
  return (journal as unknown as { db: Database.Database }).db;
}

t.test('committed and synced entries read back through journalTail with equal fields and effects', async (t) => {
  const dir = tempDir(t);
  const journal = new Journal(dir, DAY);
  t.teardown(() => journal.close());
  const written = [1, 2, 3, 4, 5].map((s) => entry(s));
  for (const e of written) journal.append(e);

  // Appended but not committed: a fresh reader sees nothing yet.
  t.same(journalTail(dir, 0), { entries: [], maxSeq: 0 }, 'an open group is invisible to other connections');

  journal.commit();
  await journal.sync();
  const tail = journalTail(dir, 0);
  t.equal(tail.maxSeq, 5);
  t.equal(tail.entries.length, 5);
  t.strictSame(tail.entries, written, 'every field and the effects come back exactly');
  t.ok(Buffer.isBuffer(tail.entries[0].effects.statusUpload), 'a Buffer in effects is a Buffer again');
  t.equal(tail.entries[0].effects.terminal?.keys?.pik.toString('hex'), '01'.repeat(16));
  t.equal(tail.entries[1].amount, -50, 'negative amount');
  t.equal(tail.entries[2].amount, 50);
  t.equal(tail.entries[4].responseCode, '51');
  t.strictSame(journalTail(dir, 3).entries.map((e) => e.seq), [4, 5], 'the tail after seq 3');
  t.same(journalTail(dir, 5), { entries: [], maxSeq: 5 }, 'nothing after the last seq');
});

t.test('the day file is in WAL mode with synchronous NORMAL and no automatic checkpoints, and it and its -wal exist', async (t) => {
  const dir = tempDir(t);
  const journal = new Journal(dir, DAY);
  t.teardown(() => journal.close());
  const file = join(dir, 'journal', `${DAY}.sqlite`);
  t.equal(journal.path, file, 'one file per business day under <dataDir>/journal');
  t.equal(journal.businessDate, DAY);
  t.ok(existsSync(file), 'the day file exists');
  t.ok(existsSync(`${file}-wal`), 'its -wal file exists');
  t.same(journalDates(dir), [DAY]);

  journal.append(entry(1));
  journal.commit();
  await journal.sync();
  t.ok(statSync(`${file}-wal`).size > 0, 'a commit went to the -wal file');

  const other = new Database(file, { readonly: true });
  try {
    t.equal(other.pragma('journal_mode', { simple: true }), 'wal', 'WAL mode is recorded in the file');
    t.equal((other.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n, 1, 'a separate connection sees the committed row');
  } finally {
    other.close();
  }
  // synchronous is a per-connection setting, so it is read from the journal's own connection.
  t.equal(handle(journal).pragma('synchronous', { simple: true }), 1, 'synchronous = NORMAL (1)');
  t.equal(handle(journal).pragma('journal_mode', { simple: true }), 'wal');
  t.equal(handle(journal).pragma('wal_autocheckpoint', { simple: true }), 0, 'no checkpoint inside a commit: the apply thread and the book do them');
});

t.test('close() leaves every committed row readable after reopening', async (t) => {
  const dir = tempDir(t);
  let journal = new Journal(dir, DAY);
  const first = [1, 2, 3].map((s) => entry(s));
  for (const e of first) journal.append(e);
  journal.commit();
  const second = [4, 5].map((s) => entry(s));
  for (const e of second) journal.append(e);
  // No commit, no sync: close() ends the open group itself.
  journal.close();

  t.strictSame(journalTail(dir, 0).entries, [...first, ...second], 'all rows, the unclosed group included, after close');

  // A plain connection after close sees them too (checkpointed or not).
  const db = new Database(join(dir, 'journal', `${DAY}.sqlite`), { readonly: true });
  t.same(
    (db.prepare('SELECT seq FROM entries ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq),
    [1, 2, 3, 4, 5],
  );
  db.close();

  // Reopening the same day appends after what is there.
  journal = new Journal(dir, DAY);
  t.teardown(() => journal.close());
  journal.append(entry(6));
  journal.commit();
  await journal.sync();
  t.strictSame(journalTail(dir, 0).entries, [...first, ...second, entry(6)], 'rows from before and after the reopen');
  t.equal(journalTail(dir, 0).maxSeq, 6);
  t.throws(() => journal.append(entry(3)), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }, 'a seq is written once');
});

t.test('sync() resolves with nothing committed', async (t) => {
  const dir = tempDir(t);
  const journal = new Journal(dir, DAY);
  t.teardown(() => journal.close());
  t.equal(await journal.sync(), undefined, 'a fresh journal syncs');
  journal.commit(); // no open group: a no-op
  t.equal(await journal.sync(), undefined, 'after an empty commit');
  journal.append(entry(1));
  t.equal(await journal.sync(), undefined, 'with a group open but not committed');
  t.same(journalTail(dir, 0).entries, [], 'the open group is still not visible');
  journal.commit();
  await Promise.all([journal.sync(), journal.sync()]);
  t.same(journalTail(dir, 0).entries.map((e) => e.seq), [1], 'concurrent syncs resolve and the row is there');
});

t.test('appending after a sync keeps seq order in journalTail, across groups and days', async (t) => {
  const dir = tempDir(t);
  const journal = new Journal(dir, DAY);
  for (const s of [1, 2, 3]) journal.append(entry(s));
  journal.commit();
  const pending = journal.sync();
  // The next group is entered while the fsync is in flight, out of seq order within the group.
  for (const s of [6, 4, 5]) journal.append(entry(s));
  journal.commit();
  await pending;
  await journal.sync();
  for (const s of [7, 8]) journal.append(entry(s));
  journal.commit();
  await journal.sync();
  t.same(journalTail(dir, 0).entries.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8], 'one day, three groups');
  t.same(journalTail(dir, 4).entries.map((e) => e.seq), [5, 6, 7, 8]);
  journal.close();

  // The next business day continues the numbering in its own file.
  const next = new Journal(dir, NEXT_DAY);
  t.teardown(() => next.close());
  for (const s of [9, 10]) next.append(entry(s, { businessDate: NEXT_DAY }));
  next.commit();
  await next.sync();
  t.same(journalDates(dir), [DAY, NEXT_DAY]);
  const tail = journalTail(dir, 6);
  t.same(tail.entries.map((e) => [e.seq, e.businessDate]), [[7, DAY], [8, DAY], [9, NEXT_DAY], [10, NEXT_DAY]], 'oldest day first');
  t.equal(tail.maxSeq, 10);
  t.same(journalTail(dir, 8).entries.map((e) => e.seq), [9, 10], 'only the newest day when the older is applied');
  t.same(journalTail(dir, 10), { entries: [], maxSeq: 10 });
});

t.test('RRN lookup uses an index and skips replays', async (t) => {
  const dir = tempDir(t);
  const journal = new Journal(dir, DAY);
  t.teardown(() => journal.close());
  const RRN = '424242424242';
  // A replay with a lower seq than the real entry: only the route filter keeps it out.
  journal.append(entry(1, { rrn: RRN, route: 'replay', responseCode: '00', amount: 1 }));
  journal.append(entry(2, { rrn: RRN, route: 'on-us', amount: 777 }));
  journal.append(entry(3, { rrn: RRN, route: 'replay', amount: 1 }));
  journal.append(entry(4, { rrn: '999999999999', route: 'replay' }));
  journal.append(entry(5));
  journal.commit();
  await journal.sync();

  const found = entryByRrn(dir, RRN);
  t.equal(found?.seq, 2, 'the real entry, not the replay before it');
  t.equal(found?.route, 'on-us');
  t.equal(found?.amount, 777);
  t.strictSame(found, entry(2, { rrn: RRN, route: 'on-us', amount: 777 }), 'the whole entry');
  t.equal(entryByRrn(dir, '999999999999'), undefined, 'an RRN seen only as a replay is not found');
  t.equal(entryByRrn(dir, '000000000404'), undefined, 'an unknown RRN');
  t.equal(entryByRrn(dir, entry(5).rrn)?.seq, 5);

  // The index exists on rrn and the lookup's query uses it.
  const db = new Database(journal.path, { readonly: true });
  try {
    const indexes = db.pragma('index_list(entries)') as { name: string }[];
    t.ok(indexes.some((i) => i.name === 'entries_rrn'), 'an index named entries_rrn');
    t.same((db.pragma('index_info(entries_rrn)') as { name: string }[]).map((c) => c.name), ['rrn'], 'on the rrn column alone');
    const plan = (db.prepare("EXPLAIN QUERY PLAN SELECT * FROM entries WHERE rrn = ? AND route != 'replay' ORDER BY seq LIMIT 1").all(RRN) as { detail: string }[])
      .map((r) => r.detail)
      .join('; ');
    t.match(plan, /USING INDEX entries_rrn/, `the lookup searches the index (${plan})`);
  } finally {
    db.close();
  }

  // Newest day first: the same RRN on a later day answers from that day.
  const next = new Journal(dir, NEXT_DAY);
  t.teardown(() => next.close());
  next.append(entry(6, { rrn: RRN, businessDate: NEXT_DAY, amount: 888 }));
  next.commit();
  await next.sync();
  t.equal(entryByRrn(dir, RRN)?.seq, 6, 'the later day wins');
  t.equal(entryByRrn(dir, RRN)?.businessDate, NEXT_DAY);
});

t.test('a new day file appears whole: with its table, never without, even with two creators at once', async (t) => {
  const dir = tempDir(t);
  // Two threads make the same new day at once, as the book does when the back line was slow to.
  const { Worker } = await import('node:worker_threads');
  const script = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.module).then(({ Journal }) => {
      const j = new Journal(workerData.dir, workerData.day);
      j.close();
      parentPort.postMessage('ok');
    }, (err) => parentPort.postMessage(String(err)));`;
  const module = new URL('../../src/store/index.js', import.meta.url).href;
  const results = await Promise.all(
    [1, 2].map(
      () =>
        new Promise<string>((resolve) => {
          const w = new Worker(script, { eval: true, workerData: { module, dir, day: DAY } });
          w.once('message', (m: string) => {
            resolve(m);
            void w.terminate();
          });
          w.once('error', (err) => resolve(String(err)));
        }),
    ),
  );
  t.same(results, ['ok', 'ok'], 'both creators open the day');
  const db = new Database(join(dir, 'journal', `${DAY}.sqlite`), { readonly: true });
  t.equal((db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n, 0, 'the file has its table');
  db.close();
  t.same(readdirSync(join(dir, 'journal')).filter((f) => f.endsWith('.draft')), [], 'no draft is left behind');
  // A crash between making a draft and linking it leaves a draft: it is not a day.
  writeFileSync(join(dir, 'journal', `${NEXT_DAY}.sqlite.4242-1.draft`), '');
  t.same(journalDates(dir), [DAY], 'a leftover draft is not a day file');
  t.same(journalTail(dir, 0).entries, [], 'and recovery reads past it');
});
