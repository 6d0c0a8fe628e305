/**
 * Transfer and bill payment (PROTOCOL.md section 3, both **chosen**) against the switch's pipeline
 * and book in process (real LMDB and SQLite, no sockets): funds move between the two cards or to
 * the biller, payee and biller checks, reversals undo them, the bill payment's F62 is echoed.
 * Biller account balances are read from LMDB after the switch stopped.
 */
import t from 'tap';
import { StateStore } from '../../src/store/index.js';
import { DEMO, balanceOf, card, demoPan, luhnPan, signedIn } from '../switch/harness.js';
import { approved, startStoppable } from './business-harness.js';

const demo = await startStoppable(t);
const OPEN = DEMO.openingBalance;
/** What the tests below leave on each biller's account (approved and not reversed). */
const billerExpected: Record<string, number> = { TEL1: 0, WATR: 0, ELEC: 0, GAS1: 0 };

t.test('transfer moves the amount from card A to card B', async (t) => {
  const term = await signedIn(t, demo, 0);
  const a = card(201);
  const b = card(202);
  const req = term.transfer(a, b.pan, 12_345);
  const res = await term.request(req);
  t.equal(res.mti, '0210');
  t.equal(res.text(39), '00', 'transfer approved');
  t.equal(res.text(3), '400000', 'processing code echoed');
  t.match(res.text(37), /^\d{12}$/, 'RRN');
  t.equal(await balanceOf(term, a), OPEN - 12_345, 'payer debited');
  t.equal(await balanceOf(term, b), OPEN + 12_345, 'payee credited');
  const back = await term.request(term.transfer(b, a.pan, 345));
  t.equal(back.text(39), '00', 'transfer the other way');
  t.equal(await balanceOf(term, a), OPEN - 12_000);
  t.equal(await balanceOf(term, b), OPEN + 12_000);
});

t.test('transfer to an unknown payee: 14; to a payee with non-digits: 30; nothing moves', async (t) => {
  const term = await signedIn(t, demo, 1);
  const a = card(203);
  const notIssued = demoPan(DEMO.cards + 1);
  t.equal((await term.request(term.transfer(a, notIssued, 1_000))).text(39), '14', 'on-us BIN, card not issued');
  t.equal((await term.request(term.transfer(a, luhnPan('621700', 5), 1_000))).text(39), '14', 'off-us card');
  t.equal((await term.request(term.transfer(a, demoPan(204).slice(0, -1) + 'X', 1_000))).text(39), '30', 'payee with a letter');
  t.equal((await term.request(term.transfer(a, '6225 8800 0000 0204', 1_000))).text(39), '30', 'payee with spaces');
  t.equal(await balanceOf(term, a), OPEN, 'payer not debited');
  t.equal(await balanceOf(term, card(204)), OPEN, 'no one credited');
});

t.test('transfer above the payer\'s funds: 51', async (t) => {
  const term = await signedIn(t, demo, 2);
  const a = card(205);
  const b = card(206);
  t.equal((await term.request(term.transfer(a, b.pan, OPEN + 1))).text(39), '51', 'balance + 1 fen');
  t.equal(await balanceOf(term, a), OPEN);
  t.equal(await balanceOf(term, b), OPEN);
});

t.test('reversal of a transfer restores both cards, once', async (t) => {
  const term = await signedIn(t, demo, 3);
  const a = card(207);
  const b = card(208);
  const tr = await approved(term, term.transfer(a, b.pan, 50_000), 'transfer');
  t.equal(await balanceOf(term, a), OPEN - 50_000);
  t.equal(await balanceOf(term, b), OPEN + 50_000);
  const rev = await term.request(term.reversal(tr.req, '98'));
  t.equal(rev.mti, '0410');
  t.equal(rev.text(39), '00', 'reversal approved');
  t.equal(await balanceOf(term, a), OPEN, 'payer restored');
  t.equal(await balanceOf(term, b), OPEN, 'payee restored');
  t.equal((await term.request(term.reversal(tr.req, '98'))).text(39), '00', 'repeated reversal');
  t.equal(await balanceOf(term, a), OPEN, 'nothing undone twice (payer)');
  t.equal(await balanceOf(term, b), OPEN, 'nothing undone twice (payee)');
});

t.test('bill payment to each of the four billers: 00 and F62 echoed', async (t) => {
  const term = await signedIn(t, demo, 4);
  const c = card(209);
  let paid = 0;
  const amounts: Record<string, number> = { TEL1: 1_111, WATR: 2_222, ELEC: 3_333, GAS1: 4_444 };
  for (const [biller, amount] of Object.entries(amounts)) {
    const account = `${biller === 'TEL1' ? '02112345678' : biller === 'WATR' ? 'W0098765' : biller === 'ELEC' ? 'E-4410-0001' : 'G7'}`;
    const req = term.billPayment(c, biller, account, amount);
    const res = await term.request(req);
    t.equal(res.text(39), '00', `${biller} approved`);
    t.equal(res.text(3), '500000', `${biller}: processing code echoed`);
    t.same(res.binary(62)?.toString('latin1'), biller + account, `${biller}: F62 echoes biller and account`);
    paid += amount;
    billerExpected[biller] += amount;
    t.equal(await balanceOf(term, c), OPEN - paid, `${biller}: card debited`);
  }
});

t.test('bill payment to an unknown biller: 12; without an account: 30', async (t) => {
  const term = await signedIn(t, demo, 5);
  const c = card(210);
  const res = await term.request(term.billPayment(c, 'XXXX', '12345', 1_000));
  t.equal(res.text(39), '12', 'unknown biller');
  t.equal((await term.request(term.billPayment(c, 'elec', '12345', 1_000))).text(39), '12', 'biller codes are exact (lower case is unknown)');
  t.equal((await term.request(term.billPayment(c, 'ELEC', '', 1_000))).text(39), '30', 'biller code without a bill account');
  t.equal(await balanceOf(term, c), OPEN, 'nothing debited');
});

t.test('reversal of a bill payment restores the card', async (t) => {
  const term = await signedIn(t, demo, 6);
  const c = card(211);
  const bp = await approved(term, term.billPayment(c, 'WATR', 'W555', 7_777), 'bill-payment');
  t.equal(await balanceOf(term, c), OPEN - 7_777);
  const rev = await term.request(term.reversal(bp.req, '96'));
  t.equal(rev.mti, '0410');
  t.equal(rev.text(39), '00', 'reversal approved');
  t.equal(await balanceOf(term, c), OPEN, 'card restored');
  t.equal((await term.request(term.reversal(bp.req, '96'))).text(39), '00', 'repeated reversal');
  t.equal(await balanceOf(term, c), OPEN, 'restored once');
});

t.test('retransmission of a bill payment: the same answer (F62 included), debited once', async (t) => {
  const term = await signedIn(t, demo, 7);
  const c = card(212);
  const frame = term.pack(term.billPayment(c, 'GAS1', 'G123456', 999));
  const first = await term.sendRaw(frame);
  t.equal(first.text(39), '00', 'first answer');
  billerExpected.GAS1 += 999;
  const again = await term.sendRaw(frame);
  t.equal(again.text(39), '00', 'retransmission answered 00');
  t.equal(again.text(37), first.text(37), 'same RRN');
  t.equal(await balanceOf(term, c), OPEN - 999, 'debited once');
  t.same(again.binary(62)?.toString('latin1'), 'GAS1G123456', 'the replayed answer echoes F62 like the first');
});

t.test('after stop: each biller account holds what was paid to it and not reversed', async (t) => {
  await demo.stop();
  const state = new StateStore(demo.dataDir);
  t.teardown(() => state.close());
  for (const [biller, amount] of Object.entries(billerExpected)) {
    t.equal(state.accounts.get(`biller:${biller}`)?.balance, amount, `biller:${biller}`);
  }
  t.equal(state.accounts.get(`biller:${'WATR'}`)?.held, 0, 'billers hold nothing');
});
