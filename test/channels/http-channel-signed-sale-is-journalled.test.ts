/**
 * A merchant's system pays through the HTTP channel of the real switch: the client is created over
 * the admin API (its secret shown once, never again), a signed sale is approved with the receipt
 * data in the JSON, and the journal holds it under the client's virtual terminal, the same
 * entry a terminal's sale makes; the card's balance moved by the amount. `posp client create`
 * makes a client that pays too.
 */
import t from 'tap';
import { DEMO, demoPan } from '../../src/store/index.js';
import { runPosp } from '../switch/harness.js';
import { ADMIN_TOKEN, startHttpSwitch } from './http-channel-harness.js';

const card = { pan: demoPan(11), expiry: DEMO.expiry };

t.test('a signed sale through the HTTP channel', async (t) => {
  const { sw, admin, pay, journal } = await startHttpSwitch(t);
  t.ok(sw.apiPort !== undefined && sw.apiPort > 0, 'the HTTP channel listens on its own port');

  const created = await admin('PUT', '/api/v1/clients/shop-1', { mid: DEMO.mid });
  t.equal(created.status, 200, 'an admin creates a client');
  t.match(created.body, { client: { id: 'shop-1', mid: DEMO.mid, tid: 'API00001', status: 'active' }, terminalCreated: true }, 'with a virtual terminal of its merchant');
  const secret: string = created.body.secret;
  t.match(secret, /^[0-9a-f]{64}$/, 'and a secret, shown this once');
  t.equal(created.body.client.secret, undefined, 'the stored client shows no secret');
  const read = await admin('GET', '/api/v1/clients/shop-1');
  t.same(Object.keys(read.body).sort(), ['createdAt', 'id', 'mid', 'status', 'tid'], 'reading the client shows no secret');
  t.notOk(read.text.includes(secret), 'nor anything of it');
  t.match((await admin('GET', '/api/v1/terminals/API00001')).body, { tid: 'API00001', mid: DEMO.mid, status: 'active' }, 'the virtual terminal is a terminal record');
  const audit = await admin('GET', `/api/v1/audit?from=${sw.businessDate}&to=${sw.businessDate}`);
  t.notOk(audit.text.includes(secret), 'the audit log of the creation does not show the secret');
  t.equal((await admin('PUT', '/api/v1/clients/shop-1', { mid: DEMO.mid })).status, 409, 'a second client of that id is refused');

  const shop = { id: 'shop-1', secret };
  const before = await pay(shop, { type: 'balance', card });
  t.equal(before.status, 200, 'a balance inquiry needs no Idempotency-Key');
  t.match(before.body, { type: 'balance', responseCode: '00', approved: true, balance: Number }, 'and answers the balance');

  const sale = await pay(shop, { type: 'sale', amount: 12_345, card }, { key: 'order-1001' });
  t.equal(sale.status, 200, 'the signed sale is answered 200');
  t.match(
    sale.body,
    { type: 'sale', responseCode: '00', approved: true, rrn: /^\d{12}$/, authCode: /^\w{6}$/, stan: /^\d{6}$/, tid: 'API00001', mid: DEMO.mid, amount: 12_345, businessDate: sw.businessDate, card: '622588******' + card.pan.slice(-4) },
    'approved, with the receipt data',
  );
  t.notOk(sale.text.includes(card.pan), 'the answer never carries the full card number');

  const entry = journal().find((e) => e.rrn === sale.body.rrn && e.type === 'sale');
  t.ok(entry, 'the sale is in the journal');
  t.match(entry, { tid: 'API00001', mid: DEMO.mid, stan: sale.body.stan, amount: 12_345, responseCode: '00', route: 'on-us', panMasked: sale.body.card }, 'as the virtual terminal of the client: the channel it came through');
  t.equal((await admin('GET', '/api/v1/clients')).body.clients.find((c: { tid: string }) => c.tid === entry!.tid)?.id, 'shop-1', 'and the client is found by that terminal');
  const after = await pay(shop, { type: 'balance', card });
  t.equal(after.body.balance, before.body.balance - 12_345, 'the card paid the amount');
});

t.test('posp client create makes a client that pays', async (t) => {
  const { sw, pay } = await startHttpSwitch(t);
  const run = await runPosp(['client', 'create', '--mid', DEMO.mid, '--id', 'till-7', '--admin', `http://127.0.0.1:${sw.adminPort}`, '--token', ADMIN_TOKEN]);
  t.equal(run.code, 0, `exit 0 ${run.stderr}`);
  const printed = JSON.parse(run.stdout);
  t.match(printed, { client: { id: 'till-7', mid: DEMO.mid, tid: 'API00001' }, secret: /^[0-9a-f]{64}$/ }, 'it prints the client and its secret');
  const sale = await pay({ id: 'till-7', secret: printed.secret }, { type: 'sale', amount: 500, card }, { key: 'k-1' });
  t.match(sale.body, { approved: true, tid: 'API00001' }, 'the client pays with it');
  const bad = await runPosp(['client', 'create', '--mid', '12345', '--admin', `http://127.0.0.1:${sw.adminPort}`, '--token', ADMIN_TOKEN]);
  t.equal(bad.code, 1, 'a bad merchant id is refused');
  t.match(bad.stderr, /mid must be 15 digits/, `with the reason: ${bad.stderr.trim()}`);
});
