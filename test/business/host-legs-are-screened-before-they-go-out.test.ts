/**
 * A card that is not ours goes to a host, and the book's risk rules see it first: the request leg
 * the book journals before the host is asked is screened, so a card past its daily count, or
 * locked by three wrong PINs (here the host's own `55`s), is refused without the host hearing of it,
 * and the refused leg owes the host no reversal advice. The real switch with the host simulator.
 */
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoOffUsPan, demoTid, entriesOfType, type JournalEntry } from '../../src/store/index.js';
import { startApiSwitch } from '../ops/api-harness.js';
import { sleep } from '../switch/harness.js';

t.test('a host leg past a book rule is refused before it goes out, and owes no advice', async (t) => {
  const { sw, dataDir, api } = await startApiSwitch(t, { workers: 2, hostSim: true, hostSimPort: 0, apiPort: 0 });
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(40), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  t.teardown(() => term.close());
  t.equal((await term.signIn()).text(39), '00', 'signed in');
  const offUs = (n: number) => ({ pan: demoOffUsPan(n), expiry: DEMO.expiry, pin: DEMO.pin });
  // The link signs on in the background: until then off-us cards get 91.
  let first = await term.request(term.sale(offUs(1), 100));
  for (let i = 0; i < 100 && first.text(39) === '91'; i++) {
    await sleep(100);
    first = await term.request(term.sale(offUs(1), 100));
  }
  t.equal(first.text(39), '00', "the host approves the card's first sale");

  t.equal((await api('PUT', '/api/v1/risk-rules/one-a-day', { kind: 'card-daily-count', maxCount: 1 })).status, 200, 'one sale a card a day');
  const second = await term.request(term.sale(offUs(1), 100));
  t.equal(second.text(39), '65', 'the second: 65');
  t.equal((await term.request(term.sale(offUs(2), 100))).text(39), '00', 'another card: the host approves');

  // The simulator answers 55 to amounts ending in 55: three of them lock the card.
  for (let i = 1; i <= 3; i++) t.equal((await term.request(term.sale(offUs(3), 155))).text(39), '55', `the host's wrong PIN ${i}`);
  t.equal((await term.request(term.sale(offUs(3), 100))).text(39), '75', 'then 75, from the switch');

  const legs = entriesOfType(dataDir, sw.businessDate, 'host-request');
  const refused = legs.filter((e: JournalEntry) => e.responseCode !== '');
  t.same(refused.map((e) => [e.responseCode, e.riskRule]), [['65', 'one-a-day'], ['75', 'default-pin-tries']], 'the refused legs, journalled with their rules');
  t.same(refused.map((e) => e.effects.advice), [undefined, undefined], 'owing the host no advice');
  t.equal(legs.length - refused.length, 5, 'the host was asked five times: the first sales of two cards and three PINs');
});
