import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { StateStore, type Terminal, type TxnRecord } from '../../src/store/index.js';

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
