/**
 * PROTOCOL.md section 8 against the switch's pipeline and book in process (real LMDB and SQLite,
 * no sockets): voids, reversals (once only, unknown originals, amount checks, reversal of a void),
 * retransmissions answered without a second effect, duplicate request keys (94), and refunds up to
 * the original amount. A retransmission on the same and on a new TCP connection, answered byte for
 * byte, is in framing-and-connections.test.ts.
 */
import t from 'tap';
import type { TerminalMessage } from '../../src/codec/index.js';
import type { CardData, Receipt } from '../../src/loadgen/terminal.js';
import { DEMO, balanceOf, card, signedIn, startInProcess } from './harness.js';

const demo = await startInProcess(t);
const term = await signedIn(t, demo, 0);
const OPEN = DEMO.openingBalance;

/** Sends a sale, expects 00, returns the request and its receipt. */
async function approvedSale(c: CardData, amount: number): Promise<{ req: TerminalMessage; receipt: Receipt }> {
  const req = term.sale(c, amount);
  const res = await term.request(req);
  if (res.text(39) !== '00') throw new Error(`sale answered ${res.text(39)}`);
  return { req, receipt: term.receipt(req, res, 'sale') };
}

t.test('void of a sale: 00 and the balance restored; voiding it again: 25', async (t) => {
  const c = card(11);
  const { receipt } = await approvedSale(c, 5000);
  t.equal(await balanceOf(term, c), OPEN - 5000, 'sale debited');
  const res = await term.request(term.saleVoid(receipt));
  t.equal(res.mti, '0210');
  t.equal(res.text(39), '00', 'void approved');
  t.match(res.text(37), /^\d{12}$/, 'void has its own RRN');
  t.not(res.text(37), receipt.rrn, 'which is not the sale\'s');
  t.equal(await balanceOf(term, c), OPEN, 'balance restored');
  const again = await term.request(term.saleVoid(receipt));
  t.equal(again.text(39), '25', 'second void of the same sale');
  t.equal(await balanceOf(term, c), OPEN, 'nothing credited twice');
});

t.test('void with another amount: 64; with another RRN or card: 25; then the right void: 00', async (t) => {
  const c = card(12);
  const { receipt } = await approvedSale(c, 7000);
  const otherAmount = await term.request(term.saleVoid({ ...receipt, amount: 6999 }));
  t.equal(otherAmount.text(39), '64', 'amount differs from the sale');
  const otherRrn = String((Number(receipt.rrn) + 500) % 1e12).padStart(12, '0');
  const wrongRrn = await term.request(term.saleVoid({ ...receipt, rrn: otherRrn }));
  t.equal(wrongRrn.text(39), '25', 'RRN is not the sale\'s');
  const otherCard = await term.request(term.saleVoid(receipt, { pan: card(99).pan, expiry: DEMO.expiry }));
  t.equal(otherCard.text(39), '25', 'card is not the sale\'s');
  t.equal(await balanceOf(term, c), OPEN - 7000, 'still debited');
  const ok = await term.request(term.saleVoid(receipt));
  t.equal(ok.text(39), '00', 'the correct void');
  t.equal(await balanceOf(term, c), OPEN);
});

t.test('reversal of a sale: 00, balance restored; the same reversal again: 00, undone only once', async (t) => {
  const c = card(13);
  const { req, receipt } = await approvedSale(c, 3300);
  t.equal(await balanceOf(term, c), OPEN - 3300);
  const reversal = term.pack(term.reversal(req, '98'));
  const res = await term.sendRaw(reversal);
  t.equal(res.mti, '0410');
  t.equal(res.text(39), '00', 'reversal approved');
  t.equal(res.text(11), req.text(11), 'carries the original STAN');
  t.equal(await balanceOf(term, c), OPEN, 'balance restored');
  const again = await term.sendRaw(reversal);
  t.equal(again.text(39), '00', 'repeated reversal answered 00');
  t.equal(await balanceOf(term, c), OPEN, 'not credited a second time');
  const voidAfter = await term.request(term.saleVoid(receipt));
  t.equal(voidAfter.text(39), '25', 'a reversed sale cannot be voided');
  t.equal(await balanceOf(term, c), OPEN);
});

t.test('reversal of an original the switch never saw: 00, nothing changes', async (t) => {
  const c = card(14);
  const neverSent = term.sale(c, 4400);
  const res = await term.request(term.reversal(neverSent, '98'));
  t.equal(res.text(39), '00');
  t.equal(await balanceOf(term, c), OPEN, 'nothing credited');
});

t.test('reversal with another amount: 64, the sale stays', async (t) => {
  const c = card(15);
  const { req } = await approvedSale(c, 4000);
  const res = await term.request(term.reversal(req, '98').set(4, '000000003999'));
  t.equal(res.text(39), '64');
  t.equal(await balanceOf(term, c), OPEN - 4000, 'still debited');
});

t.test('reversal of a void: 00, the sale\'s debit is back and the sale can be voided again', async (t) => {
  const c = card(16);
  const { receipt } = await approvedSale(c, 2500);
  const voidReq = term.saleVoid(receipt);
  t.equal((await term.request(voidReq)).text(39), '00', 'void');
  t.equal(await balanceOf(term, c), OPEN, 'void credited');
  const res = await term.request(term.reversal(voidReq, '98'));
  t.equal(res.mti, '0410');
  t.equal(res.text(39), '00', 'reversal of the void');
  t.equal(await balanceOf(term, c), OPEN - 2500, 'the sale\'s debit is back');
  const again = await term.request(term.saleVoid(receipt));
  t.equal(again.text(39), '00', 'the sale is approved again, so a new void is allowed');
  t.equal(await balanceOf(term, c), OPEN);
});

t.test('retransmission of a declined request replays the decline', async (t) => {
  const c = card(18);
  const frame = term.pack(term.sale(c, OPEN + 1));
  const first = await term.sendRaw(frame);
  t.equal(first.text(39), '51');
  const second = await term.sendRaw(frame);
  t.equal(second.text(39), '51');
  t.equal(second.text(37), first.text(37), 'same RRN');
  t.equal(await balanceOf(term, c), OPEN);
});

t.test('same request key (STAN, batch, MTI) with other content: 94, no effect', async (t) => {
  const c = card(19);
  const { req } = await approvedSale(c, 1000);
  const dup = term.sale(c, 2000).set(11, req.text(11));
  const res = await term.request(dup);
  t.equal(res.text(39), '94');
  t.notOk(res.has(38), 'no auth code');
  t.equal(await balanceOf(term, c), OPEN - 1000, 'only the first sale debited');
  const dupInquiry = term.balanceInquiry(c).set(11, req.text(11));
  t.equal((await term.request(dupInquiry)).text(39), '94', 'another type under the same key is a duplicate too');
});

t.test('a duplicate-key request (94) leaves the original alone: it still replays, reverses and voids', async (t) => {
  const c = card(22);
  const saleReq = term.sale(c, 1000);
  const saleFrame = term.pack(saleReq);
  const first = await term.sendRaw(saleFrame);
  t.equal(first.text(39), '00', 'sale');
  const dup = await term.request(term.sale(c, 2000).set(11, saleReq.text(11)));
  t.equal(dup.text(39), '94', 'other content under the sale\'s key');
  t.equal(await balanceOf(term, c), OPEN - 1000);
  const replay = await term.sendRaw(saleFrame);
  t.equal(replay.text(39), '00', 'the sale\'s own retransmission still gets its answer');
  t.equal(replay.text(37), first.text(37), 'with its RRN');
  const reversal = await term.request(term.reversal(saleReq, '98'));
  t.equal(reversal.text(39), '00', 'the sale can still be reversed');
  t.equal(await balanceOf(term, c), OPEN, 'and the reversal restores the balance');

  const c2 = card(23);
  const sale2 = term.sale(c2, 1500);
  const res2 = await term.request(sale2);
  t.equal(res2.text(39), '00');
  t.equal((await term.request(term.sale(c2, 1).set(11, sale2.text(11)))).text(39), '94');
  const voided = await term.request(term.saleVoid(term.receipt(sale2, res2, 'sale')));
  t.equal(voided.text(39), '00', 'the sale can still be voided');
  t.equal(await balanceOf(term, c2), OPEN, 'and the void restores the balance');
});

t.test('refund of a sale: 00 and the card credited; partial refunds beyond the original: 64', async (t) => {
  const c = card(20);
  const { receipt } = await approvedSale(c, 10_000);
  t.equal(await balanceOf(term, c), OPEN - 10_000);
  const r1 = await term.request(term.refund(receipt, 4000));
  t.equal(r1.mti, '0230');
  t.equal(r1.text(39), '00', 'refund 4000');
  t.match(r1.text(37), /^\d{12}$/, 'refund has an RRN');
  t.equal(await balanceOf(term, c), OPEN - 6000, 'card credited 4000');
  t.equal((await term.request(term.refund(receipt, 5000))).text(39), '00', 'refund 5000 (9000 in all)');
  t.equal(await balanceOf(term, c), OPEN - 1000);
  t.equal((await term.request(term.refund(receipt, 2000))).text(39), '64', 'refund 2000 would make 11000');
  t.equal(await balanceOf(term, c), OPEN - 1000, 'refused refund credits nothing');
  t.equal((await term.request(term.refund(receipt, 1000))).text(39), '00', 'refund the last 1000 exactly');
  t.equal(await balanceOf(term, c), OPEN);
  t.equal((await term.request(term.refund(receipt, 1))).text(39), '64', 'nothing left to refund');
  t.equal(await balanceOf(term, c), OPEN);
});

t.test('refunds sent without a pause: found at once, and their sum still capped', async (t) => {
  const c = card(21);
  const { receipt } = await approvedSale(c, 10_000);
  const at = await term.request(term.refund(receipt, 100));
  t.equal(at.text(39), '00', 'a refund right after the sale\'s approval finds the sale');
  // Two refunds of 6000 in one burst: 100 + 6000 + 6000 > 10000, so the second must be refused.
  const [a, b] = await Promise.all([term.request(term.refund(receipt, 6000)), term.request(term.refund(receipt, 6000))]);
  t.equal(a.text(39), '00', 'first refund of 6000');
  t.equal(b.text(39), '64', 'second refund of 6000 exceeds the sale');
  const refunded = [at, a, b].reduce((sum, r, i) => sum + (r.text(39) === '00' ? [100, 6000, 6000][i] : 0), 0);
  t.equal(await balanceOf(term, c), OPEN - 10_000 + refunded, 'the card got what the answers say');
  t.ok(refunded <= 10_000, `refunded ${refunded} of a 10000 sale`);
});
