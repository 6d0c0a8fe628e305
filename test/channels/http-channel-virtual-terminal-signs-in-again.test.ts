/**
 * The virtual terminal keeps its keys as a terminal does: when the switch no longer holds them
 * (here another party signed its TID in, so its MAC no longer verifies, A0) it signs in again and
 * sends the request once more under the same STAN; the client just sees its sale approved.
 * And the HTTP channel is an access direction of its own: switched off (`posp channel disable
 * http`) it takes no requests while terminals go on, switched on it takes them again.
 */
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { startHttpSwitch } from './http-channel-harness.js';

const card = { pan: demoPan(71), expiry: DEMO.expiry };

t.test('signs in again when the switch has other keys for it', async (t) => {
  const { sw, client, pay, journal } = await startHttpSwitch(t);
  const shop = await client('shop-7', DEMO.mid);
  t.match((await pay(shop, { type: 'sale', amount: 100, card }, { key: 's1' })).body, { responseCode: '00' }, 'a first sale signs the virtual terminal in');

  // Someone signs API00001 in over TCP (not knowing its TMK, it cannot use the keys; the switch has replaced them all the same).
  const intruder = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: 'API00001', mid: DEMO.mid, tmk: DEMO.tmk });
  await intruder.connect();
  t.teardown(() => intruder.close());
  t.equal((await intruder.request(intruder.signInRequest('003'))).text(39), '00', 'another sign-in of the TID: new keys at the switch');

  const sale = await pay(shop, { type: 'sale', amount: 200, card }, { key: 's2' });
  t.match(sale.body, { responseCode: '00', approved: true }, 'the next sale is approved all the same');
  const attempts = journal().filter((e) => e.tid === 'API00001' && e.stan === sale.body.stan && e.mti === '0200');
  t.same(attempts.map((e) => e.responseCode), ['A0', '00'], 'its first attempt met the MAC error, the second, after a new sign-in, was approved');
  t.equal(journal().filter((e) => e.tid === 'API00001' && e.type === 'sign-in').length, 3, 'three sign-ins: the channel, the intruder, the channel again');
});

t.test('switched off and on like the terminal listener', async (t) => {
  const { sw, admin, client, pay } = await startHttpSwitch(t);
  const shop = await client('shop-8', DEMO.mid);
  const listed = await admin('GET', '/api/v1/channels');
  t.match(listed.body.channels.find((c: { name: string }) => c.name === 'http'), { kind: 'listener', switched: 'enabled', now: 'enabled', port: sw.apiPort }, 'the HTTP channel is listed as a listener');
  t.equal((await admin('POST', '/api/v1/channels/http/disable', {})).status, 200, 'an operator switches it off');
  const refused = await pay(shop, { type: 'balance', card }).then(
    (answer) => `HTTP ${answer.status}`,
    () => 'connection refused',
  );
  t.ok(refused === 'connection refused' || refused === 'HTTP 503', `no request is taken (${refused})`);
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(7), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  t.teardown(() => term.close());
  t.equal((await term.signIn()).text(39), '00', 'terminals go on meanwhile');
  t.equal((await admin('POST', '/api/v1/channels/http/enable', {})).status, 200, 'switched on again');
  t.match((await pay(shop, { type: 'sale', amount: 300, card }, { key: 'after' })).body, { responseCode: '00' }, 'it takes requests again, on the same port');
});
