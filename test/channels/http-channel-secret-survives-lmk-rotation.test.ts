/**
 * A client's secret is kept sealed under the LMK: an LMK rotation re-wraps it with the terminals'
 * keys, so the client signs on with the same secret while the switch runs and after a restart
 * (when only the new LMK is left to open it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { StateStore, DEMO, demoPan } from '../../src/store/index.js';
import { startHttpSwitch } from './http-channel-harness.js';

const card = { pan: demoPan(61), expiry: DEMO.expiry };

t.test('the secret survives an LMK rotation', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-http-lmk-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const one = await startHttpSwitch({ teardown: () => undefined }, { dataDir });
  const shop = await one.client('shop-6', DEMO.mid);
  t.match((await one.pay(shop, { type: 'sale', amount: 100, card }, { key: 'k1' })).body, { responseCode: '00' }, 'a sale before the rotation');
  const rotated = await one.admin('POST', '/api/v1/lmk/rotate', {});
  t.equal(rotated.status, 200, `the LMK is rotated ${rotated.text}`);
  t.match((await one.pay(shop, { type: 'sale', amount: 200, card }, { key: 'k2' })).body, { responseCode: '00' }, 'the client signs on with the same secret');
  await one.sw.close();

  const state = new StateStore(dataDir);
  const sealed = state.apiClients.get('shop-6')?.secret;
  await state.close();
  t.match(sealed, /^[A-Za-z0-9+/]+=*$/, 'the secret is stored sealed');
  t.notOk(sealed?.includes(shop.secret), 'never in clear');

  const two = await startHttpSwitch(t, { dataDir });
  t.match((await two.pay(shop, { type: 'sale', amount: 300, card }, { key: 'k3' })).body, { responseCode: '00' }, 'and after a restart, with only the new LMK');
  t.same((await two.pay(shop, { type: 'sale', amount: 100, card }, { key: 'k1' })).body.rrn, (await two.pay(shop, { type: 'status', original: { idempotencyKey: 'k1' } })).body.answer.rrn, 'the keys from before the rotation still answer');
});
