/**
 * On-us sale and balance inquiry against the switch's pipeline and book in process (real LMDB and
 * SQLite, no sockets; PROTOCOL.md sections 3, 5, 7): the approval's fields and MAC, the balance it
 * leaves, every card-level decline, and the journal row of each request with a masked PAN and no
 * full PAN anywhere in the journal files.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import t from 'tap';
import { parseBalance, type TerminalMessage } from '../../src/codec/index.js';
import type { CardData } from '../../src/loadgen/terminal.js';
import { openKeyBlock } from '../../src/security/index.js';
import { maskPan } from '../../src/txn/index.js';
import { DEMO, balanceOf, card, decode, demoPan, luhnPan, macVerifies, startInProcess, terminal } from './harness.js';

const demo = await startInProcess(t);
const term = await terminal(t, demo, 0);
const signIn = await term.signIn('003');
if (signIn.text(39) !== '00') throw new Error('sign-in failed');
const keys = openKeyBlock(Buffer.from(DEMO.tmk, 'hex'), signIn.binary(62)!, '003');

/** Every request sent in this file, in order, with the answer the journal must record. */
const sent: { stan: string; type: string; code: string; pan: string }[] = [
  { stan: signIn.text(11)!, type: 'sign-in', code: '00', pan: '' },
];
/** Every full PAN a request carried. */
const pans = new Set<string>();

async function send(type: 'sale' | 'balance-inquiry', c: CardData, amount?: number): Promise<TerminalMessage> {
  const req = type === 'sale' ? term.sale(c, amount!) : term.balanceInquiry(c);
  const res = await term.request(req);
  sent.push({ stan: req.text(11)!, type, code: res.text(39) ?? '?', pan: c.pan });
  pans.add(c.pan);
  return res;
}

const SALE = 12_345;

t.test('on-us sale approved: F38, F37, F39 00, echoed fields, response MAC verifies', async (t) => {
  const req = term.sale(card(1), SALE);
  // The exact response bytes, as a terminal would read them off the wire.
  const frame = await demo.sw.exchange(term.pack(req));
  t.ok(frame, 'answered');
  if (!frame) return;
  const res = decode(frame);
  sent.push({ stan: req.text(11)!, type: 'sale', code: res.text(39) ?? '?', pan: demoPan(1) });
  pans.add(demoPan(1));
  t.equal(res.mti, '0210');
  t.equal(res.text(39), '00', 'F39');
  t.match(res.text(38), /^[0-9A-Za-z]{6}$/, 'F38 is 6 characters');
  t.match(res.text(37), /^\d{12}$/, 'F37 is 12 digits');
  t.equal(res.text(2), demoPan(1), 'F2 echoed');
  t.equal(res.text(4), String(SALE).padStart(12, '0'), 'F4 echoed');
  t.equal(res.text(11), req.text(11), 'F11 echoed');
  t.equal(res.text(41), term.options.tid, 'F41 echoed');
  t.equal(res.text(42), DEMO.mid, 'F42 echoed');
  t.equal(res.text(15), demo.sw.businessDate.slice(4), 'F15 settlement date');
  t.ok(res.has(64), 'F64 present');
  t.ok(macVerifies(frame, keys.mak), 'response MAC verifies under the MAK');
  const tampered = Buffer.from(frame);
  tampered[tampered.length - 9] ^= 0x01;
  t.notOk(macVerifies(tampered, keys.mak), 'and would not verify with a changed byte');
});

t.test('balance inquiry: F54 shows the opening balance less the sale', async (t) => {
  const res = await send('balance-inquiry', card(1));
  t.equal(res.mti, '0210');
  t.equal(res.text(39), '00');
  const f54 = res.text(54);
  t.ok(f54, 'F54 present');
  if (!f54) return;
  const balance = parseBalance(f54);
  t.equal(balance.currency, '156');
  t.equal(Number(balance.amount), DEMO.openingBalance - SALE, 'balance less the sale');
  t.match(f54, /^\d{2}\d{2}156C\d{12}$/, 'F54 layout');
});

t.test('wrong PIN: 55, nothing debited', async (t) => {
  const res = await send('sale', { pan: demoPan(2), expiry: DEMO.expiry, pin: '111111' }, 1000);
  t.equal(res.text(39), '55');
  t.notOk(res.has(38), 'no auth code on a decline');
  t.equal((await send('balance-inquiry', card(2))).text(54)?.slice(-12), String(DEMO.openingBalance).padStart(12, '0'));
});

t.test('bad Luhn check digit: 14', async (t) => {
  const good = demoPan(3);
  const bad = good.slice(0, -1) + String((Number(good.at(-1)) + 1) % 10);
  const res = await send('sale', { pan: bad, expiry: DEMO.expiry, pin: DEMO.pin }, 1000);
  t.equal(res.text(39), '14');
});

t.test('unknown BIN: 15', async (t) => {
  const res = await send('sale', { pan: luhnPan('411111', 1, 16), expiry: DEMO.expiry, pin: DEMO.pin }, 1000);
  t.equal(res.text(39), '15');
});

t.test('expiry not the card\'s: 54, nothing debited', async (t) => {
  const res = await send('sale', { pan: demoPan(4), expiry: '2912', pin: DEMO.pin }, 1000);
  t.equal(res.text(39), '54');
  t.equal(await balanceOf(term, card(4)), DEMO.openingBalance);
  sent.push({ stan: '', type: 'balance-inquiry', code: '00', pan: demoPan(4) });
});

t.test('off-us BIN 621700 with no host link up: 91', async (t) => {
  const res = await send('sale', { pan: luhnPan('621700', 5), expiry: DEMO.expiry, pin: DEMO.pin }, 1000);
  t.equal(res.text(39), '91');
});

t.test('amount above the balance: 51, balance unchanged', async (t) => {
  const res = await send('sale', card(5), DEMO.openingBalance + 1);
  t.equal(res.text(39), '51');
  t.notOk(res.has(38), 'no auth code');
  t.equal(await balanceOf(term, card(5)), DEMO.openingBalance);
  sent.push({ stan: '', type: 'balance-inquiry', code: '00', pan: demoPan(5) });
  const exact = await send('sale', card(5), DEMO.openingBalance);
  t.equal(exact.text(39), '00', 'the whole balance can be spent');
  t.equal(await balanceOf(term, card(5)), 0);
  sent.push({ stan: '', type: 'balance-inquiry', code: '00', pan: demoPan(5) });
  t.equal((await send('sale', card(5), 1)).text(39), '51', 'then one fen more is refused');
});

t.test('zero amount: 13, nothing debited', async (t) => {
  const res = await send('sale', card(6), 0);
  t.equal(res.text(39), '13');
  t.equal(await balanceOf(term, card(6)), DEMO.openingBalance);
  sent.push({ stan: '', type: 'balance-inquiry', code: '00', pan: demoPan(6) });
});

t.test('journal: one row per request with its response code and a masked PAN', async (t) => {
  const db = new Database(demo.journalPath, { readonly: true, fileMustExist: true });
  t.teardown(() => db.close());
  const rows = db
    .prepare('SELECT type, stan, response_code AS code, pan_masked AS masked, tid, mid FROM entries ORDER BY seq')
    .all() as { type: string; stan: string; code: string; masked: string; tid: string; mid: string }[];
  t.equal(rows.length, sent.length, 'one row per request');
  for (let i = 0; i < Math.min(rows.length, sent.length); i++) {
    const row = rows[i];
    const want = sent[i];
    const label = `row ${i + 1} (${want.type} ${want.code})`;
    t.equal(row.type, want.type, `${label}: type`);
    t.equal(row.code, want.code, `${label}: response code`);
    if (want.stan) t.equal(row.stan, want.stan, `${label}: STAN`);
    t.equal(row.tid, term.options.tid, `${label}: TID`);
    t.equal(row.mid, DEMO.mid, `${label}: MID`);
    t.equal(row.masked, want.pan ? maskPan(want.pan) : '', `${label}: masked PAN`);
    if (want.pan) t.match(row.masked, /^\d{6}\*+\d{4}$/, `${label}: first 6 and last 4 only`);
  }
});

t.test('no full PAN anywhere in the journal files (.sqlite, -wal)', async (t) => {
  const files = [demo.journalPath, demo.journalPath + '-wal'].filter((f) => fs.existsSync(f));
  t.ok(files.length >= 1, 'journal file exists');
  const bytes = Buffer.concat(files.map((f) => fs.readFileSync(f)));
  t.ok(bytes.includes(Buffer.from(maskPan(demoPan(1)), 'latin1')), 'the masked PAN is there (the search works)');
  // Cards with an approved sale have postings; the known bug puts their PAN in the posting legs.
  const posted = new Set(sent.filter((s) => s.type === 'sale' && s.code === '00').map((s) => s.pan));
  t.ok(posted.size >= 2, 'approved sales were journaled');
  for (const pan of pans) {
    const ascii = bytes.indexOf(Buffer.from(pan, 'latin1'));
    const bcd = bytes.indexOf(Buffer.from(pan.length % 2 ? pan + '0' : pan, 'hex'));
    const where = ascii >= 0 ? ` (found at byte ${ascii}: ${JSON.stringify(bytes.toString('latin1', Math.max(0, ascii - 16), ascii + pan.length))})` : '';
    t.equal(ascii, -1, `${maskPan(pan)} not in the journal as ASCII${where}`, {});
    t.equal(bcd, -1, `${maskPan(pan)} not in the journal as BCD`);
  }
});
