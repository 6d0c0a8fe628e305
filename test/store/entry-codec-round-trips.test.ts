// The fixed binary layout of journal entries (src/store/entry-codec.ts) and of ring proposals
// (src/book/wire.ts): every field and every optional part of Effects must come back exactly,
// strings in any script and amounts of any safe-integer size included; a read from a sub-range
// or from shared (ring) memory must see only its range; truncated bytes must fail loudly.
import t, { type Test } from 'tap';
import { packProposal, unpackProposal, type Proposal } from '../../src/book/index.js';
import {
  BinaryReader,
  BinaryWriter,
  decodeEffects,
  encodeEffects,
  readEntry,
  writeEntry,
  type Effects,
  type JournalEntry,
  type TxnRecord,
} from '../../src/store/index.js';

const MAX = Number.MAX_SAFE_INTEGER;

function entry(over: Partial<JournalEntry> = {}): JournalEntry {
  return {
    seq: 1042,
    at: 1735689600123,
    businessDate: '20250101',
    type: 'sale',
    mti: '0200',
    mid: '898310148160001',
    tid: '10000042',
    batch: '000001',
    stan: '000123',
    rrn: '000000001042',
    authCode: 'A1B2C3',
    panMasked: '622202******0007',
    panHash: 'f0e1d2c3b4a59687',
    amount: 4321,
    currency: '156',
    responseCode: '00',
    originalKey: '',
    route: 'on-us',
    latencyUs: 187,
    requestKey: '898310148160001|10000042|000001|000123|0200',
    effects: {},
    riskRule: '',
    ...over,
  };
}

function txn(over: Partial<TxnRecord> = {}): TxnRecord {
  return {
    key: '898310148160001|10000042|000001|000123|0200',
    seq: 1042,
    type: 'sale',
    businessDate: '20250101',
    mid: '898310148160001',
    tid: '10000042',
    batch: '000001',
    stan: '000123',
    panHash: 'f0e1d2c3b4a59687',
    amount: 4321,
    rrn: '000000001042',
    authCode: 'A1B2C3',
    date: '0101',
    time: '093015',
    responseCode: '00',
    status: 'approved',
    mabHash: 'ab'.repeat(32),
    postings: [
      { account: 'C:6222020000000007', amount: -4321 },
      { account: 'M:898310148160001', amount: 4321 },
    ],
    ...over,
  };
}

/** A plain sale: postings, totals and its index record. */
const SALE = entry({
  effects: {
    postings: [
      { account: 'C:6222020000000007', amount: -4321 },
      { account: 'M:898310148160001', amount: 4321 },
    ],
    totals: { domestic: true, debitAmount: 4321, debitCount: 1, creditAmount: 0, creditCount: 0 },
    txn: txn(),
  },
});

/** Every optional part of Effects, TxnRecord and OriginalUpdate present. */
const FULL_EFFECTS: Effects = {
  postings: [
    { account: 'C:6222020000000007', amount: 1500 },
    { account: 'M:898310148160001', amount: -1500 },
  ],
  holds: [{ account: 'C:6222020000000007', amount: -8000 }],
  totals: { domestic: false, debitAmount: 0, debitCount: 0, creditAmount: 1500, creditCount: 1 },
  discrepancies: [
    { tid: '10000042', batch: '000001', stan: '000099', kind: 'amount', uploaded: 1200, recorded: 1100, businessDate: '20250101', at: 1735689600999 },
    { tid: '10000042', batch: '000001', stan: '000100', kind: 'missing', uploaded: 500, recorded: 0, businessDate: '20250101', at: 1735689601000 },
  ],
  statusUpload: Buffer.from('9f0610a000000333010101df0101', 'hex'),
  terminal: {
    batch: '000002',
    signedIn: true,
    keys: {
      mode: '004',
      pik: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
      mak: Buffer.from('0123456789abcdef', 'hex'),
      tdk: Buffer.from('fedcba98765432100123456789abcdef', 'hex'),
      issuedAt: 1735689600123,
    },
    parameterVersions: { magstripe: 3, 'ca-key': 7, aid: 1 },
  },
  txn: txn({
    type: 'void',
    status: 'approved',
    holds: [{ account: 'C:6222020000000007', amount: 8000 }],
    changed: [
      { key: 'k-original-1', from: 'approved', to: 'voided' },
      { key: 'k-original-2', from: 'approved', to: 'completed' },
    ],
    totals: { domestic: true, debitAmount: -4321, debitCount: -1, creditAmount: 0, creditCount: 0 },
    balance: 99_999,
    refunded: 250,
    originalKey: 'k-original-1',
  }),
  originals: [
    { key: 'k-original-1', status: 'voided' },
    { key: 'k-original-2', refund: 250 },
    { key: 'k-original-3', status: 'reversed', refund: 0 },
    { key: 'k-original-4' },
  ],
};
const FULL = entry({ type: 'void', mti: '0200', originalKey: 'k-original-1', effects: FULL_EFFECTS });

/** Writes an entry into a fresh writer and reads it back, checking the reader used every byte. */
function roundTrip(t: Test, e: JournalEntry): JournalEntry {
  const w = new BinaryWriter(16); // small, so growth is exercised too
  writeEntry(w, e);
  const bytes = Buffer.from(w.bytes);
  const r = new BinaryReader(bytes);
  const back = readEntry(r);
  t.equal(r.pos, bytes.length, 'the reader consumed exactly the bytes written');
  return back;
}

t.test('a plain sale with postings, totals and txn round-trips exactly', async (t) => {
  const back = roundTrip(t, SALE);
  t.strictSame(back, SALE);
  t.equal(back.effects.txn?.postings.length, 2);
  t.equal(back.effects.totals?.domestic, true);
  t.notOk('holds' in back.effects, 'absent parts stay absent');
  t.notOk('holds' in back.effects.txn!, 'absent txn parts stay absent');
});

t.test("a transaction record's postings, holds and totals that are the entry's own are written once", async (t) => {
  const legs = [{ account: 'C:6222020000000007', amount: -4321 }, { account: 'M:898310148160001', amount: 4321 }];
  const holds = [{ account: 'C:6222020000000007', amount: 100 }];
  const totals = { domestic: true, debitAmount: 4321, debitCount: 1, creditAmount: 0, creditCount: 0 };
  // Equal by value, not the same objects: what a worker builds and a ring carries.
  const shared: Effects = { postings: legs, holds, totals, txn: txn({ postings: structuredClone(legs), holds: structuredClone(holds), totals: { ...totals } }) };
  const own: Effects = { postings: legs, holds, totals, txn: txn({ postings: [legs[0]], holds: [{ ...holds[0], amount: 99 }], totals: { ...totals, debitCount: 2 } }) };
  const sharedBytes = Buffer.from(encodeEffects(shared));
  const ownBytes = Buffer.from(encodeEffects(own));
  t.ok(sharedBytes.length < ownBytes.length - 80, `written once: ${sharedBytes.length} bytes against ${ownBytes.length} with the record's own`);

  const back = decodeEffects(sharedBytes);
  t.strictSame(back, shared, 'reads back as it was');
  t.equal(back.txn!.postings, back.postings, "the record's postings are the entry's");
  t.equal(back.txn!.holds, back.holds);
  t.equal(back.txn!.totals, back.totals);
  t.strictSame(decodeEffects(ownBytes), own, 'a record with postings, holds and totals of its own keeps them');

  // Format 1 wrote every record's parts in full and had no u16 of fields from the entry before
  // the record (the record is the last part here, after the postings, holds and totals).
  const recordAt = encodeEffects({ postings: legs, holds, totals }).length;
  t.equal(ownBytes.readUInt16LE(recordAt), 0, 'without an entry, no field is taken from it');
  const format1 = Buffer.concat([ownBytes.subarray(0, recordAt), ownBytes.subarray(recordAt + 2)]);
  format1[0] = 1;
  t.strictSame(decodeEffects(format1), own, 'effects of format 1 still read');
  format1[0] = 2;
  t.strictSame(decodeEffects(format1), own, 'effects of format 2 still read');
});

t.test("a transaction record's fields that are its entry's are written once and read back from the entry", async (t) => {
  const alone = Buffer.from(encodeEffects(SALE.effects));
  const withEntry = Buffer.from(encodeEffects(SALE.effects, SALE));
  // key, seq, type, business date, merchant, terminal, batch, STAN, card token, amount, RRN, auth code, response code.
  const fieldBytes = [SALE.requestKey, SALE.type, SALE.businessDate, SALE.mid, SALE.tid, SALE.batch, SALE.stan, SALE.panHash, SALE.rrn, SALE.authCode, SALE.responseCode].reduce((n, s) => n + 2 + s.length, 2 * 8);
  t.equal(alone.length - withEntry.length, fieldBytes, `${withEntry.length} bytes with the entry, ${alone.length} without`);
  t.equal(withEntry.readUInt16LE(encodeEffects({ postings: SALE.effects.postings, totals: SALE.effects.totals }).length), 0x4fff, 'bits 0-11 and 14: every field but date (12), time (13), status and MAB hash');
  t.strictSame(decodeEffects(withEntry, SALE), SALE.effects, 'read with its entry: the same record');
  t.throws(() => decodeEffects(withEntry), { name: 'RangeError', message: /takes fields from its entry \(0x4fff\), and no entry was given/ }, 'read without one: refused, not guessed');

  // A record whose fields differ from its entry's keeps its own (the book may answer other than the worker proposed).
  const differs = entry({ responseCode: '51', effects: { txn: txn({ responseCode: '00', seq: 7 }) } });
  const back = roundTrip(t, differs);
  t.equal(back.effects.txn!.responseCode, '00');
  t.equal(back.effects.txn!.seq, 7);
  t.equal(back.effects.txn!.key, differs.requestKey, 'the rest still from the entry');
  t.strictSame(back, differs);
});

t.test('an entry with every optional part of Effects present round-trips exactly', async (t) => {
  const back = roundTrip(t, FULL);
  t.strictSame(back, FULL);
  t.ok(Buffer.isBuffer(back.effects.statusUpload), 'status upload comes back as a Buffer');
  t.equal(back.effects.statusUpload!.toString('hex'), '9f0610a000000333010101df0101');
  const keys = back.effects.terminal!.keys!;
  t.ok(Buffer.isBuffer(keys.pik) && Buffer.isBuffer(keys.mak) && Buffer.isBuffer(keys.tdk), 'wrapped keys come back as Buffers');
  t.equal(keys.pik.toString('hex'), '00112233445566778899aabbccddeeff');
  t.equal(keys.issuedAt, 1735689600123);
  t.same(back.effects.originals, [
    { key: 'k-original-1', status: 'voided' },
    { key: 'k-original-2', refund: 250 },
    { key: 'k-original-3', status: 'reversed', refund: 0 },
    { key: 'k-original-4' },
  ]);
  t.notOk('refund' in back.effects.originals![0], 'an original without refund has no refund key');
  t.notOk('status' in back.effects.originals![1], 'an original without status has no status key');
  t.equal(back.effects.txn!.balance, 99_999);
  t.equal(back.effects.txn!.refunded, 250);
  t.equal(back.effects.txn!.originalKey, 'k-original-1');

  // The same through encodeEffects/decodeEffects (what a journal row stores).
  t.strictSame(decodeEffects(Buffer.from(encodeEffects(FULL_EFFECTS))), FULL_EFFECTS, 'effects bytes round-trip');
});

t.test('empty effects round-trip as the format version and an empty presence mask', async (t) => {
  const e = entry({ effects: {} });
  t.strictSame(roundTrip(t, e), e);
  const bytes = encodeEffects({});
  t.equal(bytes.toString('hex'), '0300000000', 'version 3, then a u32 mask with no bits set');
  t.strictSame(decodeEffects(Buffer.from(bytes)), {});
  // Present-but-empty parts are not "absent": they come back as empty.
  const emptyParts: Effects = { postings: [], holds: [], discrepancies: [], statusUpload: Buffer.alloc(0), terminal: {}, originals: [] };
  t.strictSame(decodeEffects(Buffer.from(encodeEffects(emptyParts))), emptyParts, 'empty arrays, buffer and object survive');
});

t.test('non-ASCII strings survive in every kind of field', async (t) => {
  const shop = '上海浦东新区第一百货便利店';
  const e = entry({
    mid: shop,
    route: 'на-хосте',
    panMasked: '622202******0007 ✓',
    requestKey: `${shop}|😀|000123`,
    effects: {
      postings: [{ account: `M:${shop}`, amount: 10 }, { account: 'C:北京', amount: -10 }],
      discrepancies: [{ tid: '终端01', batch: '000001', stan: '000001', kind: 'card', uploaded: 1, recorded: 2, businessDate: '20250101', at: 1 }],
      txn: txn({ mid: shop, changed: [{ key: `键-${shop}`, from: 'approved', to: 'voided' }], originalKey: '原交易' }),
      originals: [{ key: '原交易', status: 'voided' }],
    },
  });
  const back = roundTrip(t, e);
  t.strictSame(back, e);
  t.equal(back.mid, shop);
  t.equal(back.requestKey, `${shop}|😀|000123`, 'astral-plane (4-byte UTF-8) characters survive');
  t.equal(back.effects.discrepancies![0].tid, '终端01');
  t.equal(back.effects.txn!.changed![0].key, `键-${shop}`);
});

t.test('zero, negative and large safe-integer amounts survive', async (t) => {
  for (const amount of [0, -1, 1, -4321, 2 ** 31, -(2 ** 31) - 1, 2 ** 32 + 7, 1e15, MAX, -MAX]) {
    const e = entry({
      amount,
      seq: Math.abs(amount),
      at: Math.abs(amount),
      latencyUs: Math.abs(amount),
      effects: {
        postings: [{ account: 'A', amount }, { account: 'B', amount: -amount }],
        holds: [{ account: 'A', amount }],
        totals: { domestic: amount >= 0, debitAmount: amount, debitCount: amount, creditAmount: -amount, creditCount: 0 },
        discrepancies: [{ tid: 't', batch: 'b', stan: 's', kind: 'amount', uploaded: amount, recorded: -amount, businessDate: '20250101', at: Math.abs(amount) }],
        txn: txn({ amount, seq: Math.abs(amount), balance: amount, refunded: amount }),
        originals: [{ key: 'o', refund: amount }],
      },
    });
    const back = roundTrip(t, e);
    t.strictSame(back, e, `amount ${amount}`);
    t.equal(back.amount, amount);
    t.equal(back.effects.discrepancies![0].uploaded, amount, `amount ${amount} inside the msgpack part`);
  }
  // A fractional latency is a float64 too.
  const e = entry({ latencyUs: 12.5 });
  t.equal(roundTrip(t, e).latencyUs, 12.5);
});

t.test('a proposal with and without inquiry/refundOf round-trips', async (t) => {
  const plain: Proposal = { entry: SALE, rrn: true, authCode: true };
  const inquiry: Proposal = { entry: entry({ type: 'balance-inquiry', amount: 0 }), rrn: true, authCode: false, inquiry: 'C:6222020000000007' };
  const refund: Proposal = { entry: FULL, rrn: false, authCode: false, refundOf: { key: 'k-original-1', amount: 250, limit: 4321 } };
  const both: Proposal = { entry: entry(), rrn: false, authCode: true, inquiry: '', refundOf: { key: '', amount: 0, limit: MAX } };
  for (const [name, p] of [['plain', plain], ['inquiry', inquiry], ['refundOf', refund], ['both, empty strings', both]] as const) {
    const back = unpackProposal(Buffer.from(packProposal(p)));
    t.strictSame(back, p, name);
  }
  const back = unpackProposal(Buffer.from(packProposal(plain)));
  t.notOk('inquiry' in back, 'no inquiry key when none was sent');
  t.notOk('refundOf' in back, 'no refundOf key when none was sent');
  t.equal(unpackProposal(Buffer.from(packProposal(both))).inquiry, '', 'an empty inquiry is still an inquiry');
});

t.test('unpackProposal reads only its sub-range of a larger buffer', async (t) => {
  const p: Proposal = { entry: FULL, rrn: true, authCode: false, refundOf: { key: 'k', amount: 1, limit: 2 } };
  const bytes = Buffer.from(packProposal(p));
  const big = Buffer.alloc(bytes.length + 300, 0xa5);
  bytes.copy(big, 137);
  t.strictSame(unpackProposal(big, 137, 137 + bytes.length), p, 'from offset 137');

  // Two proposals back to back: each read from its own range.
  const q: Proposal = { entry: SALE, rrn: false, authCode: true, inquiry: 'x' };
  const qBytes = Buffer.from(packProposal(q));
  const pair = Buffer.concat([bytes, qBytes]);
  t.strictSame(unpackProposal(pair, 0, bytes.length), p, 'first of two');
  t.strictSame(unpackProposal(pair, bytes.length, pair.length), q, 'second of two');

  // The range end is a hard limit: one byte short of the proposal fails though the buffer goes on.
  t.throws(() => unpackProposal(big, 137, 137 + bytes.length - 1), RangeError, 'end is honoured even with bytes after it');
});

t.test('unpackProposal reads from a Buffer over a SharedArrayBuffer and keeps only copies', async (t) => {
  const p: Proposal = { entry: FULL, rrn: true, authCode: true, inquiry: '账户-1' };
  const bytes = Buffer.from(packProposal(p));
  const sab = new SharedArrayBuffer(bytes.length + 64);
  const offset = 24;
  const shared = Buffer.from(sab, offset, bytes.length);
  bytes.copy(shared);
  t.ok(shared.buffer instanceof SharedArrayBuffer);
  const back = unpackProposal(shared);
  t.strictSame(back, p);
  // Also via start/end over a view of the whole shared buffer.
  t.strictSame(unpackProposal(Buffer.from(sab), offset, offset + bytes.length), p, 'start/end over the whole shared buffer');

  // Overwriting the ring slot must not change what was read.
  new Uint8Array(sab).fill(0);
  t.equal(back.entry.effects.statusUpload!.toString('hex'), '9f0610a000000333010101df0101', 'status upload was copied out');
  t.equal(back.entry.effects.terminal!.keys!.pik.toString('hex'), '00112233445566778899aabbccddeeff', 'keys were copied out');
  t.notOk(back.entry.effects.statusUpload!.buffer instanceof SharedArrayBuffer, 'the kept blob is not a view of ring memory');
  t.equal(back.inquiry, '账户-1');
});

t.test('packed bytes are a reused view: a second pack overwrites the first, so callers must copy', async (t) => {
  const big: Proposal = { entry: FULL, rrn: true, authCode: true };
  const small: Proposal = { entry: entry({ rrn: '999999999999', stan: '999999', seq: 7 }), rrn: false, authCode: false };
  const first = packProposal(big);
  const kept = Buffer.from(first); // what a caller must do
  const second = packProposal(small);
  t.equal(second.buffer, first.buffer, 'same underlying memory');
  t.equal(second.byteOffset, first.byteOffset, 'same start');
  t.notOk(first.equals(kept), 'the first view now shows other bytes');
  t.same(first.subarray(0, second.length), second, 'the first view starts with the second proposal');
  t.throws(() => unpackProposal(first), RangeError, 'a stale view longer than the proposal in it is refused, not misread');
  t.equal(unpackProposal(first, 0, second.length).entry.rrn, '999999999999', 'the second proposal is what the memory now holds');
  t.strictSame(unpackProposal(kept), big, 'the copy still holds the first proposal');

  // encodeEffects has the same contract.
  const e1 = encodeEffects(FULL_EFFECTS);
  const e1Copy = Buffer.from(e1);
  const e2 = encodeEffects({ postings: [{ account: 'Z', amount: 1 }] });
  t.equal(e2.buffer, e1.buffer, 'encodeEffects reuses its buffer');
  t.notOk(e1.equals(e1Copy), 'the first effects view was overwritten');
  t.strictSame(decodeEffects(e1Copy), FULL_EFFECTS);
});

t.test('every truncation of the bytes throws RangeError', async (t) => {
  for (const [name, p] of [
    ['full proposal', { entry: FULL, rrn: true, authCode: true, inquiry: 'acct', refundOf: { key: 'k', amount: 1, limit: 2 } }],
    ['plain sale', { entry: SALE, rrn: true, authCode: false }],
    ['empty effects', { entry: entry(), rrn: false, authCode: false }],
  ] as [string, Proposal][]) {
    const bytes = Buffer.from(packProposal(p));
    t.strictSame(unpackProposal(bytes), p, `${name}: the full encoding reads`);
    let viaRange = 0;
    let viaCopy = 0;
    let firstBad = '';
    for (let k = 0; k < bytes.length; k++) {
      try {
        unpackProposal(bytes, 0, k);
        firstBad ||= `range [0, ${k}) returned a value`;
      } catch (err) {
        if (err instanceof RangeError) viaRange++;
        else firstBad ||= `range [0, ${k}) threw ${String(err)}`;
      }
      try {
        unpackProposal(Buffer.from(bytes.subarray(0, k)));
        firstBad ||= `copy of ${k} bytes returned a value`;
      } catch (err) {
        if (err instanceof RangeError) viaCopy++;
        else firstBad ||= `copy of ${k} bytes threw ${String(err)}`;
      }
    }
    t.equal(viaRange, bytes.length, `${name}: all ${bytes.length} shorter ranges throw RangeError ${firstBad}`);
    t.equal(viaCopy, bytes.length, `${name}: all ${bytes.length} shorter copies throw RangeError ${firstBad}`);
  }

  const effects = Buffer.from(encodeEffects(FULL_EFFECTS));
  let thrown = 0;
  for (let k = 0; k < effects.length; k++) {
    try {
      decodeEffects(effects.subarray(0, k));
    } catch (err) {
      if (err instanceof RangeError) thrown++;
    }
  }
  t.equal(thrown, effects.length, `every truncated effects encoding (${effects.length}) throws RangeError`);
});

t.test('BinaryWriter.str refuses a string longer than 65535 UTF-8 bytes', async (t) => {
  const w = new BinaryWriter(8);
  w.str('ok');
  const pos = w.pos;
  t.throws(() => w.str('x'.repeat(65536)), RangeError, '65536 ASCII bytes');
  t.throws(() => w.str('é'.repeat(32768)), RangeError, '32768 two-byte characters = 65536 bytes');
  t.throws(() => w.str('中'.repeat(21846)), RangeError, '21846 three-byte characters = 65538 bytes');
  t.equal(w.pos, pos, 'a refused string writes nothing');

  // The limit itself is accepted and reads back.
  const max = 'x'.repeat(65535);
  const cjk = '中'.repeat(21845); // 65535 bytes
  w.str(max);
  w.str(cjk);
  const r = new BinaryReader(Buffer.from(w.bytes));
  t.equal(r.str(), 'ok');
  t.equal(r.str(), max, '65535 bytes exactly is accepted');
  t.equal(r.str(), cjk, '21845 three-byte characters (65535 bytes) are accepted');

  // Through a whole entry / proposal.
  t.throws(() => packProposal({ entry: entry({ mid: '商'.repeat(30000) }), rrn: true, authCode: true }), RangeError, 'an over-long field in a proposal');
  t.throws(() => encodeEffects({ postings: [{ account: 'a'.repeat(70000), amount: 1 }] }), RangeError, 'an over-long account in effects');
  // The shared writers still work after a refusal.
  t.strictSame(unpackProposal(Buffer.from(packProposal({ entry: SALE, rrn: true, authCode: true }))).entry, SALE, 'packProposal recovers');
  t.strictSame(decodeEffects(Buffer.from(encodeEffects(SALE.effects))), SALE.effects, 'encodeEffects recovers');
});

t.test('strings: the ASCII fast path writes the same bytes as the UTF-8 encoder, at every length and with a late non-ASCII unit', async (t) => {
  const cases = ['', 'A', '0'.repeat(254), 'x'.repeat(255), 'y'.repeat(256), 'abc中', 'M\xc9\xcc\xbb\xa7', `${'a'.repeat(200)}é`, '\x7f\x00'];
  for (const s of cases) {
    const w = new BinaryWriter();
    w.str(s);
    const utf8 = Buffer.from(s, 'utf8');
    const want = Buffer.concat([Buffer.from([utf8.length & 0xff, utf8.length >> 8]), utf8]);
    t.equal(w.bytes.toString('hex'), want.toString('hex'), `${JSON.stringify(s.slice(0, 12))}… (${s.length} units): u16 length then UTF-8`);
    t.equal(new BinaryReader(w.bytes).str(), s, 'reads back');
  }
});
