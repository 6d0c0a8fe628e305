/**
 * The pre-auth family against the switch's pipeline and book in process (real LMDB and SQLite, no
 * sockets; PROTOCOL.md sections 3 and 8): holds, completion (request and notice) up to 115%,
 * pre-auth void, completion void, reversals of each, and insufficient funds. Available funds
 * (balance − holds) are read with balance inquiries (F54).
 */
import t from 'tap';
import { DEMO, balanceOf, card, signedIn } from '../switch/harness.js';
import { approved, otherAuthCode, otherDate, startStoppable } from './business-harness.js';

const demo = await startStoppable(t);
const OPEN = DEMO.openingBalance;

t.test('pre-auth holds the amount: F54 available drops, F38 is six characters', async (t) => {
  const term = await signedIn(t, demo, 0);
  const c = card(101);
  t.equal(await balanceOf(term, c), OPEN, 'fresh card');
  const req = term.preAuth(c, 25_000);
  const res = await term.request(req);
  t.equal(res.mti, '0110', 'pre-auth answer MTI');
  t.equal(res.text(39), '00', 'pre-auth approved');
  t.match(res.text(38), /^[0-9A-Za-z]{6}$/, 'F38 auth code, six characters');
  t.match(res.text(37), /^\d{12}$/, 'F37 RRN');
  t.equal(res.text(25), '06', 'condition code echoed');
  t.equal(await balanceOf(term, c), OPEN - 25_000, 'available reduced by the hold');
});

t.test('completion up to 115%: 00, hold released and the completion amount debited; above 115%: 64', async (t) => {
  const term = await signedIn(t, demo, 1);
  const c = card(102);
  const pa = await approved(term, term.preAuth(c, 10_000), 'pre-auth');
  t.equal(await balanceOf(term, c), OPEN - 10_000, 'held');
  const over = await term.request(term.completion(pa.receipt, 11_501));
  t.equal(over.mti, '0210');
  t.equal(over.text(39), '64', 'completion of 115.01% refused');
  t.equal(await balanceOf(term, c), OPEN - 10_000, 'refused completion changes nothing');
  const ok = await term.request(term.completion(pa.receipt, 11_500));
  t.equal(ok.text(39), '00', 'completion of exactly 115%');
  t.match(ok.text(37), /^\d{12}$/, 'completion has an RRN');
  t.equal(await balanceOf(term, c), OPEN - 11_500, 'hold released, 11500 debited');
});

t.test('completion of exactly 115% of an amount whose ×1.15 is not exact in binary (100000 fen)', async (t) => {
  const term = await signedIn(t, demo, 2);
  const c = card(103);
  const pa = await approved(term, term.preAuth(c, 100_000), 'pre-auth');
  const res = await term.request(term.completion(pa.receipt, 115_000));
  t.equal(res.text(39), '00', 'completion of 115000 on a 100000 pre-auth is exactly 115%');
  const small = await approved(term, term.preAuth(c, 100), 'pre-auth');
  const res2 = await term.request(term.completion(small.receipt, 115));
  t.equal(res2.text(39), '00', 'completion of 115 on a 100 pre-auth is exactly 115%');
});

t.test('completion of an unknown auth code, a wrong 61.3 date or another card: 25', async (t) => {
  const term = await signedIn(t, demo, 3);
  const c = card(104);
  const pa = await approved(term, term.preAuth(c, 8_000), 'pre-auth');
  const r = pa.receipt;
  t.equal((await term.request(term.completion({ ...r, authCode: otherAuthCode(r.authCode) }, 8_000))).text(39), '25', 'unknown auth code');
  t.equal((await term.request(term.completion({ ...r, date: otherDate(r.date) }, 8_000))).text(39), '25', 'wrong pre-auth date in 61.3');
  t.equal((await term.request(term.completion(r, 8_000, card(105)))).text(39), '25', 'another card with the same auth code and date');
  t.equal(await balanceOf(term, card(105)), OPEN, 'the other card was not debited');
  t.equal(await balanceOf(term, c), OPEN - 8_000, 'still only held');
  t.equal((await term.request(term.completion(r, 8_000))).text(39), '00', 'the right completion still works');
});

t.test('completion twice: 25 the second time, debited once', async (t) => {
  const term = await signedIn(t, demo, 4);
  const c = card(106);
  const pa = await approved(term, term.preAuth(c, 6_000), 'pre-auth');
  t.equal((await term.request(term.completion(pa.receipt, 5_000))).text(39), '00', 'first completion');
  t.equal(await balanceOf(term, c), OPEN - 5_000, 'hold released, 5000 debited');
  t.equal((await term.request(term.completion(pa.receipt, 5_000))).text(39), '25', 'second completion of the same pre-auth');
  t.equal(await balanceOf(term, c), OPEN - 5_000, 'debited once');
});

t.test('pre-auth void: other amount 64; right amount 00 and the hold released; void after completion 25', async (t) => {
  const term = await signedIn(t, demo, 5);
  const c = card(107);
  const pa = await approved(term, term.preAuth(c, 7_000), 'pre-auth');
  const wrong = await term.request(term.preAuthVoid({ ...pa.receipt, amount: 6_999 }));
  t.equal(wrong.mti, '0110');
  t.equal(wrong.text(39), '64', 'void with another amount');
  t.equal(await balanceOf(term, c), OPEN - 7_000, 'still held');
  const v = await term.request(term.preAuthVoid(pa.receipt));
  t.equal(v.text(39), '00', 'pre-auth void approved');
  t.equal(await balanceOf(term, c), OPEN, 'hold released');
  t.equal((await term.request(term.completion(pa.receipt, 7_000))).text(39), '25', 'a voided pre-auth cannot be completed');
  t.equal((await term.request(term.preAuthVoid(pa.receipt))).text(39), '25', 'nor voided again');

  const c2 = card(108);
  const pa2 = await approved(term, term.preAuth(c2, 9_000), 'pre-auth');
  t.equal((await term.request(term.completion(pa2.receipt, 9_000))).text(39), '00', 'completed');
  t.equal((await term.request(term.preAuthVoid(pa2.receipt))).text(39), '25', 'void after completion');
  t.equal(await balanceOf(term, c2), OPEN - 9_000, 'the completion stands, no hold back');
});

t.test('completion notice (0220) works like a completion', async (t) => {
  const term = await signedIn(t, demo, 6);
  const c = card(109);
  const pa = await approved(term, term.preAuth(c, 20_000), 'pre-auth');
  const over = await term.request(term.completionNotice(pa.receipt, 23_001));
  t.equal(over.mti, '0230', 'notice answer MTI');
  t.equal(over.text(39), '64', 'notice above 115%');
  const res = await term.request(term.completionNotice(pa.receipt, 21_000));
  t.equal(res.text(39), '00', 'notice approved');
  t.equal(await balanceOf(term, c), OPEN - 21_000, 'hold released, 21000 debited');
  t.equal((await term.request(term.completionNotice(pa.receipt, 21_000))).text(39), '25', 'a second notice of the same pre-auth');
  t.equal((await term.request(term.completion(pa.receipt, 21_000))).text(39), '25', 'nor a completion request after it');
  t.equal(await balanceOf(term, c), OPEN - 21_000, 'debited once');
});

t.test('completion void: 00, debit undone, hold back; the pre-auth can be completed again', async (t) => {
  const term = await signedIn(t, demo, 7);
  const c = card(110);
  const pa = await approved(term, term.preAuth(c, 12_000), 'pre-auth');
  const comp = await approved(term, term.completion(pa.receipt, 13_000), 'pre-auth-completion');
  t.equal(await balanceOf(term, c), OPEN - 13_000, 'completed');
  const wrongAmount = await term.request(term.completionVoid({ ...comp.receipt, amount: 12_999 }));
  t.equal(wrongAmount.text(39), '64', 'completion void with another amount');
  const cv = await term.request(term.completionVoid(comp.receipt));
  t.equal(cv.mti, '0210');
  t.equal(cv.text(39), '00', 'completion void approved');
  t.equal(await balanceOf(term, c), OPEN - 12_000, 'debit undone, hold of 12000 back');
  t.equal((await term.request(term.completionVoid(comp.receipt))).text(39), '25', 'completion void again');
  const again = await term.request(term.completion(pa.receipt, 11_000));
  t.equal(again.text(39), '00', 'the pre-auth is completable again');
  t.equal(await balanceOf(term, c), OPEN - 11_000, 'hold released, 11000 debited');
});

t.test('reversal of a pre-auth releases the hold; once', async (t) => {
  const term = await signedIn(t, demo, 8);
  const c = card(111);
  const pa = await approved(term, term.preAuth(c, 4_400), 'pre-auth');
  t.equal(await balanceOf(term, c), OPEN - 4_400);
  const rev = await term.request(term.reversal(pa.req, '98'));
  t.equal(rev.mti, '0410');
  t.equal(rev.text(39), '00', 'reversal approved');
  t.equal(await balanceOf(term, c), OPEN, 'hold released');
  t.equal((await term.request(term.reversal(pa.req, '98'))).text(39), '00', 'repeated reversal answers 00');
  t.equal(await balanceOf(term, c), OPEN, 'and releases nothing more');
  t.equal((await term.request(term.completion(pa.receipt, 4_400))).text(39), '25', 'a reversed pre-auth cannot be completed');
});

t.test('reversal of a completion restores the hold and the funds', async (t) => {
  const term = await signedIn(t, demo, 9);
  const c = card(112);
  const pa = await approved(term, term.preAuth(c, 30_000), 'pre-auth');
  const comp = await approved(term, term.completion(pa.receipt, 32_000), 'pre-auth-completion');
  t.equal(await balanceOf(term, c), OPEN - 32_000, 'completed');
  const rev = await term.request(term.reversal(comp.req, '98'));
  t.equal(rev.mti, '0410');
  t.equal(rev.text(39), '00', 'completion reversal approved');
  t.equal(await balanceOf(term, c), OPEN - 30_000, 'funds back, hold of 30000 back');
  t.equal((await term.request(term.preAuthVoid(pa.receipt))).text(39), '00', 'the pre-auth is live again: it can be voided');
  t.equal(await balanceOf(term, c), OPEN, 'and the void releases the hold');
});

t.test('reversal of a pre-auth void puts the hold back', async (t) => {
  const term = await signedIn(t, demo, 10);
  const c = card(113);
  const pa = await approved(term, term.preAuth(c, 15_000), 'pre-auth');
  const v = await approved(term, term.preAuthVoid(pa.receipt), 'pre-auth-void');
  t.equal(await balanceOf(term, c), OPEN, 'void released the hold');
  const rev = await term.request(term.reversal(v.req, '98'));
  t.equal(rev.mti, '0410', 'reversal answer MTI');
  t.equal(rev.text(39), '00', 'void reversal approved');
  t.equal(await balanceOf(term, c), OPEN - 15_000, 'hold back');
  t.equal((await term.request(term.completion(pa.receipt, 15_000))).text(39), '00', 'and the pre-auth can be completed');
  t.equal(await balanceOf(term, c), OPEN - 15_000, 'completion debited, hold released');
});

t.test('pre-auth above the available balance: 51', async (t) => {
  const term = await signedIn(t, demo, 11);
  const c = card(114);
  const tooMuch = await term.request(term.preAuth(c, OPEN + 1));
  t.equal(tooMuch.text(39), '51', 'pre-auth of the balance + 1 fen');
  t.notOk(tooMuch.has(38), 'no auth code on a decline');
  t.equal(await balanceOf(term, c), OPEN, 'nothing held');
  await approved(term, term.preAuth(c, OPEN - 1_000), 'pre-auth');
  t.equal(await balanceOf(term, c), 1_000, 'almost all held');
  t.equal((await term.request(term.preAuth(c, 1_001))).text(39), '51', 'a second pre-auth above what the first left available');
  t.equal((await term.request(term.sale(c, 1_001))).text(39), '51', 'a sale above what the hold left available');
  t.equal((await term.request(term.preAuth(c, 1_000))).text(39), '00', 'exactly the rest');
  t.equal(await balanceOf(term, c), 0, 'nothing available');
});
