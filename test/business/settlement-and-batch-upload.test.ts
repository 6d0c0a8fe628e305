/**
 * Settlement (0500) and batch upload (0320 201, 202/207) against the switch's pipeline and book in
 * process (real LMDB and SQLite, no sockets; PROTOCOL.md section 8): the switch's totals count
 * approved sales and completions not voided or reversed as debits and approved refunds as credits;
 * balanced settlement moves the terminal to the next batch; uploaded details are compared with the
 * journal and differences land in the LMDB `discrepancies` db (read after the switch stopped).
 */
import t from 'tap';
import { buildSettlementTotals, buildF60, type SettlementSide, type UploadRecord } from '../../src/codec/index.js';
import type { Receipt } from '../../src/loadgen/terminal.js';
import { StateStore, type Discrepancy } from '../../src/store/index.js';
import { DEMO, card, demoTid, signedIn } from '../switch/harness.js';
import { approved, startStoppable } from './business-harness.js';

const demo = await startStoppable(t);

function side(debitAmount: number, debitCount: number, creditAmount: number, creditCount: number, result = 0): SettlementSide {
  return { debitAmount: BigInt(debitAmount), debitCount, creditAmount: BigInt(creditAmount), creditCount, result };
}
const ZERO = side(0, 0, 0, 0);

function record(r: Receipt, over: Partial<UploadRecord> = {}): UploadRecord {
  return { cardType: '00', stan: r.stan, pan: r.pan, amount: BigInt(r.amount), ...over };
}

/** Batches the terminals below settled or closed, to look up in LMDB at the end. */
const settledBatch: { tid: string; batch: string; debit: number; debitCount: number; credit: number; creditCount: number }[] = [];
const uploadTid = demoTid(1);
let uploadBatch = '';
const uploadStans: Record<'amount' | 'missing' | 'card', string> = { amount: '', missing: '999999', card: '' };
const countTid = demoTid(2);
let countBatch = '';
const balancedEndTid = demoTid(3);

t.test('settlement: wrong totals → 2 with the switch\'s totals; right totals → 1, echoed, next batch', async (t) => {
  const term = await signedIn(t, demo, 0);
  const s1 = await approved(term, term.sale(card(301), 10_000), 'sale');
  const s2 = await approved(term, term.sale(card(302), 20_000), 'sale');
  await approved(term, term.sale(card(303), 30_000), 'sale');
  const s4 = await approved(term, term.sale(card(304), 4_000), 'sale');
  const declined = await term.request(term.sale(card(305), DEMO.openingBalance + 1));
  if (declined.text(39) !== '51') throw new Error(`declined sale answered ${declined.text(39)}`);
  await approved(term, term.saleVoid(s2.receipt), 'sale-void');
  const rev = await term.request(term.reversal(s4.req, '98'));
  if (rev.text(39) !== '00') throw new Error(`reversal answered ${rev.text(39)}`);
  await approved(term, term.refund(s1.receipt, 2_500), 'refund');
  const pa = await approved(term, term.preAuth(card(306), 40_000), 'pre-auth');
  await approved(term, term.completion(pa.receipt, 45_000), 'pre-auth-completion');
  const pa2 = await approved(term, term.preAuth(card(307), 5_000), 'pre-auth');
  const comp2 = await approved(term, term.completion(pa2.receipt, 5_000), 'pre-auth-completion');
  await approved(term, term.completionVoid(comp2.receipt), 'completion-void');
  const pa3 = await approved(term, term.preAuth(card(308), 6_000), 'pre-auth');
  await approved(term, term.completionNotice(pa3.receipt, 6_000), 'pre-auth-completion-notice');
  await approved(term, term.preAuth(card(309), 7_000), 'pre-auth');
  // Debits: sales 10000 + 30000, completions 45000 + 6000; credits: refund 2500.
  const debit = 91_000;
  const credit = 2_500;
  const oldBatch = term.batch;

  const wrong = await term.request(term.settlement({ domestic: side(debit + 1, 4, credit, 1), foreign: ZERO }));
  t.equal(wrong.mti, '0510');
  t.equal(wrong.text(39), '00', 'unbalanced settlement is answered 00');
  const w48 = wrong.text(48) ?? '';
  t.equal(w48.length, 62, 'F48 has 62 digits');
  t.equal(w48.slice(0, 30), buildSettlementTotals({ domestic: side(debit, 4, credit, 1), foreign: ZERO }).slice(0, 30), 'the switch\'s domestic totals');
  t.equal(w48[30], '2', 'domestic result 2 (unbalanced)');
  t.equal(w48.slice(31, 61), '0'.repeat(30), 'no foreign totals');

  const wrongCount = await term.request(term.settlement({ domestic: side(debit, 5, credit, 1), foreign: ZERO }));
  t.equal(wrongCount.text(48)?.[30], '2', 'a wrong debit count is unbalanced too');
  const wrongCredit = await term.request(term.settlement({ domestic: side(debit, 4, credit, 0), foreign: ZERO }));
  t.equal(wrongCredit.text(48)?.[30], '2', 'a missing credit is unbalanced too');

  const right = { domestic: side(debit, 4, credit, 1), foreign: ZERO };
  const res = await term.settle(right);
  t.equal(res.mti, '0510');
  t.equal(res.text(39), '00', 'balanced settlement approved');
  const r48 = res.text(48) ?? '';
  t.equal(r48.slice(0, 30), buildSettlementTotals(right).slice(0, 30), 'domestic totals echoed');
  t.equal(r48[30], '1', 'domestic result 1 (balanced)');
  t.equal(r48.slice(31, 61), '0'.repeat(30), 'foreign totals echoed (none)');
  t.not(term.batch, oldBatch, 'the simulated terminal moved on');

  const old = term.sale(card(310), 100).set(60, buildF60({ messageType: '22', batch: oldBatch, networkCode: '000' }));
  t.equal((await term.request(old)).text(39), '77', 'a sale with the settled batch');
  const fresh = await term.request(term.sale(card(310), 100));
  t.equal(fresh.text(39), '00', 'a sale with the next batch');
  t.equal(fresh.text(60)?.slice(2, 8), term.batch, 'in the next batch');

  const again = await term.signIn('003');
  t.equal(again.text(60)?.slice(2, 8), term.batch, 'a new sign-in hands out the next batch');
  const next = await term.settle({ domestic: side(100, 1, 0, 0), foreign: ZERO });
  t.equal(next.text(48)?.[30], '1', 'the next batch counts only its own sale');
  settledBatch.push({ tid: demoTid(0), batch: oldBatch, debit, debitCount: 4, credit, creditCount: 1 });
});

t.test('batch upload: matching details 00 and nothing recorded; wrong amount, unknown STAN, other card: 00 and recorded', async (t) => {
  const term = await signedIn(t, demo, 1);
  const a = await approved(term, term.sale(card(311), 1_100), 'sale');
  const b = await approved(term, term.sale(card(312), 2_200), 'sale');
  const c = await approved(term, term.sale(card(313), 3_300), 'sale');
  const r = await approved(term, term.refund(c.receipt, 300), 'refund');
  uploadBatch = term.batch;

  const ok = await term.request(term.batchUpload([record(a.receipt), record(b.receipt), record(c.receipt), record(r.receipt)]));
  t.equal(ok.mti, '0330');
  t.equal(ok.text(39), '00', 'matching upload approved');

  const bad = await term.request(
    term.batchUpload([
      record(a.receipt, { amount: 1_101n }),
      record(c.receipt),
      { cardType: '00', stan: '999999', pan: card(311).pan, amount: 500n },
      record(b.receipt, { pan: card(314).pan }),
    ]),
  );
  t.equal(bad.mti, '0330');
  t.equal(bad.text(39), '00', 'upload with differences is still answered 00');
  uploadStans.amount = a.receipt.stan;
  uploadStans.card = b.receipt.stan;

  const malformed = await term.request(term.batchUpload([]).set(48, '01123'));
  t.equal(malformed.text(39), '30', 'F48 whose length does not fit its record count');
});

t.test('upload end 202 with a wrong count: 00, a count discrepancy, and the batch moved', async (t) => {
  const term = await signedIn(t, demo, 2);
  await approved(term, term.sale(card(321), 1_000), 'sale');
  await approved(term, term.sale(card(322), 2_000), 'sale');
  countBatch = term.batch;
  const end = await term.request(term.batchUploadEnd(5, false));
  t.equal(end.mti, '0330');
  t.equal(end.text(39), '00', 'upload end approved');
  const old = await term.request(term.sale(card(323), 100));
  t.equal(old.text(39), '77', 'a sale with the old batch');
  const again = await term.signIn('003');
  t.equal(again.text(39), '00');
  t.equal(term.batch, String(Number(countBatch) + 1).padStart(6, '0'), 'sign-in hands out the next batch');
  t.equal((await term.request(term.sale(card(323), 100))).text(39), '00', 'a sale with the next batch');
});

t.test('upload end 207 with the right count: the batch moves, nothing recorded', async (t) => {
  const term = await signedIn(t, demo, 3);
  await approved(term, term.sale(card(331), 1_000), 'sale');
  const before = term.batch;
  const end = await term.request(term.batchUploadEnd(1, true));
  t.equal(end.text(39), '00', 'balanced upload end approved');
  t.equal((await term.request(term.sale(card(332), 100))).text(39), '77', 'old batch refused');
  await term.signIn('003');
  t.not(term.batch, before, 'next batch handed out');
});

t.test('after stop: LMDB holds the batch totals and exactly the expected discrepancies', async (t) => {
  await demo.stop();
  const state = new StateStore(demo.dataDir);
  t.teardown(() => state.close());
  for (const s of settledBatch) {
    const totals = state.batches.get(`${s.tid}|${s.batch}`);
    t.same(totals?.domestic, { debitAmount: s.debit, debitCount: s.debitCount, creditAmount: s.credit, creditCount: s.creditCount }, `batch totals of ${s.tid}|${s.batch}`);
  }
  const all: Discrepancy[] = [...state.discrepancies.getRange()].map(({ value }) => value);
  const upload = all.filter((d) => d.tid === uploadTid);
  t.equal(upload.length, 3, 'three discrepancies for the upload terminal');
  const byKind = new Map(upload.map((d) => [d.kind, d]));
  t.same([...byKind.keys()].sort(), ['amount', 'card', 'missing'], 'kinds amount, card, missing');
  t.match(byKind.get('amount'), { batch: uploadBatch, stan: uploadStans.amount, uploaded: 1_101, recorded: 1_100 }, 'amount');
  t.match(byKind.get('missing'), { batch: uploadBatch, stan: uploadStans.missing, uploaded: 500, recorded: 0 }, 'missing');
  t.match(byKind.get('card'), { batch: uploadBatch, stan: uploadStans.card, uploaded: 2_200, recorded: 2_200 }, 'card');
  const count = all.filter((d) => d.tid === countTid);
  t.equal(count.length, 1, 'one discrepancy for the upload-end terminal');
  t.match(count[0], { kind: 'count', batch: countBatch, uploaded: 5, recorded: 2 }, 'count discrepancy');
  t.equal(all.filter((d) => d.tid === balancedEndTid).length, 0, 'none for the balanced upload end');
  t.equal(all.filter((d) => d.tid === demoTid(0)).length, 0, 'none for the settled terminal');
});
