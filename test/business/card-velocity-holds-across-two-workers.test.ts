/**
 * Card velocity is decided where every worker's requests meet (the book): the real switch with two
 * pipeline workers, over TCP, and two terminals that the acceptor hands to different workers (it
 * picks a worker by FNV-1a of F41) selling the same card. The card's daily count, its daily amount
 * and its wrong PINs add up across both; each refusal is journalled with its rule's id.
 */
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid, entriesOfType } from '../../src/store/index.js';
import { startApiSwitch } from '../ops/api-harness.js';

const WORKERS = 2;

/** The worker the acceptor gives a terminal: FNV-1a of its TID, modulo the workers. */
function workerOf(tid: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(tid, 'latin1')) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0) % WORKERS;
}

/** The first demo terminal on each worker. */
function terminalsOnEachWorker(): string[] {
  const tids = new Map<number, string>();
  for (let n = 0; tids.size < WORKERS; n++) if (!tids.has(workerOf(demoTid(n)))) tids.set(workerOf(demoTid(n)), demoTid(n));
  return [...tids.values()];
}

t.test('one card sold at terminals of two workers meets its daily count, amount and PIN tries once', async (t) => {
  const { sw, dataDir, api } = await startApiSwitch(t, { workers: WORKERS });
  const tids = terminalsOnEachWorker();
  t.not(workerOf(tids[0]), workerOf(tids[1]), `terminals ${tids.join(' and ')} are on different workers`);
  const terms = await Promise.all(
    tids.map(async (tid) => {
      const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid, mid: DEMO.mid, tmk: DEMO.tmk });
      await term.connect();
      t.teardown(() => term.close());
      if ((await term.signIn()).text(39) !== '00') throw new Error(`terminal ${tid} did not sign in`);
      return term;
    }),
  );
  const [a, b] = terms;
  const card = { pan: demoPan(70), expiry: DEMO.expiry, pin: DEMO.pin };

  t.equal((await api('PUT', '/api/v1/risk-rules/four-a-day', { kind: 'card-daily-count', maxCount: 4 })).status, 200, 'four sales a card a day');
  const codes: string[] = [];
  for (let i = 0; i < 6; i++) {
    const term = terms[i % 2];
    codes.push((await term.request(term.sale(card, 100))).text(39) ?? '');
  }
  t.same(codes, ['00', '00', '00', '00', '65', '65'], 'alternating workers: four approved in all, then 65 on both');

  // Both terminals at once: the book decides them one after the other.
  const other = { pan: demoPan(71), expiry: DEMO.expiry, pin: DEMO.pin };
  t.equal((await api('PUT', '/api/v1/risk-rules/card-1000', { kind: 'card-daily-amount', maxAmount: 1_000 })).status, 200, '10.00 a card a day');
  const together = await Promise.all([a.request(a.sale(other, 600)), b.request(b.sale(other, 600))]);
  t.same(together.map((r) => r.text(39)).sort(), ['00', '61'], 'two sales of 6.00 at once on two workers: one approved, one 61');

  const locked = { pan: demoPan(72), expiry: DEMO.expiry, pin: DEMO.pin };
  const wrong = { ...locked, pin: '654321' };
  t.same([(await a.request(a.sale(wrong, 100))).text(39), (await b.request(b.sale(wrong, 100))).text(39), (await a.request(a.sale(wrong, 100))).text(39)], ['55', '55', '55'], 'three wrong PINs over both workers');
  t.equal((await b.request(b.sale(locked, 100))).text(39), '75', 'the right PIN on the other worker: 75');

  const refused = entriesOfType(dataDir, sw.businessDate, 'sale').filter((e) => e.riskRule !== '');
  t.same(
    refused.map((e) => [e.responseCode, e.riskRule]),
    [['65', 'four-a-day'], ['65', 'four-a-day'], ['61', 'card-1000'], ['75', 'default-pin-tries']],
    'each refusal journalled with its rule id',
  );
});
