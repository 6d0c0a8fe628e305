// Journal day files and effects bytes must stay readable as the format grows. A file written in
// today's format reads back through a schema with one more field (the field takes its default);
// the writer of that schema adds the column and records the new format; a build that knows only
// an older format refuses the newer file rather than misread it. Effects bytes of today decode
// with a codec that knows one more kind of effect; bytes with an unknown version or presence bit
// are refused. Files from before formats were recorded (user_version 0) still read, and the
// writer upgrades them.
import t from 'tap';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BinaryReader,
  BinaryWriter,
  EFFECTS,
  EFFECTS_FORMAT,
  ENTRY_SCHEMA,
  JOURNAL_FORMAT,
  Journal,
  JournalReader,
  NewerFormatError,
  decodeEffects,
  encodeEffects,
  entryByRrn,
  journalTail,
  type Effects,
  type EntrySchema,
  type JournalEntry,
} from '../../src/store/index.js';

const DAY = '20250101';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'posp-format-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const SALE_EFFECTS: Effects = {
  postings: [
    { account: 'C:6222020000000007', amount: -4321 },
    { account: 'M:898310148160001', amount: 4321 },
  ],
  totals: { domestic: true, debitAmount: 4321, debitCount: 1, creditAmount: 0, creditCount: 0 },
  txn: {
    key: '898310148160001|10000042|000001|000001|0200',
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
  },
};

const VOID_EFFECTS: Effects = {
  holds: [{ account: 'C:6222020000000007', amount: 100 }],
  statusUpload: Buffer.from('01020304', 'hex'),
  terminal: { batch: '000002', signedIn: true },
  discrepancies: [{ tid: '10000042', batch: '000001', stan: '000099', kind: 'amount', uploaded: 1200, recorded: 1100, businessDate: DAY, at: 1 }],
  originals: [{ key: 'orig', status: 'voided', refund: 5 }],
};

function entry(seq: number): JournalEntry {
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
    authCode: 'AB' + String(seq).padStart(4, '0'),
    panMasked: '622202******0007',
    panHash: `hash-${seq}`,
    amount: seq * 100 - 250,
    currency: '156',
    responseCode: seq % 5 ? '00' : '51',
    originalKey: seq % 2 ? '' : `orig-${seq - 1}`,
    route: 'on-us',
    latencyUs: 100 + seq,
    requestKey: `898310148160001|10000042|000001|${String(seq).padStart(6, '0')}|0200`,
    effects: seq % 3 === 0 ? {} : seq % 2 ? { ...SALE_EFFECTS, txn: { ...SALE_EFFECTS.txn!, seq } } : VOID_EFFECTS,
    riskRule: seq % 4 ? '' : `rule-${seq}`,
  };
}

/** The next format: entries say which channel they came in on; rows written before it came in over POS. */
const NEXT = ENTRY_SCHEMA.with({ name: 'channel', column: 'channel', kind: 'text', default: 'pos' });
type NextEntry = typeof NEXT extends EntrySchema<infer E> ? E : never;

/** The columns every day file had before formats were recorded. */
const UNVERSIONED_TABLE = `
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, business_date TEXT NOT NULL, type TEXT NOT NULL, mti TEXT NOT NULL,
  mid TEXT NOT NULL, tid TEXT NOT NULL, batch TEXT NOT NULL, stan TEXT NOT NULL, rrn TEXT NOT NULL, auth_code TEXT NOT NULL,
  pan_masked TEXT NOT NULL, pan_hash TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL, response_code TEXT NOT NULL,
  original_key TEXT NOT NULL, route TEXT NOT NULL, latency_us INTEGER NOT NULL, request_key TEXT NOT NULL, effects BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_rrn ON entries(rrn);
`;
const COLUMNS = [
  'seq', 'at_ms', 'business_date', 'type', 'mti', 'mid', 'tid', 'batch', 'stan', 'rrn', 'auth_code', 'pan_masked', 'pan_hash',
  'amount', 'currency', 'response_code', 'original_key', 'route', 'latency_us', 'request_key', 'effects',
];
/** Today's columns: format 2 added the risk rule that refused a request. */
const TODAY_COLUMNS = [...COLUMNS, 'risk_rule'];

function fileFormat(path: string): { version: number; columns: string[] } {
  const db = new Database(path, { readonly: true });
  try {
    return {
      version: db.pragma('user_version', { simple: true }) as number,
      columns: (db.pragma('table_info(entries)') as { name: string }[]).map((c) => c.name),
    };
  } finally {
    db.close();
  }
}

async function writeToday(dir: string, seqs: number[]): Promise<JournalEntry[]> {
  const journal = new Journal(dir, DAY);
  const written = seqs.map(entry);
  for (const e of written) journal.append(e);
  journal.commit();
  await journal.sync();
  journal.close();
  return written;
}

t.test("a file in today's format reads through a schema with one more field, which takes its default", async (t) => {
  const dir = tempDir(t);
  const written = await writeToday(dir, [1, 2, 3, 4, 5]);
  const path = join(dir, 'journal', `${DAY}.sqlite`);
  t.same(fileFormat(path), { version: JOURNAL_FORMAT, columns: TODAY_COLUMNS }, 'today: format 2 in user_version, the 21 columns from before formats and risk_rule');
  t.equal(NEXT.version, JOURNAL_FORMAT + 1, 'one more field is one format more');

  const expected: NextEntry[] = written.map((e) => ({ ...e, channel: 'pos' }));
  const tail = journalTail(dir, 0, NEXT);
  t.equal(tail.maxSeq, 5);
  t.strictSame(tail.entries, expected, 'journalTail: every entry, every field, channel = its default');
  t.strictSame(journalTail(dir, 3, NEXT).entries.map((e) => [e.seq, e.channel]), [[4, 'pos'], [5, 'pos']]);

  const reader = new JournalReader(path, NEXT);
  t.teardown(() => reader.close());
  t.strictSame(reader.entries(0, 5, 100), expected, 'JournalReader: the same');
  t.strictSame(reader.entries(1, 3, 100), expected.slice(1, 3), 'JournalReader: a range');

  t.strictSame(entryByRrn(dir, written[1].rrn, NEXT), expected[1], 'entryByRrn: the same entry, defaulted');
  t.strictSame(journalTail(dir, 0).entries, written, 'the real schema reads it as before');
  t.same(fileFormat(path), { version: JOURNAL_FORMAT, columns: TODAY_COLUMNS }, 'reading changed nothing in the file');
});

t.test('the next format opened for writing adds its column, records itself, and reads old and new rows', async (t) => {
  const dir = tempDir(t);
  const written = await writeToday(dir, [1, 2, 3]);
  const path = join(dir, 'journal', `${DAY}.sqlite`);

  const journal = new Journal(dir, DAY, { schema: NEXT });
  t.same(fileFormat(path), { version: NEXT.version, columns: [...TODAY_COLUMNS, 'channel'] }, 'column added, format raised');
  const added: NextEntry[] = [{ ...entry(4), channel: 'ecom' }, { ...entry(5), channel: 'pos' }];
  for (const e of added) journal.append(e);
  journal.commit();
  await journal.sync();
  journal.close();

  const all = [...written.map((e) => ({ ...e, channel: 'pos' })), ...added];
  t.strictSame(journalTail(dir, 0, NEXT).entries, all, 'old rows take the default, new rows keep their channel');
  t.equal(entryByRrn(dir, entry(4).rrn, NEXT)?.channel, 'ecom');
  const reader = new JournalReader(path, NEXT);
  t.strictSame(reader.entries(0, 5, 10), all);
  reader.close();

  // Reopening with the same format changes nothing and appends after what is there.
  const again = new Journal(dir, DAY, { schema: NEXT });
  again.append({ ...entry(6), channel: 'mobile' });
  again.close();
  t.same(fileFormat(path), { version: NEXT.version, columns: [...TODAY_COLUMNS, 'channel'] });
  t.strictSame(journalTail(dir, 4, NEXT).entries.map((e) => e.channel), ['pos', 'mobile']);

  // The binary layout grew by the same field.
  const w = new BinaryWriter(16);
  NEXT.write(w, added[0]);
  t.strictSame(NEXT.read(new BinaryReader(Buffer.from(w.bytes))), added[0], 'the next format round-trips in the binary layout too');
});

t.test('a build that knows only an older format refuses a newer file, and leaves it alone', async (t) => {
  const dir = tempDir(t);
  await writeToday(dir, [1, 2]);
  const path = join(dir, 'journal', `${DAY}.sqlite`);
  new Journal(dir, DAY, { schema: NEXT }).close();
  const newer = new RegExp(`newer format \\(${NEXT.version}\\); this build knows formats up to ${JOURNAL_FORMAT}`);

  t.throws(() => journalTail(dir, 0), { name: 'NewerFormatError', message: newer }, 'journalTail');
  t.throws(() => entryByRrn(dir, entry(1).rrn), { name: 'NewerFormatError', message: newer }, 'entryByRrn');
  t.throws(() => new JournalReader(path), { name: 'NewerFormatError', message: newer }, 'JournalReader');
  t.throws(() => new Journal(dir, DAY), { name: 'NewerFormatError', message: newer }, 'Journal');
  t.same(fileFormat(path), { version: NEXT.version, columns: [...TODAY_COLUMNS, 'channel'] }, 'the file is as the newer build left it');
  t.equal(journalTail(dir, 0, NEXT).entries.length, 2, 'and the newer build still reads it');
});

t.test("effects bytes of today decode with a codec that knows one more kind; unknown versions and kinds are refused", async (t) => {
  // A loyalty reward the next build records: a new kind takes the next unused bit.
  const bit = Math.max(...EFFECTS.kinds.map((k) => k.bit)) + 1;
  const NEXT_EFFECTS = EFFECTS.with({ name: 'loyalty', bit, codec: { write: (w, points: number) => w.f64(points), read: (r) => r.f64() } });

  for (const effects of [SALE_EFFECTS, VOID_EFFECTS, {}]) {
    const today = Buffer.from(encodeEffects(effects));
    const back = NEXT_EFFECTS.decode(today);
    t.strictSame(back, effects, 'read by the next build: the same effects');
    t.notOk('loyalty' in back, 'the kind that did not exist is absent');
    t.ok(Buffer.from(NEXT_EFFECTS.encode(effects)).equals(today), 'without the new kind the next build writes the same bytes');
  }

  t.strictSame(NEXT_EFFECTS.decode(Buffer.from(NEXT_EFFECTS.encode({ loyalty: 0 }))), { loyalty: 0 }, 'a falsy value is still present');
  const withLoyalty = Buffer.from(NEXT_EFFECTS.encode({ ...SALE_EFFECTS, loyalty: 43 }));
  t.strictSame(NEXT_EFFECTS.decode(withLoyalty), { ...SALE_EFFECTS, loyalty: 43 }, 'the next build reads its own bytes');
  t.equal(withLoyalty.readUInt32LE(1), (1 | 4 | 64 | (1 << bit)) >>> 0, 'postings, totals, txn and the new bit in the mask');
  const unknown = new RegExp(`newer format: presence bits 0x${((1 << bit) >>> 0).toString(16)} `);
  t.throws(() => decodeEffects(withLoyalty), { name: 'NewerFormatError', message: unknown }, 'today refuses a kind it does not know');
  t.throws(() => decodeEffects(withLoyalty), NewerFormatError);

  // The transaction record's own mask: its last 4 bytes here (the record is the last part and has no optional parts).
  const newerTxn = Buffer.from(encodeEffects(SALE_EFFECTS));
  t.equal(newerTxn.readUInt32LE(newerTxn.length - 4), 0, 'no optional parts in this record');
  newerTxn.writeUInt32LE(1 << 20, newerTxn.length - 4);
  t.throws(() => decodeEffects(newerTxn), { name: 'NewerFormatError', message: /transaction record written by a newer format: presence bits 0x100000 / }, 'an unknown part of the transaction record');

  const v4 = Buffer.from(encodeEffects(SALE_EFFECTS));
  v4[0] = 4;
  t.throws(() => decodeEffects(v4), { name: 'NewerFormatError', message: /newer format \(version 4\); this build reads versions 1 to 3/ }, 'an unknown version');
  v4[0] = 0;
  t.throws(() => decodeEffects(v4), { name: 'Error', message: /version 0, which no build writes/ }, 'version 0 is no format, not a newer one');

  t.throws(() => EFFECTS.with({ name: 'loyalty', bit: 7, codec: { write: () => {}, read: () => 0 } }), /unused bit/, 'a bit already taken is refused');
  t.throws(() => EFFECTS.with({ name: 'txn', bit, codec: { write: () => {}, read: () => 0 } }), /unique/, 'a name already taken is refused');
  t.throws(() => NEXT.with({ name: 'channelCode', column: 'channel', kind: 'text' }), /unique/, 'a column already taken is refused');
});

/** Effects as the build before format versions wrote them (one-byte masks, no version byte), with what they mean. */
const UNVERSIONED_EFFECTS: [string, Effects][] = [
  [
    '4502000300433a3100000000000045c003004d3a310000000000004540010000000000004540000000000000f03f0000000000000000000000000000000002006b31000000000000f03f040073616c650800323032353031303101006d01007401006201007301006800000000000045400100720100610400303130310600313031303130020030300800617070726f76656401007801000300433a3100000000000045c030000000000000000001006f',
    {
      postings: [{ account: 'C:1', amount: -42 }, { account: 'M:1', amount: 42 }],
      totals: { domestic: true, debitAmount: 42, debitCount: 1, creditAmount: 0, creditCount: 0 },
      txn: {
        key: 'k1', seq: 1, type: 'sale', businessDate: '20250101', mid: 'm', tid: 't', batch: 'b', stan: 's', panHash: 'h', amount: 42, rrn: 'r',
        authCode: 'a', date: '0101', time: '101010', responseCode: '00', status: 'approved', mabHash: 'x', postings: [{ account: 'C:1', amount: -42 }],
        refunded: 0, originalKey: 'o',
      },
    },
  ],
  [
    'b201000300433a310000000000001c400200000001021a000000de0002a56261746368a6303030303032a87369676e6564496ec3010002006b31030600766f696465640000000000001440',
    {
      holds: [{ account: 'C:1', amount: 7 }],
      statusUpload: Buffer.from('0102', 'hex'),
      terminal: { batch: '000002', signedIn: true },
      originals: [{ key: 'k1', status: 'voided', refund: 5 }],
    },
  ],
  ['00', {}],
];

t.test('a file from before formats were recorded reads, and its writer upgrades it', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'journal'));
  const path = join(dir, 'journal', `${DAY}.sqlite`);
  const written = UNVERSIONED_EFFECTS.map(([, effects], i) => ({ ...entry(i + 1), effects }));
  // What the build before formats wrote: no user_version, effects in its encoding.
  const old = new Database(path);
  old.exec(UNVERSIONED_TABLE);
  const insert = old.prepare(`INSERT INTO entries VALUES (${COLUMNS.map(() => '?').join(', ')})`);
  // entry() lists the fields in column order, effects and the later risk rule last.
  written.forEach((e, i) => insert.run(...Object.values(e).slice(0, -2), Buffer.from(UNVERSIONED_EFFECTS[i][0], 'hex')));
  old.close();
  t.same(fileFormat(path), { version: 0, columns: COLUMNS });

  t.strictSame(journalTail(dir, 0).entries, written, 'journalTail reads the unversioned effects');
  t.strictSame(entryByRrn(dir, written[1].rrn), written[1], 'entryByRrn too');
  const reader = new JournalReader(path);
  t.strictSame(reader.entries(0, 3, 10), written, 'JournalReader too');
  reader.close();
  t.strictSame(journalTail(dir, 0, NEXT).entries, written.map((e) => ({ ...e, channel: 'pos' })), 'and so does the next format');

  const journal = new Journal(dir, DAY);
  journal.append(entry(4));
  journal.close();
  t.same(fileFormat(path), { version: JOURNAL_FORMAT, columns: TODAY_COLUMNS }, 'the writer recorded the format and added risk_rule');
  const db = new Database(path, { readonly: true });
  const blobs = db.prepare('SELECT seq, effects FROM entries ORDER BY seq').all() as { seq: number; effects: Buffer }[];
  db.close();
  t.same(blobs.map((b) => b.effects[0]), [EFFECTS_FORMAT, EFFECTS_FORMAT, EFFECTS_FORMAT, EFFECTS_FORMAT], 'every row now holds versioned effects of today');
  t.strictSame(blobs.map((b) => decodeEffects(b.effects)), [...written, entry(4)].map((e) => e.effects), 'which decode to what was written');
  t.strictSame(journalTail(dir, 0).entries, [...written, entry(4)]);
});
