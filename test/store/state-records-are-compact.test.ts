import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { open } from 'lmdb';
import { CARD_RECORD, StateStore, type Card, type Terminal, type TxnRecord } from '../../src/store/index.js';

function sale(stan: number): TxnRecord {
  return {
    key: `898100012340001|10000001|000001|${String(stan).padStart(6, '0')}|0200`, seq: stan, type: 'sale', businessDate: '20261124',
    mid: '898100012340001', tid: '10000001', batch: '000001', stan: String(stan).padStart(6, '0'), panHash: 'W9AS5F1uDghL+2XguWLuUA==',
    amount: 300, rrn: String(stan).padStart(12, '0'), authCode: '266372', date: '1202', time: '210600', responseCode: '00', status: 'approved',
    mabHash: 'viVx1FWHHRuvFcxInKeufeWswW9CyZE9TWBQGxPzKCg=',
    postings: [{ account: 'card:35fa24c304f14824ba135583cfc4bf87', amount: -300 }, { account: 'merchant:898100012340001', amount: 300 }],
    totals: { domestic: true, debitAmount: 300, debitCount: 1, creditAmount: 0, creditCount: 0 },
  };
}

t.test('a transaction record is stored without its property names, and reads back whole after a reopen', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-compact-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let state = new StateStore(dir);
  for (let stan = 1; stan <= 3; stan++) await state.txns.put(sale(stan).key, sale(stan));
  await state.close();

  state = new StateStore(dir);
  const bytes = state.txns.getBinary(sale(2).key)!;
  t.notOk(bytes.includes('businessDate'), 'no property name in the value');
  t.ok(bytes.length < 400, `${bytes.length} bytes`);
  t.same(state.txns.get(sale(2).key), sale(2));
  t.equal([...state.txns.getKeys()].length, 3, 'the shared structures are not one of the table\'s keys');
  await state.close();
});

t.test('a record that holds bytes reads them back as a Buffer, on the first read after a reopen too', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-compact-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let state = new StateStore(dir);
  const terminal: Terminal = { tid: '10000001', mid: '898100012340001', status: 'active', tmk: Buffer.from('0123456789abcdef', 'hex'), macAlgorithm: 'cup-ecb', batch: '000001', signedIn: false };
  await state.terminals.put(terminal.tid, terminal);
  await state.close();

  state = new StateStore(dir);
  const read = state.terminals.get(terminal.tid)!;
  t.ok(Buffer.isBuffer(read.tmk), 'a Buffer');
  t.ok(read.tmk.equals(terminal.tmk));
  await state.close();
});

function card(n: number): Card {
  return { pan: `62220200000000${String(n).padStart(2, '0')}`, expiry: '3012', status: 'active', account: `card:${n}`, pinVerifier: Buffer.alloc(16, n) };
}

t.test('a card is stored in its fixed layout: a format byte, its fields, no property names; its verifier reads back as a Buffer of its own', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-compact-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let state = new StateStore(dir);
  await state.cards.put(card(7).pan, card(7));
  await state.cards.put(card(8).pan, card(8));
  await state.close();

  state = new StateStore(dir);
  const bytes = state.cards.getBinary(card(7).pan)!;
  t.equal(bytes[0], 1, 'format 1');
  t.notOk(bytes.includes('pinVerifier') || bytes.includes('expiry'), 'no property name in the value');
  t.equal(bytes.length, 1 + (2 + 16) + (2 + 4) + (2 + 6) + (2 + 6) + (4 + 16), `${bytes.length} bytes`);
  const seven = state.cards.get(card(7).pan)!;
  t.same(seven, card(7));
  t.ok(Buffer.isBuffer(seven.pinVerifier), 'the verifier is a Buffer');
  t.same(state.cards.get(card(8).pan), card(8));
  t.same(seven.pinVerifier, Buffer.alloc(16, 7), 'a later read leaves an earlier record as it was (lmdb-js reuses its read buffer)');
  await state.close();
});

t.test('a card an earlier build stored as msgpack still reads; a card of a newer format is refused', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-compact-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The table as builds before the layout opened it: lmdb-js's default msgpack encoding.
  const earlier = open({ path: path.join(dir, 'state'), maxDbs: 32, compression: false });
  const cards = earlier.openDB<Card, string>({ name: 'cards' });
  await cards.put(card(3).pan, card(3));
  await cards.put(card(4).pan, { ...card(4), pinVerifier: Buffer.alloc(16, 4) });
  await earlier.close();

  const state = new StateStore(dir);
  t.teardown(() => state.close());
  t.ok(state.cards.getBinary(card(3).pan)![0] >= 0x40, 'held as msgpack');
  const three = state.cards.get(card(3).pan)!;
  t.same(three, card(3), 'read as it was written');
  t.ok(Buffer.isBuffer(three.pinVerifier), 'its verifier a Buffer');
  await state.cards.put(card(3).pan, { ...three, status: 'lost' });
  t.equal(state.cards.getBinary(card(3).pan)![0], 1, 'rewritten in the layout when it changes');
  t.same(state.cards.get(card(3).pan), { ...card(3), status: 'lost' });

  // A later build's format, as it would be found in the file.
  const raw = state.root.openDB<Buffer, string>({ name: 'cards', encoding: 'binary' });
  const newer = Buffer.from(CARD_RECORD.encode(card(5)));
  newer[0] = 2;
  await raw.put(card(5).pan, newer);
  t.throws(() => state.cards.get(card(5).pan), { name: 'NewerFormatError', message: 'a cards record of format 2; this build reads format 1' });
});
