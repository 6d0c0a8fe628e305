/**
 * Idempotency-Keys on the HTTP channel of the real switch: a retry with the same key and body gets
 * the first answer and charges nothing more (also when it arrives while the first is in flight);
 * the same key with another body is 409; `status` tells the stored answer; a void names its
 * original by key or RRN. After a restart the keys are still known, and the virtual terminal goes
 * on with its STANs (a repeated request key would be answered 94). A request whose answer the
 * channel never recorded (a crash between sending and answering) is sent again under its STAN:
 * the switch answers it as a retransmission, with the first answer, and charges nothing more.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { IdempotencyStore } from '../../src/channels/idempotency.js';
import { DEMO, demoPan } from '../../src/store/index.js';
import { startHttpSwitch } from './http-channel-harness.js';

const card = { pan: demoPan(31), expiry: DEMO.expiry };

t.test('the same key and body: the first answer, charged once', async (t) => {
  const { client, pay, journal, durable } = await startHttpSwitch(t);
  const shop = await client('shop-3', DEMO.mid);
  const balance = async () => (await pay(shop, { type: 'balance', card })).body.balance as number;
  const opening = await balance();

  const first = await pay(shop, { type: 'sale', amount: 2_500, card }, { key: 'order-1' });
  t.equal(first.body.responseCode, '00', 'the sale is approved');
  const entries = durable();
  const retry = await pay(shop, { type: 'sale', amount: 2_500, card }, { key: 'order-1' });
  t.equal(retry.status, 200, 'a retry is answered 200');
  t.same(retry.body, first.body, 'with the first answer: same RRN, STAN, auth code');
  t.equal(durable(), entries, 'and nothing journalled');
  t.equal(await balance(), opening - 2_500, 'the card paid once');

  const conflict = await pay(shop, { type: 'sale', amount: 2_600, card }, { key: 'order-1' });
  t.equal(conflict.status, 409, 'the same key with another body: 409');
  t.match(conflict.body, { error: 'Idempotency-Key order-1 was used with another body' }, 'with the reason');

  const status = await pay(shop, { type: 'status', original: { idempotencyKey: 'order-1' } });
  t.same(status.body, { idempotencyKey: 'order-1', state: 'answered', answer: first.body }, 'status answers the stored answer');

  // Both sent at once: the second arrives while the first is in flight and waits for its answer.
  const [a, b] = await Promise.all([pay(shop, { type: 'sale', amount: 700, card }, { key: 'order-2' }), pay(shop, { type: 'sale', amount: 700, card }, { key: 'order-2' })]);
  t.equal(a.body.responseCode, '00', 'concurrent duplicates: approved');
  t.same(b.body, a.body, 'both get the same answer');
  t.equal(journal().filter((e) => e.type === 'sale' && e.tid === 'API00001' && e.amount === 700).length, 1, 'one sale is journalled');
  t.equal(await balance(), opening - 3_200, 'and charged');

  const declined = await pay(shop, { type: 'sale', amount: 999_999_999, card }, { key: 'order-3' });
  t.match(declined.body, { responseCode: '51', approved: false }, 'a decline is an answer too');
  t.same((await pay(shop, { type: 'sale', amount: 999_999_999, card }, { key: 'order-3' })).body, declined.body, 'and is repeated as it was');

  const voided = await pay(shop, { type: 'void', card, original: { idempotencyKey: 'order-2' } }, { key: 'void-2' });
  t.match(voided.body, { type: 'void', responseCode: '00', amount: 700 }, 'a void names its original by Idempotency-Key, its amount the original\'s');
  t.equal(await balance(), opening - 2_500, 'and gives the amount back');
  const byRrn = await pay(shop, { type: 'void', card, original: { rrn: first.body.rrn } }, { key: 'void-1' });
  t.match(byRrn.body, { responseCode: '00', amount: 2_500 }, 'or by RRN');
  t.equal(await balance(), opening, 'the card has all of it back');
  const again = await pay(shop, { type: 'void', card, original: { rrn: first.body.rrn } }, { key: 'void-1b' });
  t.match(again.body, { responseCode: '25', approved: false }, 'a second void of the same sale: 25 from the switch');
});

t.test('keys and STANs survive a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-http-restart-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  let shop: { id: string; secret: string };
  let first: unknown;
  {
    const one = await startHttpSwitch({ teardown: () => undefined }, { dataDir });
    shop = await one.client('shop-4', DEMO.mid);
    first = (await one.pay(shop, { type: 'sale', amount: 4_200, card }, { key: 'before-restart' })).body;
    t.match(first, { responseCode: '00' }, 'a sale before the restart');
    await one.sw.close();
  }
  const two = await startHttpSwitch(t, { dataDir });
  const retry = await two.pay(shop, { type: 'sale', amount: 4_200, card }, { key: 'before-restart' });
  t.same(retry.body, first, 'after the restart the key still answers the first answer');
  const next = await two.pay(shop, { type: 'sale', amount: 4_300, card }, { key: 'after-restart' });
  t.match(next.body, { responseCode: '00' }, 'a new sale is approved, not a duplicate (94)');
  t.ok(Number(next.body.stan) > Number((first as { stan: string }).stan), 'its STAN follows the ones before the restart');
});

t.test('a request whose outcome was lost is sent again under its STAN', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-http-lost-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  let shop: { id: string; secret: string };
  let first: { rrn: string; stan: string; authCode: string };
  let balance: number;
  {
    const one = await startHttpSwitch({ teardown: () => undefined }, { dataDir });
    shop = await one.client('shop-9', DEMO.mid);
    balance = (await one.pay(shop, { type: 'balance', card })).body.balance;
    first = (await one.pay(shop, { type: 'sale', amount: 5_100, card }, { key: 'lost' })).body;
    await one.sw.close();
  }
  // As if the switch had stopped after sending the sale and before recording its answer.
  const store = new IdempotencyStore(join(dataDir, 'http-channel'));
  const { answer: _answer, ...sent } = store.get('shop-9', 'lost')!;
  await store.sending('shop-9', 'lost', sent);
  await store.close();

  const two = await startHttpSwitch(t, { dataDir });
  t.match((await two.pay(shop, { type: 'status', original: { idempotencyKey: 'lost' } })).body, { state: 'unknown', stan: first.stan }, 'status: sent, outcome unknown');
  const retry = await two.pay(shop, { type: 'sale', amount: 5_100, card }, { key: 'lost' });
  t.match(retry.body, { responseCode: '00', rrn: first.rrn, stan: first.stan, authCode: first.authCode }, 'the retry gets the first answer');
  t.equal(two.journal().filter((e) => e.tid === 'API00001' && e.stan === first.stan && e.route === 'replay').length, 1, 'the switch answered it as a retransmission');
  t.equal((await two.pay(shop, { type: 'balance', card })).body.balance, balance - 5_100, 'the card paid once');
  t.match((await two.pay(shop, { type: 'status', original: { idempotencyKey: 'lost' } })).body, { state: 'answered', answer: { rrn: first.rrn } }, 'and the key now holds the answer');
});
