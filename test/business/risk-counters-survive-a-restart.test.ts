/**
 * The book's day counters (card velocity, the merchant's day, wrong PINs) are derived from the
 * day's journal: a switch stopped and started again on the same data holds the same card and the
 * same merchant to the same limits and keeps a PIN-locked card locked, and the rules themselves are
 * still in force; the next business day starts every counter over.
 */
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { InProcessSwitch } from '../../src/switch/index.js';
import { dayAfter } from '../../src/txn/index.js';
import { DEMO, TEST_CARDS, card, signedIn } from '../switch/harness.js';
import { startStoppable } from './business-harness.js';

t.test("card velocity, the merchant's day and the PIN lock hold across a restart, and start over the next day", async (t) => {
  const first = await startStoppable(t);
  const rule = await first.sw.control({ kind: 'reference', table: 'riskRules', key: 'two-a-day', value: { id: 'two-a-day', kind: 'card-daily-count', maxCount: 2 } });
  t.notOk('refused' in rule, 'a card may spend twice a day');
  const day = await first.sw.control({ kind: 'reference', table: 'riskRules', key: 'demo-day', value: { id: 'demo-day', kind: 'merchant-daily-limit', mid: DEMO.mid, maxAmount: 300 } });
  t.notOk('refused' in day, 'the merchant 3.00 a day');
  const before = await signedIn(t, first, 0);
  t.equal((await before.request(before.sale(card(11), 100))).text(39), '00', 'first sale');
  t.equal((await before.request(before.sale(card(11), 100))).text(39), '00', 'second sale');
  for (let i = 1; i <= 3; i++) t.equal((await before.request(before.sale({ ...card(12), pin: '999999' }, 100))).text(39), '55', `another card, wrong PIN ${i}`);
  await first.stop();

  const again = await InProcessSwitch.open({ dataDir: first.dataDir, demo: true, demoCards: TEST_CARDS });
  // The same terminal, its STANs going on from where they were (a repeated request key would be 94).
  const after = new SimTerminal({ host: '', port: 0, transport: again, tid: before.tid, mid: DEMO.mid, tmk: DEMO.tmk, firstStan: 100 });
  t.equal((await after.signIn()).text(39), '00', 'signed in again');
  t.equal((await after.request(after.sale(card(11), 100))).text(39), '65', 'after the restart the third sale is still 65');
  t.equal((await after.request(after.sale(card(12), 100))).text(39), '75', 'and the locked card still 75');
  t.equal((await after.request(after.sale(card(13), 100))).text(39), '00', 'a fresh card sells: 3.00 of the merchant day');
  t.equal((await after.request(after.sale(card(14), 1))).text(39), '61', 'and the merchant day is full');

  t.notOk('refused' in (await again.control({ kind: 'business-date', date: dayAfter(again.businessDate) })), 'cut over');
  t.equal((await after.request(after.sale(card(11), 100))).text(39), '00', 'the next day: the card sells again');
  t.equal((await after.request(after.sale(card(12), 100))).text(39), '00', 'and the locked card is unlocked');
  await again.close();
});
