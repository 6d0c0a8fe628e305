/**
 * A refund through the HTTP channel of a sale made on a physical terminal: the client (a system of
 * the same merchant) names the sale by its RRN, the switch finds it across terminals, refunds it
 * to the card and counts it against the sale (a refund beyond what is left answers 64). A client
 * of another merchant cannot refund it (25).
 */
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { startHttpSwitch } from './http-channel-harness.js';

const card = { pan: demoPan(41), expiry: DEMO.expiry };

t.test('refund by HTTP of a terminal sale', async (t) => {
  const { sw, admin, client, pay, journal } = await startHttpSwitch(t);
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(5), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  t.teardown(() => term.close());
  const signIn = (await term.signIn()).text(39);
  t.equal(signIn, '00', `the terminal signs in (${signIn})`);
  const sale = await term.request(term.sale({ ...card, pin: DEMO.pin }, 30_000));
  t.equal(sale.text(39), '00', `a sale on the terminal, with the PIN (${sale.text(39)})`);
  const rrn = sale.text(37)!;

  const shop = await client('shop-5', DEMO.mid);
  const balance = async () => (await pay(shop, { type: 'balance', card })).body.balance as number;
  const before = await balance();
  const refund = await pay(shop, { type: 'refund', amount: 10_000, card, original: { rrn } }, { key: 'refund-1' });
  t.match(refund.body, { type: 'refund', responseCode: '00', approved: true, amount: 10_000, tid: 'API00001' }, 'a partial refund through HTTP is approved');
  t.equal(await balance(), before + 10_000, 'the card has it back');
  const entry = journal().find((e) => e.rrn === refund.body.rrn && e.type === 'refund');
  t.match(entry, { tid: 'API00001', responseCode: '00', amount: 10_000 }, 'journalled as the client\'s terminal\'s refund');
  t.match(entry?.originalKey, new RegExp(`\\|${demoTid(5)}\\|`), 'of the terminal\'s sale');

  const over = await pay(shop, { type: 'refund', amount: 20_001, card, original: { rrn } }, { key: 'refund-2' });
  t.match(over.body, { responseCode: '64', approved: false }, 'a refund beyond what is left of the sale: 64');
  const rest = await pay(shop, { type: 'refund', amount: 20_000, card, original: { rrn } }, { key: 'refund-3' });
  t.match(rest.body, { responseCode: '00' }, 'the rest can be refunded');
  t.equal(await balance(), before + 30_000, 'the whole sale is back on the card');

  const otherCard = { pan: demoPan(42), expiry: DEMO.expiry };
  t.match((await pay(shop, { type: 'refund', amount: 100, card: otherCard, original: { rrn } }, { key: 'refund-4' })).body, { responseCode: '25' }, 'to another card: 25');

  t.equal((await admin('PUT', '/api/v1/merchants/898100012340002', { name: 'OTHER STORE', mcc: '5812' })).status, 200, 'another merchant');
  const stranger = await client('stranger', '898100012340002');
  // A pipeline worker may take a merchant just created for absent for a moment (its reference cache):
  // the virtual terminal's sign-in is then refused (503, nothing sent) and the client tries again.
  let strangers = await pay(stranger, { type: 'refund', amount: 100, card, original: { rrn } }, { key: 'refund-5' });
  for (const until = Date.now() + 3000; strangers.status === 503 && Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
    strangers = await pay(stranger, { type: 'refund', amount: 100, card, original: { rrn } }, { key: 'refund-5' });
  }
  t.match(strangers.body, { responseCode: '25', tid: 'API00002' }, "another merchant's client cannot refund it: 25");
});
