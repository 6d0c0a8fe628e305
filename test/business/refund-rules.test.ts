/**
 * Refund rules (PROTOCOL.md section 8) against the switch's pipeline and book in process (real
 * LMDB and SQLite, no sockets): partial refunds up to the original amount (64 beyond), originals
 * voided, reversed or of another card (25), the 61.3 date must be the original's (25), another
 * terminal of the same merchant finds the original, a completion can be refunded, and a refunded
 * sale cannot be voided into a second credit.
 */
import t from 'tap';
import { DEMO, balanceOf, card, signedIn } from '../switch/harness.js';
import { approved, otherDate, startStoppable } from './business-harness.js';

const demo = await startStoppable(t);
const OPEN = DEMO.openingBalance;

t.test('partial refunds add up to at most the original; the one that would exceed: 64', async (t) => {
  const term = await signedIn(t, demo, 0);
  const c = card(501);
  const sale = await approved(term, term.sale(c, 10_000), 'sale');
  const r1 = await term.request(term.refund(sale.receipt, 4_000));
  t.equal(r1.mti, '0230');
  t.equal(r1.text(39), '00', 'refund 4000');
  t.match(r1.text(37), /^\d{12}$/, 'refund RRN');
  t.equal(await balanceOf(term, c), OPEN - 6_000, 'credited 4000');
  t.equal((await term.request(term.refund(sale.receipt, 5_000))).text(39), '00', 'refund 5000 (9000 in all)');
  t.equal(await balanceOf(term, c), OPEN - 1_000, 'credited 5000');
  t.equal((await term.request(term.refund(sale.receipt, 1_001))).text(39), '64', 'third refund of 1001 would make 10001');
  t.equal(await balanceOf(term, c), OPEN - 1_000, 'refused refund credits nothing');
  t.equal((await term.request(term.refund(sale.receipt, 1_000))).text(39), '00', 'the last 1000 exactly');
  t.equal(await balanceOf(term, c), OPEN, 'fully refunded');
  t.equal((await term.request(term.refund(sale.receipt, 1))).text(39), '64', 'nothing left');
  t.equal(await balanceOf(term, c), OPEN);
});

t.test('a single refund above the original: 64', async (t) => {
  const term = await signedIn(t, demo, 1);
  const c = card(502);
  const sale = await approved(term, term.sale(c, 3_000), 'sale');
  t.equal((await term.request(term.refund(sale.receipt, 3_001))).text(39), '64', 'refund of 3001 on a 3000 sale');
  t.equal(await balanceOf(term, c), OPEN - 3_000, 'nothing credited');
});

t.test('refund of a voided sale, of a reversed sale, of another card, of a refund: 25', async (t) => {
  const term = await signedIn(t, demo, 2);
  const c = card(503);
  const voided = await approved(term, term.sale(c, 2_000), 'sale');
  await approved(term, term.saleVoid(voided.receipt), 'sale-void');
  t.equal((await term.request(term.refund(voided.receipt, 1_000))).text(39), '25', 'voided sale');

  const reversed = await approved(term, term.sale(c, 2_100), 'sale');
  const rev = await term.request(term.reversal(reversed.req, '98'));
  t.equal(rev.text(39), '00', 'sale reversed');
  t.equal((await term.request(term.refund(reversed.receipt, 1_000))).text(39), '25', 'reversed sale');

  const kept = await approved(term, term.sale(c, 2_200), 'sale');
  const otherCard = card(504);
  t.equal((await term.request(term.refund({ ...kept.receipt, pan: otherCard.pan }, 1_000))).text(39), '25', 'refund to another card');
  t.equal(await balanceOf(term, otherCard), OPEN, 'the other card got nothing');
  const refund = await approved(term, term.refund(kept.receipt, 200), 'refund');
  t.equal((await term.request(term.refund(refund.receipt, 100))).text(39), '25', 'refund of a refund');
  const pa = await approved(term, term.preAuth(c, 1_500), 'pre-auth');
  t.equal((await term.request(term.refund(pa.receipt, 100))).text(39), '25', 'refund of a pre-auth');
  t.equal(await balanceOf(term, c), OPEN - 2_200 + 200 - 1_500, 'only the kept sale, its refund and the hold');
});

t.test('refund with a wrong 61.3 date: 25; with the right one: 00', async (t) => {
  const term = await signedIn(t, demo, 3);
  const c = card(505);
  const sale = await approved(term, term.sale(c, 5_000), 'sale');
  t.match(sale.receipt.date, /^\d{4}$/, 'sale date from F13');
  t.equal((await term.request(term.refund({ ...sale.receipt, date: otherDate(sale.receipt.date) }, 1_000))).text(39), '25', 'wrong original date');
  t.equal(await balanceOf(term, c), OPEN - 5_000, 'nothing credited');
  t.equal((await term.request(term.refund(sale.receipt, 1_000))).text(39), '00', 'right date');
  t.equal(await balanceOf(term, c), OPEN - 4_000);
});

t.test('refund from another terminal of the same merchant finds the original', async (t) => {
  const seller = await signedIn(t, demo, 4);
  const other = await signedIn(t, demo, 5);
  const c = card(506);
  const sale = await approved(seller, seller.sale(c, 8_000), 'sale');
  const res = await other.request(other.refund(sale.receipt, 3_000));
  t.equal(res.text(39), '00', 'refund on terminal 5 of a sale on terminal 4');
  t.equal(res.text(41), other.options.tid, 'answered for the refunding terminal');
  t.equal(await balanceOf(other, c), OPEN - 5_000, 'credited');
  t.equal((await seller.request(seller.refund(sale.receipt, 5_001))).text(39), '64', 'the seller\'s terminal sees the other terminal\'s refund');
  t.equal((await seller.request(seller.refund(sale.receipt, 5_000))).text(39), '00', 'and may refund the rest');
  t.equal(await balanceOf(seller, c), OPEN);
});

t.test('refund of a completion', async (t) => {
  const term = await signedIn(t, demo, 6);
  const c = card(507);
  const pa = await approved(term, term.preAuth(c, 10_000), 'pre-auth');
  const comp = await approved(term, term.completion(pa.receipt, 11_000), 'pre-auth-completion');
  t.equal(await balanceOf(term, c), OPEN - 11_000);
  const r = await term.request(term.refund(comp.receipt, 6_000));
  t.equal(r.text(39), '00', 'refund of part of the completion');
  t.equal(await balanceOf(term, c), OPEN - 5_000, 'credited 6000');
  t.equal((await term.request(term.refund(comp.receipt, 5_001))).text(39), '64', 'beyond the completion amount');
  t.equal((await term.request(term.refund(comp.receipt, 5_000))).text(39), '00', 'the rest');
  t.equal(await balanceOf(term, c), OPEN, 'completion fully refunded');
});

t.test('a refunded sale voided afterwards does not credit the card twice', async (t) => {
  const term = await signedIn(t, demo, 7);
  const c = card(508);
  const sale = await approved(term, term.sale(c, 10_000), 'sale');
  t.equal((await term.request(term.refund(sale.receipt, 4_000))).text(39), '00', 'partial refund');
  const v = await term.request(term.saleVoid(sale.receipt));
  t.equal(v.text(39), '25', 'a sale with refunds cannot be voided (original in the wrong state)');
  t.equal(await balanceOf(term, c), OPEN - 6_000, 'the card has back exactly what was refunded');
});
