/**
 * The audit log over the admin API shows who changed what, before and after, but never a card
 * number in clear, a PIN verifier, or a key wrapped under the LMK: a card created and suspended,
 * and a demo terminal (signed in, so holding working keys) disabled, are audited with the number
 * masked and the secrets left out. Without a date the log is of the newest day with entries.
 */
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoTid } from '../../src/store/index.js';
import { luhnCheckDigit } from '../../src/txn/index.js';
import { startApiSwitch } from './api-harness.js';

t.test('the audit log masks card numbers and leaves secrets out', async (t) => {
  const { sw, api } = await startApiSwitch(t);
  const body = `${DEMO.onUsBin}77665544`;
  const pan = body + String(luhnCheckDigit(body));
  t.equal((await api('PUT', `/api/v1/cards/${pan}`, { expiry: '3012', pin: '654321', openingBalance: 5000 })).status, 200, 'a card is created');
  t.equal((await api('PUT', `/api/v1/cards/${pan}/status`, { status: 'suspended' })).status, 200, 'and suspended');
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(7), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(() => term.close());
  await term.connect();
  t.equal((await term.signIn()).text(39), '00', 'a terminal signs in (it now holds working keys)');
  t.equal((await api('POST', `/api/v1/terminals/${demoTid(7)}/disable`, {})).status, 200, 'and is disabled');

  const audit = await api('GET', '/api/v1/audit');
  t.equal(audit.status, 200);
  const records = audit.body.records as { table: string; key: string; before: any; after: any; by: string }[];
  const cards = records.filter((r) => r.table === 'cards');
  t.equal(cards.length, 2, 'both card changes are audited, without naming a day');
  t.ok(cards.every((r) => r.key === `${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`), `the card is named masked: ${cards[0]?.key}`);
  t.same(cards.find((r) => r.before !== null)?.before.status, 'active', 'the record before is shown');
  const terminal = records.find((r) => r.table === 'terminals');
  t.same({ before: terminal?.before.status, after: terminal?.after.status }, { before: 'active', after: 'suspended' }, 'the terminal change is audited');
  t.notOk(audit.text.includes(pan), 'the clear card number is nowhere in the answer');
  for (const secret of ['pinVerifier', 'tmk', 'keys', 'pik', 'mak']) t.notOk(audit.text.includes(`"${secret}"`), `no ${secret} in the answer`);
});
