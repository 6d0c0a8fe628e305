/**
 * A terminal created through the admin API, with its TMK given in clear, signs in with that TMK over
 * real TCP and sells. Disabled by an operator, its very next sale answers 58 (not permitted to the
 * terminal), journalled as such; enabled again, it sells with its session kept. The API shows when
 * the terminal was last seen and the age of its working keys, never their bytes.
 */
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, entriesOfType } from '../../src/store/index.js';
import { eventually, startApiSwitch } from './api-harness.js';

const TID = '30000001';
const TMK = '3132333435363738393A3B3C3D3E3F40';
const card = { pan: demoPan(42), expiry: DEMO.expiry, pin: DEMO.pin };

t.test('a terminal disabled through the API answers 58 on its next sale', async (t) => {
  const { sw, dataDir, api, tokenOf } = await startApiSwitch(t);
  const operator = await tokenOf('operator');
  const viewer = await tokenOf('viewer');
  t.equal((await api('PUT', `/api/v1/terminals/${TID}`, { mid: DEMO.mid, tmk: TMK })).status, 200, 'the terminal created with its TMK');

  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: TID, mid: DEMO.mid, tmk: TMK });
  await term.connect();
  t.teardown(() => term.close());
  t.equal((await term.signIn()).text(39), '00', 'it signs in with the TMK given to the API: the switch holds the same key under its LMK');
  const soldAt = Date.now();
  t.equal((await term.request(term.sale(card, 1_500))).text(39), '00', 'a sale while active');

  // The event feed is drained a few times a second, and LMDB applies the sign-in a little after it is durable.
  const view = async () => (await api('GET', `/api/v1/terminals/${TID}`, undefined, viewer)).body;
  t.ok(await eventually(async () => (await view()).lastSeen !== null && (await view()).signedIn), 'the API learns that the terminal was seen and signed in');
  const seen = await view();
  t.ok(seen.lastSeen >= soldAt - 1000 && seen.lastSeen <= Date.now(), `lastSeen is the time of its newest request (${seen.lastSeen})`);
  t.match(seen, { signedIn: true, workingKeys: { mode: '003', issuedAt: Number } }, 'signed in, its working keys double length');

  t.equal((await api('POST', `/api/v1/terminals/${TID}/disable`, {}, viewer)).status, 403, 'a viewer may not disable it');
  t.equal((await term.request(term.sale(card, 1_600))).text(39), '00', 'so it still sells');
  t.match(await api('POST', `/api/v1/terminals/${TID}/disable`, { reason: 'x' }, operator), { status: 400, body: { error: 'unknown field reason' } }, 'the body of disable is {}');
  t.match(await api('POST', '/api/v1/terminals/39999999/disable', {}, operator), { status: 404, body: { error: 'no terminal 39999999' } }, 'an unknown terminal: 404');

  const disabled = await api('POST', `/api/v1/terminals/${TID}/disable`, {}, operator);
  t.equal(disabled.status, 200, 'an operator disables it');
  t.match(disabled.body, { seq: Number, terminal: { status: 'suspended' } });
  const declined = await term.request(term.sale(card, 1_700));
  t.equal(declined.text(39), '58', 'the very next sale: 58, not permitted to the terminal');
  t.equal((await term.request(term.echo())).text(39), '58', 'and every other request');
  const again = await api('POST', `/api/v1/terminals/${TID}/disable`, {}, operator);
  t.match(again.body, { terminal: { status: 'suspended' } }, 'disabling it again changes nothing');
  t.notOk('seq' in again.body, 'and journals nothing');

  t.equal((await api('POST', `/api/v1/terminals/${TID}/enable`, {}, operator)).status, 200, 'an operator enables it');
  t.equal((await term.request(term.sale(card, 1_800))).text(39), '00', 'it sells again, its session and keys kept');

  const sales = entriesOfType(dataDir, sw.businessDate, 'sale').filter((e) => e.tid === TID);
  t.same(sales.map((e) => e.responseCode), ['00', '00', '58', '00'], 'the journal has the declined sale as 58');
  const changes = entriesOfType(dataDir, sw.businessDate, 'reference-change').filter((e) => e.effects.reference?.key === TID);
  t.same(changes.map((e) => e.effects.reference?.value), [changes[0].effects.reference?.value, { status: 'suspended' }, { status: 'active' }], 'journalled: created, suspended, active');
});
