/**
 * TCP framing and connection handling against the real switch (PROTOCOL.md section 1): frames
 * split byte by byte or packed several to a write, one transaction per connection, pipelined
 * requests answered in order, and 20 terminals selling concurrently with the money adding up on
 * the card side (balance inquiries) and on the merchant side (the journal's posting legs).
 */
import t from 'tap';
import { locateField } from '../../src/codec/index.js';
import { journalEntries } from '../../src/store/index.js';
import { openKeyBlock } from '../../src/security/index.js';
import { DEMO, RawClient, balanceOf, card, decode, demoTid, macVerifies, signedIn, sleep, startDemo, terminal } from './harness.js';


const demo = await startDemo(t);
const OPEN = DEMO.openingBalance;

t.test('a frame written one byte at a time is answered', async (t) => {
  const term = await terminal(t, demo, 0);
  const signIn = await term.signIn('003');
  t.equal(signIn.text(39), '00');
  const keys = openKeyBlock(Buffer.from(DEMO.tmk, 'hex'), signIn.binary(62)!, '003');
  const c = card(31);
  const req = term.sale(c, 777);
  const frame = term.pack(req);
  const raw = await RawClient.connect(demo.sw.posPort, t);
  for (let i = 0; i < frame.length; i++) {
    await raw.write(frame.subarray(i, i + 1));
    await sleep(1);
  }
  const answer = await raw.next();
  t.ok(answer, 'answered');
  if (!answer) return;
  const res = decode(answer);
  t.equal(res.text(39), '00');
  t.equal(res.text(11), req.text(11), 'answers this request');
  t.ok(macVerifies(answer, keys.mak), 'response MAC verifies');
  t.equal(await balanceOf(term, c), OPEN - 777);
});

t.test('several frames in one write (and one split across writes) are answered in order', async (t) => {
  const term = await signedIn(t, demo, 1);
  const c = card(32);
  const reqs = [term.balanceInquiry(c), term.sale(c, 200), term.balanceInquiry(c), term.sale(c, 300), term.balanceInquiry(c)];
  const frames = reqs.map((r) => term.pack(r));
  const raw = await RawClient.connect(demo.sw.posPort, t);
  // The first three in one write, the fourth split between that write and the next.
  const all = Buffer.concat(frames);
  const cut = frames[0].length + frames[1].length + frames[2].length + 7;
  await raw.write(all.subarray(0, cut));
  await sleep(20);
  await raw.write(all.subarray(cut));
  const answers = [];
  for (let i = 0; i < reqs.length; i++) answers.push(await raw.next());
  t.ok(answers.every((a) => a !== undefined), 'all five answered');
  const res = answers.map((a) => (a ? decode(a) : undefined));
  t.same(res.map((r) => r?.text(11)), reqs.map((r) => r.text(11)), 'in the order sent');
  t.same(res.map((r) => r?.text(39)), ['00', '00', '00', '00', '00']);
  t.same(
    [0, 2, 4].map((i) => res[i]?.text(54)?.slice(-12)),
    [OPEN, OPEN - 200, OPEN - 500].map((n) => String(n).padStart(12, '0')),
    'each inquiry sees exactly the sales before it',
  );
});

t.test('pipelined requests on one terminal connection are answered in order', async (t) => {
  const term = await signedIn(t, demo, 2);
  const c = card(33);
  const reqs = Array.from({ length: 10 }, (_, i) => term.sale(c, 100 + i));
  const res = await Promise.all(reqs.map((r) => term.request(r)));
  t.same(res.map((r) => r.text(11)), reqs.map((r) => r.text(11)), 'STANs in order');
  t.ok(res.every((r) => r.text(39) === '00'), 'all approved');
  t.equal(await balanceOf(term, c), OPEN - reqs.reduce((s, _, i) => s + 100 + i, 0));
});

t.test('pipelined requests stay in order when one of them is refused before it is processed (30, 40)', async (t) => {
  const term = await signedIn(t, demo, 4);
  const c = card(35);
  // Processing code 990000 is no transaction of PROTOCOL.md section 3: answered 40.
  const unsupported = term.sale(c, 500).set(3, '990000');
  const badReq = term.sale(c, 600);
  const badBcd = term.pack(badReq);
  const f60 = locateField(badBcd, 2, badBcd.length, 60);
  badBcd[f60 + 2] = 0xa2;
  const reqs = [term.sale(c, 100), term.sale(c, 200), term.sale(c, 300), unsupported, term.sale(c, 400)];
  const frames = reqs.map((r) => term.pack(r));
  frames.splice(4, 0, badBcd);
  const stans = reqs.map((r) => r.text(11));
  stans.splice(4, 0, badReq.text(11));
  const raw = await RawClient.connect(demo.sw.posPort, t);
  await raw.write(Buffer.concat(frames));
  const answers = [];
  for (let i = 0; i < frames.length; i++) answers.push(await raw.next());
  t.ok(answers.every((a) => a !== undefined), 'all six answered');
  const res = answers.map((a) => (a ? decode(a) : undefined));
  const got = res.map((r) => `${r?.text(11)}:${r?.text(39)}`).sort();
  const want = stans.map((s, i) => `${s}:${['00', '00', '00', '40', '30', '00'][i]}`).sort();
  t.same(got, want, 'each request got its answer');
  t.same(res.map((r) => r?.text(11)), stans, `answered in the order sent (got ${res.map((r) => r?.text(39)).join(' ')})`);
  t.equal(await balanceOf(term, c), OPEN - 1000, 'the four sales debited');
});

// A retransmission on the same and on a new connection (the rest of PROTOCOL.md section 8 is in
// void-reversal-retransmission.test.ts, in process).
t.test('retransmission of the same frame: byte-identical response, one debit', async (t) => {
  const term = await signedIn(t, demo, 5);
  const c = card(17);
  const frame = term.pack(term.sale(c, 1234));
  const a = await RawClient.connect(demo.sw.posPort, t);
  const first = await a.exchange(frame);
  t.ok(first, 'answered');
  if (!first) return;
  const original = decode(first);
  t.equal(original.text(39), '00', 'approved');
  const second = await a.exchange(frame);
  const b = await RawClient.connect(demo.sw.posPort, t);
  const third = await b.exchange(frame);
  t.ok(second && third, 'both retransmissions answered');
  if (!second || !third) return;
  // What already holds: the replay repeats the decision (F37, F38, F39, F12, F13) and is MAC-ed.
  for (const [name, replay] of [['same connection', decode(second)], ['new connection', decode(third)]] as const) {
    for (const id of [11, 12, 13, 37, 38, 39]) t.equal(replay.text(id), original.text(id), `${name}: F${id} repeated`);
    t.ok(replay.has(64), `${name}: replay carries a MAC`);
  }
  t.equal(await balanceOf(term, c), OPEN - 1234, 'debited once');
  t.ok(second.equals(first), 'same connection: byte-identical response');
  t.ok(third.equals(first), 'new connection: byte-identical response');
  const missing = original.present().filter((id) => !decode(second).has(id));
  t.same(missing, [], 'no field of the original response is missing from the replay');
});

t.test('one transaction per connection: connect, sale, close, several times', async (t) => {
  const term = await terminal(t, demo, 3);
  t.equal((await term.signIn('003')).text(39), '00', 'signed in on the first connection');
  term.close();
  const c = card(34);
  let total = 0;
  for (let i = 0; i < 5; i++) {
    await term.connect();
    const res = await term.request(term.sale(c, 1000 + i));
    t.equal(res.text(39), '00', `connection ${i + 1}: sale approved`);
    total += 1000 + i;
    term.close();
  }
  await term.connect();
  t.equal(await balanceOf(term, c), OPEN - total, 'every sale debited once');
});

t.test('20 terminals, 20 sales each, concurrently: all 00, card and merchant sides add up', async (t) => {
  const TERMINALS = 20;
  const SALES = 20;
  const FIRST = 100;
  const CARDS = 5;
  const terms = await Promise.all(Array.from({ length: TERMINALS }, (_, i) => signedIn(t, demo, FIRST + i)));
  const cardOf = (i: number) => card(40 + (i % CARDS));
  const amountOf = (i: number, j: number) => (i + 1) * 100 + j + 1;
  const codes = await Promise.all(
    terms.map(async (term, i) => {
      const got: string[] = [];
      for (let j = 0; j < SALES; j++) got.push((await term.request(term.sale(cardOf(i), amountOf(i, j)))).text(39) ?? '?');
      return got;
    }),
  );
  const flat = codes.flat();
  t.equal(flat.length, TERMINALS * SALES);
  t.equal(flat.filter((c) => c === '00').length, TERMINALS * SALES, `all approved (${[...new Set(flat)].join(',')})`);

  let expectedTotal = 0;
  const expected = new Map<number, number>();
  for (let i = 0; i < TERMINALS; i++) {
    for (let j = 0; j < SALES; j++) {
      expected.set(i % CARDS, (expected.get(i % CARDS) ?? 0) + amountOf(i, j));
      expectedTotal += amountOf(i, j);
    }
  }
  let cardSide = 0;
  for (let k = 0; k < CARDS; k++) {
    const balance = await balanceOf(terms[0], cardOf(k));
    t.equal(OPEN - balance, expected.get(k), `card ${k + 1}: debited the sum of its sales`);
    cardSide += OPEN - balance;
  }
  t.equal(cardSide, expectedTotal, 'card side total');

  // Merchant side: the merchant's posting legs of these terminals' journal rows.
  const tids = new Set(terms.map((_, i) => demoTid(FIRST + i)));
  const rows = Array.from(journalEntries(demo.journalPath)).filter((e) => e.type === 'sale');
  const mine = rows.filter((r) => tids.has(r.tid));
  t.equal(mine.length, TERMINALS * SALES, 'one journal row per sale');
  let merchantSide = 0;
  let journalAmounts = 0;
  for (const row of mine) {
    if (row.responseCode !== '00') continue;
    journalAmounts += row.amount;
    for (const leg of row.effects.postings ?? []) if (leg.account === `merchant:${DEMO.mid}`) merchantSide += leg.amount;
  }
  t.equal(journalAmounts, expectedTotal, 'journal amounts of approved sales');
  t.equal(merchantSide, expectedTotal, 'merchant credited the same total');
});
